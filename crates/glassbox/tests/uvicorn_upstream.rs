//! The proxy in front of a real model-server HTTP stack: uvicorn (what vLLM serves on), with
//! both of its HTTP/1 implementations (h11 and httptools), running `tests/sdk/upstream_app.py`.
//! The upstream must receive an origin-form request with its own `Host`, answers must be
//! screened (JSON and chunked SSE), pass-through routes must work, and a connection uvicorn
//! closed after its keep-alive timeout must be replaced without the client seeing an error.
//! Needs uvicorn in `.venv-sdk` (`scripts/setup.d/50-proxy.sh`); skipped without it, except
//! under `CI`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proxy_support;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use glassbox::proxy::Config;
use http::Method;
use proxy_support::*;

const KEY: &str = "AKIA2OGYBAH6TKXB3XLM";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `.venv-sdk`'s python when it has uvicorn and httptools.
fn python() -> Option<PathBuf> {
    let p = std::env::var_os("GLASSBOX_SDK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv-sdk/bin/python"));
    let ok = p.is_file()
        && Command::new(&p)
            .args(["-c", "import uvicorn, httptools"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        let msg =
            "skipped: no .venv-sdk with uvicorn and httptools; run scripts/setup.d/50-proxy.sh";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("{msg}");
    }
    ok.then_some(p)
}

/// A uvicorn process serving the test app; killed on drop.
struct Uvicorn {
    child: Child,
    port: u16,
}

impl Drop for Uvicorn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uvicorn(py: &PathBuf, http: &str, keep_alive_secs: u32) -> Uvicorn {
    // A free port: bound and released just before uvicorn binds it (loopback, ephemeral).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(py)
        .args(["-m", "uvicorn", "upstream_app:app", "--app-dir"])
        .arg(root().join("tests/sdk"))
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--http",
            http,
        ])
        .args(["--timeout-keep-alive", &keep_alive_secs.to_string()])
        .args(["--log-level", "warning", "--no-access-log"])
        .stdout(Stdio::null())
        .spawn()
        .expect("uvicorn starts");
    let u = Uvicorn { child, port };
    for _ in 0..150 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return u;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("uvicorn ({http}) did not listen on {port} within 15 s");
}

async fn proxy_to(port: u16) -> Harness {
    let policy = root().join("policies/patterns-only.yaml");
    let yaml = format!(
        "default_policy: p\npolicies:\n  p: {}\nupstreams:\n  uv:\n    url: http://127.0.0.1:{port}\n",
        policy.display()
    );
    let mut config = Config::parse(&yaml, "test.yaml").unwrap();
    config.listen = ([127, 0, 0, 1], 0).into();
    start_with(
        glassbox::demo::mock::MockUpstream::start().await.unwrap(),
        config,
    )
    .await
}

/// Asks the proxy for the deploy config, streamed or not.
async fn ask(h: &Harness, stream: bool) -> Got {
    post_json(
        h,
        "/v1/chat/completions",
        &[],
        &chat("m", stream, "config?"),
    )
    .await
}

async fn check(http: &str) {
    let Some(py) = python() else {
        return;
    };
    let up = uvicorn(&py, http, 1);
    let h = proxy_to(up.port).await;
    let host = format!("127.0.0.1:{}", up.port);

    // Whole answer: screened, and the request reached uvicorn as an origin server expects.
    let got = ask(&h, false).await;
    assert_eq!(got.status, 200, "{http}: {}", got.text());
    assert_eq!(got.headers["x-seen-host"], host.as_str(), "{http}");
    assert_eq!(
        got.headers["x-seen-target"], "/v1/chat/completions",
        "{http}"
    );
    let text = got.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("AWS_ACCESS_KEY_ID=[REDACTED:secret.aws_access_key_id]"),
        "{http}: {text}"
    );

    // Streamed (chunked SSE, the key split across two events): masked, complete.
    let got = ask(&h, true).await;
    assert_eq!(got.status, 200, "{http}: {}", got.partial);
    let body = got.body.expect("the stream ended cleanly");
    assert!(
        !body.contains(KEY) && !body.contains("BAH6TKXB3XLM"),
        "{http}: {body}"
    );
    let joined: String = sse_data(&body)
        .iter()
        .filter_map(|e| {
            e["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(
        joined,
        "Here is the config:\nAWS_ACCESS_KEY_ID=[REDACTED:secret.aws_access_key_id]\nRotate it.",
        "{http}"
    );
    assert!(body.trim_end().ends_with("data: [DONE]"), "{http}: {body}");

    // A pass-through route.
    let got = send(&h.client, h.proxy.addr, Method::GET, "/v1/models", &[], "").await;
    assert_eq!(got.status, 200, "{http}: {}", got.text());
    assert_eq!(got.json()["data"][0]["id"], "uvicorn-llama");

    // uvicorn closes a connection idle for its keep-alive timeout (1 s here; 5 s by default):
    // the next request must not fail on the closed pooled connection.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let got = ask(&h, false).await;
    assert_eq!(
        got.status,
        200,
        "{http} after keep-alive expiry: {}",
        got.text()
    );
}

#[tokio::test]
async fn behind_uvicorn_h11() {
    check("h11").await;
}

#[tokio::test]
async fn behind_uvicorn_httptools() {
    check("httptools").await;
}
