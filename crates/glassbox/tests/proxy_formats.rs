//! Upstream formats: vLLM, llama.cpp server and Ollama answers (fixtures under
//! `fixtures/upstreams/`, served verbatim) through the proxy. Everything glassbox does not
//! understand passes through; the screened text is masked; the stream framing survives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proxy_support;

use std::path::PathBuf;

use glassbox::proxy::Config;
use proxy_support::*;
use serde_json::Value;

const SERVERS: &[&str] = &["vllm", "llamacpp", "ollama"];
const MASKED: &str = "The codename is [REDACTED:keyword.codenames]; the launch is on Tuesday.";
const ORIGINAL: &str = "The codename is Bluebird; the launch is on Tuesday.";

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstreams")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// An upstream that answers `/v1/chat/completions` with `<model>-chat.sse` or `.json`.
async fn fixture_upstream() -> std::net::SocketAddr {
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(|body: axum::body::Bytes| async move {
            let v: Value = serde_json::from_slice(&body).unwrap();
            let model = v["model"].as_str().unwrap().to_string();
            let stream = v["stream"].as_bool().unwrap_or(false);
            let (ext, ct) = if stream {
                ("sse", "text/event-stream")
            } else {
                ("json", "application/json")
            };
            (
                [(http::header::CONTENT_TYPE, ct)],
                fixture(&format!("{model}-chat.{ext}")),
            )
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    addr
}

async fn harness() -> Harness {
    // One directory per harness: the tests run in parallel and each writes its own files.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("glassbox-formats-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("p.yaml"),
        "id: formats\nactions:\n  keyword.codenames: mask\nkeywords:\n  codenames:\n    - bluebird\n",
    )
    .unwrap();
    let up = fixture_upstream().await;
    let yaml = format!("default_policy: formats\npolicies:\n  formats: p.yaml\nupstreams:\n  f:\n    url: http://{up}\n");
    std::fs::write(dir.join("g.yaml"), yaml).unwrap();
    let mut config = Config::load(&dir.join("g.yaml")).unwrap();
    config.listen = ([127, 0, 0, 1], 0).into();
    let mock = glassbox::demo::mock::MockUpstream::start().await.unwrap();
    start_with(mock, config).await
}

/// The value with every `content` string under `choices` replaced by a marker, for comparing
/// everything but the screened text.
fn without_text(mut v: Value) -> Value {
    if !v.is_object() {
        return v;
    }
    if let Some(choices) = v["choices"].as_array_mut() {
        for c in choices {
            for k in ["delta", "message"] {
                if c[k]["content"].is_string() {
                    c[k]["content"] = Value::String("<text>".into());
                }
            }
        }
    }
    v
}

fn stream_text(events: &[Value]) -> String {
    events
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect()
}

#[tokio::test]
async fn streamed_answers_pass_unknown_fields_and_mask_text() {
    let h = harness().await;
    for server in SERVERS {
        let original = sse_data(&fixture(&format!("{server}-chat.sse")));
        assert_eq!(stream_text(&original), ORIGINAL, "{server}: fixture text");
        let got = post_json(&h, "/v1/chat/completions", &[], &chat(server, true, "hi")).await;
        assert_eq!(got.status, 200, "{server}: {}", got.text());
        assert!(got.body.is_ok(), "{server}: the stream ends cleanly");
        let out = sse_data(got.text());
        assert_eq!(stream_text(&out), MASKED, "{server}");
        assert!(
            !stream_text(&out).contains("Blue"),
            "{server}: {}",
            got.text()
        );
        assert_eq!(
            out.last(),
            Some(&Value::String("[DONE]".into())),
            "{server}"
        );
        // Every non-text field of every event, in order: the events that carry no text are
        // identical; text events may be re-cut by the hold-back, so compare them without text.
        let strip = |evs: &[Value]| -> Vec<Value> {
            evs.iter()
                .cloned()
                .map(without_text)
                .filter(|e| e["choices"][0]["delta"]["content"] != "<text>")
                .collect()
        };
        assert_eq!(
            strip(&out),
            strip(&original),
            "{server}: the events without text"
        );
        let shape = |evs: &[Value]| -> Vec<Value> {
            evs.iter()
                .cloned()
                .map(without_text)
                .filter(|e| e["choices"][0]["delta"]["content"] == "<text>")
                .take(1)
                .collect()
        };
        assert_eq!(
            shape(&out),
            shape(&original),
            "{server}: a text event keeps every other field"
        );
    }
}

#[tokio::test]
async fn json_answers_pass_unknown_fields_and_mask_text() {
    let h = harness().await;
    for server in SERVERS {
        let original: Value =
            serde_json::from_str(&fixture(&format!("{server}-chat.json"))).unwrap();
        let got = post_json(&h, "/v1/chat/completions", &[], &chat(server, false, "hi")).await;
        assert_eq!(got.status, 200, "{server}: {}", got.text());
        let out = got.json();
        assert_eq!(out["choices"][0]["message"]["content"], MASKED, "{server}");
        assert_eq!(
            without_text(out),
            without_text(original),
            "{server}: every other field"
        );
    }
}

#[tokio::test]
async fn mock_flavours_stream_through_unchanged_when_nothing_is_found() {
    // The mock's flavoured shapes (usage chunks, logprobs, timings) with a harmless answer:
    // the proxy's events equal the upstream's.
    let h = start().await;
    for model in ["mock", "vllm-x", "llamacpp-x", "ollama-x"] {
        let mut body = chat(model, true, "hello");
        body["stream_options"] = serde_json::json!({"include_usage": true});
        body["logprobs"] = Value::Bool(true);
        let via = post_json(&h, "/v1/chat/completions", &[], &body).await;
        let direct = send(
            &h.client,
            h.mock.addr,
            http::Method::POST,
            "/v1/chat/completions",
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await;
        let (a, b) = (sse_data(via.text()), sse_data(direct.text()));
        assert_eq!(stream_text(&a), stream_text(&b), "{model}");
        assert_eq!(
            a.iter()
                .cloned()
                .map(without_text)
                .filter(|e| e["choices"][0]["delta"]["content"] != "<text>")
                .collect::<Vec<_>>(),
            b.iter()
                .cloned()
                .map(without_text)
                .filter(|e| e["choices"][0]["delta"]["content"] != "<text>")
                .collect::<Vec<_>>(),
            "{model}"
        );
    }
}

/// vLLM sends each delta's tokens again in `logprobs.content[].token` (and `.bytes`): masking
/// the delta text alone leaves the secret readable there.
#[tokio::test]
async fn logprobs_do_not_carry_masked_text() {
    let h = harness().await;
    let got = post_json(&h, "/v1/chat/completions", &[], &chat("vllm", true, "hi")).await;
    for e in sse_data(got.text()) {
        for lp in e["choices"][0]["logprobs"]["content"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let token = lp["token"].as_str().unwrap_or("");
            assert!(!token.contains("Blue") && !token.contains("bird"), "{lp}");
            let bytes: Vec<u8> = lp["bytes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b.as_u64())
                .map(|b| b as u8)
                .collect();
            assert!(!String::from_utf8_lossy(&bytes).contains("bird"), "{lp}");
        }
    }
    let got = post_json(&h, "/v1/chat/completions", &[], &chat("vllm", false, "hi")).await;
    assert!(!got.text().contains("Bluebird"), "{}", got.text());
}
