//! An axum app wrapped in the layer, called in process (`oneshot`) and over a real socket:
//! request screening (mask, block, limits, malformed bodies), the selector and the model gate,
//! non-streamed answers, fail modes, and a streamed answer over TCP.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use common::*;
use glassbox_core::audit::{DecisionEvent, Direction, MemorySink, Outcome};
use glassbox_core::{Action, Detector, DetectorError, Engine, Match};
use glassbox_tower::{GateDecision, ScreenLayer, Selection};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// What the upstream saw.
#[derive(Clone, Default)]
struct Upstream {
    calls: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<String>>>,
}

const CHAT_JSON: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1732550400,"model":"llama","system_fingerprint":"fp_x","choices":[{"index":0,"message":{"role":"assistant","content":"Use ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw now.","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"key\":\"AKIAZ7QW3ERT5YUI2OPL\"}"}}]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14},"timings":{"predicted_ms":12.5}}"#;

const MESSAGES_JSON: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"Key AKIAZ7QW3ERT5YUI2OPL here."},{"type":"tool_use","id":"t","name":"f","input":{"token":"ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw","n":1}}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":5}}"#;

const RESPONSES_JSON: &str = r#"{"id":"resp_1","object":"response","status":"completed","output":[{"id":"m","type":"message","role":"assistant","content":[{"type":"output_text","text":"Token ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw.","annotations":[]}]}]}"#;

async fn llm(State(up): State<Upstream>, uri: axum::http::Uri, body: String) -> Response {
    up.calls.fetch_add(1, Ordering::SeqCst);
    up.bodies.lock().unwrap().push(body.clone());
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let path = uri.path().to_string();
    if v["stream"] == true {
        let name = if path.ends_with("/messages") {
            "anthropic_messages.sse"
        } else if path.ends_with("/responses") {
            "openai_responses.sse"
        } else {
            "openai_chat_n2.sse"
        };
        let input = fixture(name);
        let cuts: Vec<usize> = (1..input.len()).step_by(40).collect();
        return Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::new(ChunkBody::new(&input, &cuts)))
            .unwrap();
    }
    let json = if path.ends_with("/messages") {
        MESSAGES_JSON
    } else if path.ends_with("/responses") {
        RESPONSES_JSON
    } else {
        CHAT_JSON
    };
    ([("content-type", "application/json")], json).into_response()
}

