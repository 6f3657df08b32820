//! Bad input and upstream faults: each gets a clear error in the route's API shape, no panic,
//! and a stream that ends properly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proxy_support;

use http::Method;
use proxy_support::*;
use serde_json::json;

/// Asserts an OpenAI-shaped error whose message contains `words`.
fn assert_openai_error(got: &Got, status: u16, words: &str) {
    assert_eq!(got.status, status, "{}", got.text());
    let v = got.json();
    let msg = v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("OpenAI error shape: {v}"));
    assert!(msg.contains(words), "`{msg}` should say `{words}`");
    assert!(v["error"]["type"].is_string(), "{v}");
}

/// Asserts an Anthropic-shaped error whose message contains `words`.
fn assert_anthropic_error(got: &Got, status: u16, words: &str) {
    assert_eq!(got.status, status, "{}", got.text());
    let v = got.json();
    assert_eq!(v["type"], "error", "{v}");
    let msg = v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("Anthropic error shape: {v}"));
    assert!(msg.contains(words), "`{msg}` should say `{words}`");
    assert!(v["error"]["type"].is_string(), "{v}");
}

#[tokio::test]
async fn bad_requests_get_clear_errors_in_the_api_shape() {
    let h =
        start_yaml("limits: {max_body_bytes: 2048}\nupstreams:\n  mock:\n    url: {MOCK}\n").await;
    let addr = h.proxy.addr;
    let big = format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(4096)
    );
    // (name, path, body, status, api, words)
    let cases: &[(&str, &str, String, u16, &str, &str)] = &[
        (
            "unknown route",
            "/v2/whatever",
            "{}".into(),
            404,
            "openai",
            "no route for `/v2/whatever`",
        ),
        (
            "unknown anthropic route",
            "/v1/messages/batches",
            "{}".into(),
            404,
            "anthropic",
            "no route",
        ),
        (
            "oversized chat",
            "/v1/chat/completions",
            big.clone(),
            413,
            "openai",
            "limit is 2048 bytes",
        ),
        (
            "oversized messages",
            "/v1/messages",
            big,
            413,
            "anthropic",
            "limit is 2048 bytes",
        ),
        (
            "malformed chat JSON",
            "/v1/chat/completions",
            "{\"model\": \"m\", ".into(),
            400,
            "openai",
            "JSON",
        ),
        (
            "malformed messages JSON",
            "/v1/messages",
            "[1, 2".into(),
            400,
            "anthropic",
            "JSON",
        ),
    ];
    for (name, path, body, status, api, words) in cases {
        let got = send(
            &h.client,
            addr,
            Method::POST,
            path,
            &[("content-type", "application/json")],
            body.clone(),
        )
        .await;
        match *api {
            "openai" => assert_openai_error(&got, *status, words),
            _ => assert_anthropic_error(&got, *status, words),
        }
        assert!(
            got.headers.contains_key("x-request-id"),
            "{name}: request id on errors too"
        );
    }
}

#[tokio::test]
async fn upstream_faults_map_to_502_and_504() {
    let h = start_yaml(
        "upstreams:\n  mock:\n    url: {MOCK}\n    response_timeout: 300ms\n    idle_timeout: 300ms\n",
    )
    .await;
    // (fault model, api, status, words)
    let cases: &[(&str, &str, u16, &str)] = &[
        ("fault-slow", "openai", 504, "did not answer within 0.3s"),
        ("fault-slow", "anthropic", 504, "did not answer within 0.3s"),
        ("fault-non-json", "openai", 502, "content-type `text/html`"),
        (
            "fault-non-json",
            "anthropic",
            502,
            "content-type `text/html`",
        ),
        (
            "fault-status-500",
            "openai",
            502,
            "failed with 500 Internal Server Error and a non-JSON body",
        ),
        ("fault-status-500", "anthropic", 502, "non-JSON body"),
    ];
    for (model, api, status, words) in cases {
        for stream in [false, true] {
            if *api == "openai" {
                let got =
                    post_json(&h, "/v1/chat/completions", &[], &chat(model, stream, "hi")).await;
                assert_openai_error(&got, *status, words);
            } else {
                let got = post_json(&h, "/v1/messages", &[], &message(model, stream, "hi")).await;
                assert_anthropic_error(&got, *status, words);
            }
        }
    }
    // An upstream's own JSON error passes through with its status.
    let got = post_json(
        &h,
        "/v1/chat/completions",
        &[],
        &chat("fault-error-json", false, "hi"),
    )
    .await;
    assert_openai_error(&got, 429, "mock: slow down");
    let got = post_json(
        &h,
        "/v1/messages",
        &[],
        &message("fault-error-json", false, "hi"),
    )
    .await;
    assert_anthropic_error(&got, 429, "mock: slow down");
}

