//! `glassbox proxy` as a process: JSON logs that never contain matched text, SIGHUP policy
//! reload (a bad policy rejected and the old one kept, both logged), SIGTERM graceful exit 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proxy_support;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use glassbox::demo::mock::MockUpstream;
use http::Method;
use proxy_support::*;

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig}");
}

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_healthy(addr: std::net::SocketAddr) {
    let c = client();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            let got = send(&c, addr, Method::GET, "/healthz", &[], "").await;
            if got.status == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the proxy did not come up on {addr}");
}

async fn verdict(addr: std::net::SocketAddr, id: &str) -> (u16, String) {
    let c = client();
    let body = chat("m", false, "hello");
    let got = send(
        &c,
        addr,
        Method::POST,
        "/v1/chat/completions",
        &[("content-type", "application/json"), ("x-request-id", id)],
        body.to_string(),
    )
    .await;
    let v = got
        .headers
        .get("x-glassbox-verdict")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (got.status, v)
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_on_sighup_json_logs_without_content_and_graceful_sigterm() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = std::env::temp_dir().join(format!("glassbox-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("p.yaml");
    let block = "id: v1\nactions:\n  keyword: block\n  secret: mask\nkeywords:\n  k:\n    - glassbox sits\n";
    std::fs::write(&policy, block).unwrap();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args([
            "proxy",
            "--log-format",
            "json",
            "--listen",
            &addr.to_string(),
            "--upstream",
        ])
        .arg(mock.url())
        .arg("--policy")
        .arg(&policy)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_healthy(addr).await;

    // The answer contains "glassbox sits": v1 blocks it.
    assert_eq!(verdict(addr, "p1").await, (400, "block".to_string()));
    // A request carrying a secret: masked on the way; its text must never be logged.
    let c = client();
    let secret_prompt = chat("m", false, "my key is AKIA2OGYBAH6TKXB3XLM, what now?");
    send(
        &c,
        addr,
        Method::POST,
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        secret_prompt.to_string(),
    )
    .await;

    // A broken policy: rejected, v1 stays.
    std::fs::write(&policy, "id: v2\nactions:\n  keyword: blok\n").unwrap();
    signal(&child, "HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(verdict(addr, "p2").await, (400, "block".to_string()));
    // A good one: applied.
    std::fs::write(
        &policy,
        "id: v3\nactions:\n  keyword: annotate\nkeywords:\n  k:\n    - glassbox sits\n",
    )
    .unwrap();
    signal(&child, "HUP");
    let mut applied = false;
    for _ in 0..100 {
        if verdict(addr, "p3").await == (200, "annotate".to_string()) {
            applied = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(applied, "the good policy was not applied after SIGHUP");

    signal(&child, "TERM");
    let status = tokio::task::spawn_blocking(move || {
        let s = child.wait().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (s, err)
    })
    .await
    .unwrap();
    let (status, logs) = status;
    assert!(status.success(), "SIGTERM exits 0: {status:?}\n{logs}");
    for line in logs.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["message"].is_string() || v["fields"].is_object(),
            "{line}"
        );
    }
    assert!(
        !logs.contains("AKIA2OGYBAH6TKXB3XLM"),
        "a secret reached the logs:\n{logs}"
    );
    assert!(
        !logs.contains("glassbox sits"),
        "matched text reached the logs:\n{logs}"
    );
    assert!(logs.contains("reload rejected"), "{logs}");
    assert!(logs.contains("blok"), "the rejection says why: {logs}");
    assert!(logs.contains("policies reloaded"), "{logs}");
    let _ = std::fs::remove_dir_all(&dir);
}