fn upstream_app(up: Upstream) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(llm))
        .route("/v1/messages", post(llm))
        .route("/v1/responses", post(llm))
        .route("/v1/models", get(|| async { r#"{"data":[]}"# }))
        .with_state(up)
}

struct App {
    router: Router,
    up: Upstream,
    sink: Arc<MemorySink>,
}

fn app_with(layer: impl FnOnce(ScreenLayer) -> ScreenLayer, engine: Engine) -> App {
    let up = Upstream::default();
    let sink = Arc::new(MemorySink::default());
    let layer = layer(ScreenLayer::new(engine).audit_sink(sink.clone()));
    App {
        router: upstream_app(up.clone()).layer(layer),
        up,
        sink,
    }
}

fn app() -> App {
    app_with(|l| l, mask_engine())
}

fn post_json(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

async fn call(app: &App, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn requests(events: &[DecisionEvent]) -> Vec<&DecisionEvent> {
    events
        .iter()
        .filter(|e| e.direction == Direction::Request)
        .collect()
}

#[tokio::test]
async fn request_mask_rewrites_every_message_not_only_the_last() {
    let app = app();
    let body = format!(
        r#"{{"model":"llama","messages":[{{"role":"system","content":"deploy key {TOKEN}"}},{{"role":"user","content":[{{"type":"text","text":"mail ops@example.com"}},{{"type":"image_url","image_url":{{"url":"https://x/y.png"}}}}]}},{{"role":"assistant","content":"ok"}},{{"role":"user","content":"thanks"}}],"temperature":0.2,"x_unknown":{{"keep":true}}}}"#
    );
    let (status, headers, _) = call(&app, post_json("/v1/chat/completions", body.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-glassbox-verdict"], "mask");
    let seen = app.up.bodies.lock().unwrap()[0].clone();
    let want = body
        .replace(TOKEN, "[REDACTED:secret.github_token]")
        .replace("ops@example.com", "[REDACTED:pii.email]");
    assert_eq!(seen, want, "only the masked spans changed");
    let events = app.sink.events();
    let r = requests(&events);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].verdict, Action::Mask);
    assert_eq!(r[0].outcome, Outcome::Completed);
    let cats: Vec<&str> = r[0].findings.iter().map(|f| f.category.as_str()).collect();
    assert_eq!(cats, ["secret.github_token", "pii.email"]);
    // Offsets are into the request texts joined with '\n'.
    assert_eq!(r[0].findings[0].start, "deploy key ".len() as u64);
}

#[tokio::test]
async fn request_block_answers_in_each_apis_error_shape_without_calling_upstream() {
    let cases = [
        (
            "/v1/chat/completions",
            r#"{"model":"m","messages":[{"role":"system","content":"About Project Nightingale"},{"role":"user","content":"hi"}]}"#,
        ),
        (
            "/v1/completions",
            r#"{"model":"m","prompt":["fine","project nightingale"]}"#,
        ),
        (
            "/v1/responses",
            r#"{"model":"m","instructions":"x","input":[{"role":"user","content":[{"type":"input_text","text":"project   nightingale"}]}]}"#,
        ),
        (
            "/v1/messages",
            r#"{"model":"m","max_tokens":5,"system":"Project Nightingale","messages":[{"role":"user","content":"hi"}]}"#,
        ),
    ];
    for (path, body) in cases {
        let app = app();
        let (status, headers, text) = call(&app, post_json(path, body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(headers["x-glassbox-verdict"], "block", "{path}");
        assert_eq!(
            app.up.calls.load(Ordering::SeqCst),
            0,
            "{path}: upstream not called"
        );
        assert!(
            !text.to_lowercase().contains("nightingale"),
            "{path}: {text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        let message = if path == "/v1/messages" {
            assert_eq!(v["type"], "error");
            assert_eq!(v["error"]["type"], "invalid_request_error");
            v["error"]["message"].as_str().unwrap().to_string()
        } else {
            assert_eq!(v["error"]["code"], "content_filter");
            assert_eq!(v["error"]["type"], "invalid_request_error");
            v["error"]["message"].as_str().unwrap().to_string()
        };
        assert!(message.contains("keyword.stop"), "{path}: {message}");
        let events = app.sink.events();
        assert_eq!(
            events.len(),
            1,
            "{path}: one decision, no response decision"
        );
        assert_eq!(events[0].outcome, Outcome::Blocked);
    }
}

#[tokio::test]
async fn bad_bodies_get_clear_errors() {
    struct Case {
        name: &'static str,
        body: Vec<u8>,
        content_length: bool,
        status: StatusCode,
        says: &'static [&'static str],
    }
    let cases = [
        Case {
            name: "not utf-8",
            body: b"{\"a\":\"\xff\"}".to_vec(),
            content_length: true,
            status: StatusCode::BAD_REQUEST,
            says: &["not UTF-8", "offset 6"],
        },
        Case {
            name: "malformed json",
            body: b"{\"model\":\"m\",\n \"messages\": [}".to_vec(),
            content_length: true,
            status: StatusCode::BAD_REQUEST,
            says: &["not valid JSON", "line 2 column", "byte offset 28"],
        },
        Case {
            name: "too large, declared",
            body: vec![b' '; 300],
            content_length: true,
            status: StatusCode::PAYLOAD_TOO_LARGE,
            says: &["larger than the limit of 256 bytes"],
        },
        Case {
            name: "too large, streamed",
            body: vec![b' '; 300],
            content_length: false,
            status: StatusCode::PAYLOAD_TOO_LARGE,
            says: &["larger than the limit of 256 bytes"],
        },
    ];
    for case in cases {
        let app = app_with(|l| l.max_request_bytes(256), mask_engine());
        let mut req = Request::post("/v1/chat/completions");
        if case.content_length {
            req = req.header("content-length", case.body.len());
        }
        let body = if case.content_length {
            Body::from(case.body.clone())
        } else {
            Body::new(ChunkBody::new(&case.body, &[100, 200]))
        };
        let (status, _, text) = call(&app, req.body(body).unwrap()).await;
        assert_eq!(status, case.status, "{}: {text}", case.name);
        let v: Value = serde_json::from_str(&text).unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        for s in case.says {
            assert!(msg.contains(s), "{}: {msg:?} should say {s:?}", case.name);
        }
        assert_eq!(app.up.calls.load(Ordering::SeqCst), 0, "{}", case.name);
        assert_eq!(app.sink.events().len(), 1, "{}", case.name);
    }
}

#[tokio::test]
async fn selector_and_model_gate() {
    let strict = block_engine();
    let app = app_with(
        |l| {
            l.selector(move |parts: &http::request::Parts, _model: Option<&str>| {
                let tenant = parts
                    .headers
                    .get("x-tenant")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("anon");
                Selection::new(strict.clone()).tenant(tenant)
            })
            .model_gate(|tenant: Option<&str>, model: Option<&str>| match model {
                Some("forbidden") => GateDecision::Block {
                    reason: format!("tenant {} may not use it", tenant.unwrap_or("?")),
                    licence: Some("LicenseRef-Research-Only".into()),
                },
                _ => GateDecision::Allow {
                    licence: Some("Apache-2.0".into()),
                },
            })
        },
        mask_engine(),
    );
    for (path, shape) in [
        ("/v1/chat/completions", "openai"),
        ("/v1/messages", "anthropic"),
    ] {
        let req = Request::post(path)
            .header("x-tenant", "acme")
            .body(Body::from(
                r#"{"model":"forbidden","messages":[{"role":"user","content":"hi"}]}"#,
            ))
            .unwrap();
        let (status, _, text) = call(&app, req).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let v: Value = serde_json::from_str(&text).unwrap();
        if shape == "openai" {
            assert_eq!(v["error"]["code"], "model_not_allowed");
        } else {
            assert_eq!(v["error"]["type"], "permission_error");
        }
        assert!(text.contains("tenant acme may not use it"), "{text}");
    }
    assert_eq!(app.up.calls.load(Ordering::SeqCst), 0);
    let events = app.sink.events();
    assert!(events.iter().all(|e| e.direction == Direction::ModelCheck
        && e.outcome == Outcome::Blocked
        && e.model_licence.as_deref() == Some("LicenseRef-Research-Only")
        && e.tenant.as_deref() == Some("acme")));

    // Allowed model, strict engine chosen by the selector: the secret blocks the answer.
    let req = Request::post("/v1/chat/completions")
        .header("x-tenant", "beta")
        .body(Body::from(
            r#"{"model":"llama","messages":[{"role":"user","content":"hi"}]}"#,
        ))
        .unwrap();
    let (status, headers, text) = call(&app, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(headers["x-glassbox-verdict"], "block");
    assert!(!text.contains("ghp_"), "{text}");
    let events = app.sink.events();
    let last = events.last().unwrap();
    assert_eq!(last.direction, Direction::Response);
    assert_eq!(last.policy_id, "block");
    assert_eq!(last.tenant.as_deref(), Some("beta"));
    assert_eq!(last.model.as_deref(), Some("llama"));
    assert_eq!(last.model_licence.as_deref(), Some("Apache-2.0"));
    assert_eq!(last.outcome, Outcome::Blocked);
}

#[tokio::test]
async fn non_streamed_answers_are_masked_in_place() {
    let cases = [
        ("/v1/chat/completions", CHAT_JSON),
        ("/v1/messages", MESSAGES_JSON),
        ("/v1/responses", RESPONSES_JSON),
    ];
    for (path, upstream) in cases {
        let app = app();
        let (status, headers, text) = call(&app, post_json(path, request_body(path, false))).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["x-glassbox-verdict"], "mask", "{path}");
        assert_eq!(headers["content-length"], text.len().to_string().as_str());
        let want = upstream
            .replace(TOKEN, "[REDACTED:secret.github_token]")
            .replace(AWS, "[REDACTED:secret.aws_access_key_id]");
        assert_eq!(text, want, "{path}: only the masked strings changed");
        let events = app.sink.events();
        let r = events
            .iter()
            .find(|e| e.direction == Direction::Response)
            .unwrap();
        assert_eq!(r.verdict, Action::Mask);
        assert!(r.headers_are_not_content());
    }
}

trait NoContent {
    fn headers_are_not_content(&self) -> bool;
}

impl NoContent for DecisionEvent {
    /// Events carry categories and lengths, never the matched text.
    fn headers_are_not_content(&self) -> bool {
        let json = serde_json::to_string(self).unwrap();
        !json.contains("ghp_") && !json.contains("AKIA")
    }
}

#[tokio::test]
async fn unscreened_routes_pass_untouched() {
    let app = app();
    let (status, _, text) = call(
        &app,
        Request::get("/v1/models").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, r#"{"data":[]}"#);
    assert!(app.sink.events().is_empty());
}

/// Fails on every text that mentions "hi".
struct Broken;

impl Detector for Broken {
    fn name(&self) -> &str {
        "classifier"
    }
    fn detect(&self, text: &str, _: usize, _: &mut Vec<Match>) -> Result<(), DetectorError> {
        if text.contains("hi") {
            Err(DetectorError::new("classifier", "queue overloaded"))
        } else {
            Ok(())
        }
    }
    fn live_from(&self, text: &str, _: usize) -> usize {
        text.len()
    }
    fn max_match_len(&self) -> usize {
        0
    }
}

#[tokio::test]
async fn request_detector_failure_follows_on_error() {
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let closed = engine_with("id: c\non_error: closed\n", vec![Arc::new(Broken)]);
    let app = app_with(|l| l, closed);
    let (status, _, text) = call(&app, post_json("/v1/chat/completions", body)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        text.contains("detector `classifier` failed: queue overloaded"),
        "{text}"
    );
    assert!(text.contains("on_error: closed"), "{text}");
    assert_eq!(app.up.calls.load(Ordering::SeqCst), 0);
    assert_eq!(app.sink.events()[0].outcome, Outcome::Error);

    let open = engine_with("id: o\non_error: open\n", vec![Arc::new(Broken)]);
    let app = app_with(|l| l, open);
    let (status, _, _) = call(&app, post_json("/v1/chat/completions", body)).await;
    assert_eq!(status, StatusCode::OK);
    let events = app.sink.events();
    assert_eq!(events[0].fail_open.len(), 1);
    assert_eq!(events[0].fail_open[0].reason, "queue overloaded");
}

#[tokio::test]
async fn streamed_answer_over_a_real_socket() {
    let app = app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    for path in ["/v1/chat/completions", "/v1/messages", "/v1/responses"] {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = http::Request::post(path)
            .header("host", addr.to_string())
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(Bytes::from(request_body(
                path, true,
            ))))
            .unwrap();
        let res = sender.send_request(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let out = res.into_body().collect().await.unwrap().to_bytes();
        assert_no_run_of(TOKEN, &out, 6, path);
        assert_no_run_of(AWS, &out, 6, path);
        let texts = stream_texts(path, &decode(&out));
        assert!(
            texts
                .values()
                .any(|t| t.contains("[REDACTED:secret.github_token]")),
            "{path}: {texts:?}"
        );
    }
    server.abort();
    let events = app.sink.events();
    let responses = events
        .iter()
        .filter(|e| e.direction == Direction::Response)
        .count();
    assert_eq!(responses, 3);
}