#[tokio::test]
async fn refused_upstream_is_a_502_naming_it() {
    // Bind then drop a listener: nothing listens on that port any more.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let h = start_yaml(&format!(
        "upstreams:\n  gone:\n    url: http://{dead}\n    connect_timeout: 1s\n"
    ))
    .await;
    let got = post_json(&h, "/v1/chat/completions", &[], &chat("m", true, "hi")).await;
    assert_openai_error(&got, 502, "upstream `gone`");
    assert!(
        got.text().contains("refused the connection"),
        "{}",
        got.text()
    );
    let got = post_json(&h, "/v1/messages", &[], &message("m", false, "hi")).await;
    assert_anthropic_error(&got, 502, "refused the connection");
    let ready = send(&h.client, h.proxy.addr, Method::GET, "/readyz", &[], "").await;
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(ready.text().contains("upstream gone"), "{}", ready.text());
    let metrics = h.state.metrics.render();
    assert!(
        metrics.contains("glassbox_upstream_errors_total{upstream=\"gone\",kind=\"connect\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn streams_that_break_end_with_the_protocols_error_event() {
    let h = start_yaml("upstreams:\n  mock:\n    url: {MOCK}\n    idle_timeout: 300ms\n").await;
    for fault in ["fault-reset", "fault-reset-boundary", "fault-stall"] {
        let got = post_json(&h, "/v1/chat/completions", &[], &chat(fault, true, "hi")).await;
        assert_eq!(got.status, 200, "{fault}: the stream had started");
        let data = sse_data(got.text());
        let last = data
            .iter()
            .rev()
            .find(|d| d.get("error").is_some() || d.get("choices").is_some());
        let ended = data.iter().any(|d| d.get("error").is_some())
            || last.is_some_and(|l| !l["choices"][0]["finish_reason"].is_null());
        assert!(
            ended,
            "{fault}: the client must see the stream end in a recognisable way: {}",
            got.text()
        );
        let got = post_json(&h, "/v1/messages", &[], &message(fault, true, "hi")).await;
        assert_eq!(got.status, 200);
        assert!(
            got.text().contains("event: error"),
            "{fault}: an Anthropic stream ends with an error event: {}",
            got.text()
        );
    }
    let m = h.state.metrics.render();
    assert!(m.contains("kind=\"idle_timeout\""), "{m}");
    assert!(m.contains("kind=\"reset\""), "{m}");
}

#[tokio::test]
async fn pass_through_streams_get_an_error_event_at_an_event_boundary() {
    let h = start_yaml(
        "upstreams:\n  mock:\n    url: {MOCK}\n    idle_timeout: 300ms\nroutes:\n  - path: /v1/chat/completions\n    upstream: mock\n    screen: false\n  - path: /v1/messages\n    upstream: mock\n    screen: false\n",
    )
    .await;
    for fault in ["fault-reset-boundary", "fault-stall"] {
        let got = post_json(&h, "/v1/chat/completions", &[], &chat(fault, true, "hi")).await;
        let data = sse_data(got.text());
        let err = data
            .iter()
            .find_map(|d| d["error"]["message"].as_str())
            .unwrap_or_else(|| panic!("{fault}: {}", got.text()));
        assert!(err.contains("upstream `mock`"), "{err}");
        let got = post_json(&h, "/v1/messages", &[], &message(fault, true, "hi")).await;
        assert!(
            got.text().contains("event: error\ndata: {"),
            "{}",
            got.text()
        );
        let last = sse_data(got.text()).pop().unwrap();
        assert_eq!(last["type"], "error", "{last}");
        assert!(
            last["error"]["message"]
                .as_str()
                .unwrap()
                .contains("upstream `mock`"),
            "{last}"
        );
    }
    // Cut inside an event: no valid way to finish it, so the connection is closed.
    let got = post_json(
        &h,
        "/v1/chat/completions",
        &[],
        &chat("fault-reset", true, "hi"),
    )
    .await;
    assert!(
        got.body.is_err(),
        "a stream cut inside an event must not look complete: {}",
        got.text()
    );
}

#[tokio::test]
async fn request_ids_are_kept_or_made() {
    let h = start().await;
    let got = post_json(
        &h,
        "/v1/chat/completions",
        &[("x-request-id", "mine-1")],
        &chat("m", false, "hello"),
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.headers["x-request-id"], "mine-1");
    assert!(
        !events_for(&h.sink, "mine-1").is_empty(),
        "decisions carry the client's id"
    );
    let a = post_json(&h, "/v1/chat/completions", &[], &chat("m", false, "hello")).await;
    let b = post_json(&h, "/v1/chat/completions", &[], &chat("m", false, "hello")).await;
    let (a, b) = (&a.headers["x-request-id"], &b.headers["x-request-id"]);
    assert_ne!(a, b);
    assert!(!events_for(&h.sink, a.to_str().unwrap()).is_empty());
}

#[tokio::test]
async fn pass_through_paths_are_untouched() {
    let h = start().await;
    for (method, path, body) in [
        (Method::GET, "/v1/models", String::new()),
        (
            Method::POST,
            "/v1/embeddings",
            json!({"model": "e", "input": ["AKIA2OGYBAH6TKXB3XLM", "b"]}).to_string(),
        ),
    ] {
        let via = send(
            &h.client,
            h.proxy.addr,
            method.clone(),
            path,
            &[("content-type", "application/json")],
            body.clone(),
        )
        .await;
        let direct = send(
            &h.client,
            h.mock.addr,
            method,
            path,
            &[("content-type", "application/json")],
            body,
        )
        .await;
        assert_eq!(via.status, 200);
        assert_eq!(via.text(), direct.text(), "{path}");
    }
    assert!(
        h.sink.events().is_empty(),
        "pass-through paths make no decisions"
    );
}
