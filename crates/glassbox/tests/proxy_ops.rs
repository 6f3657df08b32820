//! Operations: client auth, upstream headers, `/healthz`, `/readyz`, `/metrics`, policy
//! selection by key and model, SIGHUP-style reload (bad policy rejected, old kept), graceful
//! shutdown that finishes in-flight streams.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proxy_support;

use std::sync::Arc;
use std::time::Duration;

use glassbox::proxy::{self, Config, Engines, Metrics, PolicySet, ProxyArgs};
use http::Method;
use http_body_util::BodyExt;
use proxy_support::*;

const AUTH_YAML: &str = "upstreams:\n  mock:\n    url: {MOCK}\n\
policies:\n  strict: strict.yaml\n\
auth:\n  keys:\n    - key: gb-team-a-0123456789\n      tenant: team-a\n    - key: gb-team-b-0123456789\n      tenant: team-b\n      policy: strict\n\
models:\n  mock-special:\n    policy: strict\n";

const STRICT: &str =
    "id: strict\nactions:\n  keyword: block\nkeywords:\n  internal:\n    - glassbox sits\n";

fn with_policy_dir(yaml: &str) -> (TempDir, String) {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("strict.yaml"), STRICT).unwrap();
    (dir, yaml.to_string())
}

async fn start_auth() -> (TempDir, Harness) {
    let (dir, yaml) = with_policy_dir(AUTH_YAML);
    let mock = glassbox::demo::mock::MockUpstream::start().await.unwrap();
    let path = dir.path().join("glassbox.yaml");
    std::fs::write(&path, yaml.replace("{MOCK}", &mock.url())).unwrap();
    let mut config = Config::load(&path).unwrap();
    config.listen = ([127, 0, 0, 1], 0).into();
    (dir, start_with(mock, config).await)
}

#[tokio::test]
async fn keys_authenticate_and_pick_tenant_and_policy() {
    let (_dir, h) = start_auth().await;
    let plain = chat("mock-llama", false, "hello");
    // No key / wrong key: 401 in each API's shape.
    let got = post_json(&h, "/v1/chat/completions", &[], &plain).await;
    assert_eq!(got.status, 401);
    assert!(got.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("missing API key"));
    let got = post_json(
        &h,
        "/v1/messages",
        &[("x-api-key", "nope-nope-nope")],
        &message("m", false, "hello"),
    )
    .await;
    assert_eq!(got.status, 401);
    assert_eq!(got.json()["type"], "error");
    assert!(got.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("invalid API key"));
    // Team A: default policy; the plain answer is allowed.
    let got = post_json(
        &h,
        "/v1/chat/completions",
        &[
            ("authorization", "Bearer gb-team-a-0123456789"),
            ("x-request-id", "a1"),
        ],
        &plain,
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.text());
    let ev = events_for(&h.sink, "a1");
    assert!(
        ev.iter()
            .all(|e| e.tenant.as_deref() == Some("team-a") && e.policy_id == "default"),
        "{ev:?}"
    );
    // Team B: strict policy blocks "glassbox sits" in the answer.
    let got = post_json(
        &h,
        "/v1/chat/completions",
        &[
            ("authorization", "Bearer gb-team-b-0123456789"),
            ("x-request-id", "b1"),
        ],
        &plain,
    )
    .await;
    let ev = events_for(&h.sink, "b1");
    assert!(
        ev.iter()
            .any(|e| e.policy_id == "strict" && e.tenant.as_deref() == Some("team-b")),
        "{ev:?}"
    );
    assert!(
        ev.iter().any(|e| e.verdict == glassbox_core::Action::Block),
        "{ev:?}: {}",
        got.text()
    );
    // Model override: team A asking for `mock-special` gets the strict policy.
    let got = post_json(
        &h,
        "/v1/chat/completions",
        &[
            ("x-api-key", "gb-team-a-0123456789"),
            ("x-request-id", "a2"),
        ],
        &chat("mock-special", false, "hello"),
    )
    .await;
    let ev = events_for(&h.sink, "a2");
    assert!(
        ev.iter().any(|e| e.policy_id == "strict"),
        "{ev:?}: {}",
        got.text()
    );
}

#[tokio::test]
async fn upstream_gets_configured_headers_not_the_clients_key() {
    // A one-route upstream that echoes the headers it received.
    let app = axum::Router::new().route(
        "/v1/models",
        axum::routing::get(|headers: http::HeaderMap| async move {
            let h: serde_json::Map<String, serde_json::Value> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").into()))
                .collect();
            serde_json::Value::Object(h).to_string()
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    std::env::set_var("GLASSBOX_TEST_UPSTREAM_KEY", "sk-upstream-123");
    let yaml = format!(
        "upstreams:\n  echo:\n    url: http://{echo}\n    headers:\n      authorization: {{env: GLASSBOX_TEST_UPSTREAM_KEY, prefix: 'Bearer '}}\n      x-extra: hello\n\
         auth:\n  keys:\n    - key: gb-client-key-000\n      tenant: t\n"
    );
    let mut config = Config::parse(&yaml, "t.yaml").unwrap();
    config.listen = ([127, 0, 0, 1], 0).into();
    let mock = glassbox::demo::mock::MockUpstream::start().await.unwrap();
    let h = start_with(mock, config).await;
    let got = send(
        &h.client,
        h.proxy.addr,
        Method::GET,
        "/v1/models",
        &[
            ("x-api-key", "gb-client-key-000"),
            ("authorization", "Bearer gb-client-key-000"),
        ],
        "",
    )
    .await;
    let seen = got.json();
    assert_eq!(seen["authorization"], "Bearer sk-upstream-123", "{seen}");
    assert_eq!(seen["x-extra"], "hello");
    assert!(
        seen.get("x-api-key").is_none(),
        "the client's glassbox key must not reach the upstream: {seen}"
    );
    assert!(seen["x-request-id"].is_string());
}

#[tokio::test]
async fn health_ready_and_metrics() {
    let h = start().await;
    let got = send(&h.client, h.proxy.addr, Method::GET, "/healthz", &[], "").await;
    assert_eq!((got.status, got.text()), (200, "ok\n"));
    let got = send(&h.client, h.proxy.addr, Method::GET, "/readyz", &[], "").await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert!(
        got.text().contains("policy default: loaded"),
        "{}",
        got.text()
    );
    assert!(got.text().contains("upstream mock"), "{}", got.text());
    // Traffic: a block (keyword) in a stream, an allowed answer.
    post_json(
        &h,
        "/v1/chat/completions",
        &[],
        &chat("m", true, "What is on the roadmap?"),
    )
    .await;
    post_json(&h, "/v1/chat/completions", &[], &chat("m", false, "hello")).await;
    let got = send(&h.client, h.proxy.addr, Method::GET, "/metrics", &[], "").await;
    let m = got.text();
    assert!(got.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    for want in [
        "glassbox_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 2",
        "glassbox_findings_total{category=\"keyword.blocked_terms\",action=\"block\"} 1",
        "glassbox_decisions_total{direction=\"response\",verdict=\"block\"} 1",
        "glassbox_holdback_bytes_count",
        "glassbox_upstream_latency_seconds_count{upstream=\"mock\"} 2",
        "# TYPE glassbox_fail_open_total counter",
        "glassbox_in_flight_requests",
    ] {
        assert!(m.contains(want), "missing `{want}` in:\n{m}");
    }
    assert!(!m.contains("Nightingale"), "metrics never carry content");
}

#[tokio::test]
async fn reload_applies_good_policies_and_keeps_the_old_set_on_a_bad_one() {
    let dir = TempDir::new();
    let policy = dir.path().join("p.yaml");
    std::fs::write(
        &policy,
        "id: first\nactions:\n  keyword: block\nkeywords:\n  k:\n    - glassbox sits\n",
    )
    .unwrap();
    let mock = glassbox::demo::mock::MockUpstream::start().await.unwrap();
    let args = ProxyArgs {
        config: None,
        listen: Some(([127, 0, 0, 1], 0).into()),
        upstream: Some(mock.url()),
        upstream_kind: proxy::UpstreamKindArg::Openai,
        policy: Some(policy.clone()),
        audit: None,
        signing_key: None,
        hmac_key: None,
        max_body_bytes: None,
        log_format: None,
        devices: glassbox::build::DeviceArgs::default(),
        tls_cert: None,
        tls_key: None,
        check: false,
    };
    let config = proxy::config_from_args(&args).unwrap();
    let metrics = Metrics::new();
    let policies = PolicySet::new(Engines::load(&config).unwrap());
    let sink = Arc::new(glassbox_core::audit::MemorySink::default());
    let (running, _state) =
        proxy::server::start(&config, policies.clone(), sink.clone(), metrics.clone())
            .await
            .unwrap();
    let h = Harness {
        mock,
        proxy: running,
        state: _state,
        sink,
        client: client(),
    };
    let ask = |id: &'static str| {
        let h = &h;
        async move {
            post_json(
                h,
                "/v1/chat/completions",
                &[("x-request-id", id)],
                &chat("m", false, "hello"),
            )
            .await;
            events_for(&h.sink, id)
                .into_iter()
                .map(|e| (e.policy_id, e.verdict))
                .max_by_key(|x| x.1)
                .unwrap()
        }
    };
    assert_eq!(
        ask("r1").await,
        ("first".into(), glassbox_core::Action::Block)
    );
    // A broken policy: rejected, the running set stays.
    std::fs::write(&policy, "id: second\nactions:\n  keyword: blok\n").unwrap();
    proxy::reload(&args, &config, &policies, &metrics);
    assert_eq!(
        metrics.counter("glassbox_policy_reloads_total", &[("result", "rejected")]),
        1
    );
    assert_eq!(
        ask("r2").await,
        ("first".into(), glassbox_core::Action::Block)
    );
    // A good one: applied to the next request.
    std::fs::write(
        &policy,
        "id: third\nactions:\n  keyword: annotate\nkeywords:\n  k:\n    - glassbox sits\n",
    )
    .unwrap();
    proxy::reload(&args, &config, &policies, &metrics);
    assert_eq!(
        metrics.counter("glassbox_policy_reloads_total", &[("result", "applied")]),
        1
    );
    assert_eq!(
        ask("r3").await,
        ("third".into(), glassbox_core::Action::Annotate)
    );
}

#[tokio::test]
async fn shutdown_finishes_in_flight_streams() {
    let h = start().await;
    let addr = h.proxy.addr;
    let req = http::Request::post(format!("http://{}/v1/chat/completions", h.proxy.addr))
        .header("content-type", "application/json")
        .header("x-mock-chunk-delay-ms", "20")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            chat("m", true, "hello").to_string(),
        )))
        .unwrap();
    let res = h.client.request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.into_body();
    // The stream is flowing: read its first frame, then ask the proxy to stop.
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let stop = tokio::spawn(h.proxy.shutdown(Duration::from_secs(30)));
    let mut text = String::from_utf8_lossy(&first).into_owned();
    while let Some(f) = body.frame().await {
        let f = f.expect("the stream is not cut by the shutdown");
        if let Ok(d) = f.into_data() {
            text.push_str(&String::from_utf8_lossy(&d));
        }
    }
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    stop.await
        .unwrap()
        .expect("shutdown completes once the stream is done");
    // And it no longer accepts connections.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn configured_audit_trail_records_every_decision_and_verifies() {
    let dir = TempDir::new();
    let keys = glassbox_audit::keys::keygen(&dir.path().join("keys"), false).unwrap();
    let mock = glassbox::demo::mock::MockUpstream::start().await.unwrap();
    let yaml = format!(
        "upstreams:\n  mock:\n    url: {}\naudit:\n  store: trail\n  sink:\n    signing_key: keys/audit-signing.key\n    hmac_key: keys/audit-hmac.key\n    instance: proxy-test\n",
        mock.url()
    );
    std::fs::write(dir.path().join("g.yaml"), yaml).unwrap();
    let mut config = Config::load(&dir.path().join("g.yaml")).unwrap();
    config.listen = ([127, 0, 0, 1], 0).into();
    let writer = proxy::open_audit(&config)
        .unwrap()
        .expect("audit configured");
    let policies = PolicySet::new(Engines::load(&config).unwrap());
    let (running, state) = proxy::server::start(&config, policies, writer.clone(), Metrics::new())
        .await
        .unwrap();
    let h = Harness {
        mock,
        proxy: running,
        state,
        sink: Arc::new(Default::default()),
        client: client(),
    };
    post_json(
        &h,
        "/v1/chat/completions",
        &[],
        &chat("m", true, "Show me the deploy config"),
    )
    .await;
    post_json(
        &h,
        "/v1/messages",
        &[],
        &message("m", false, "What is on the roadmap?"),
    )
    .await;
    let stats = writer.close().unwrap();
    assert_eq!(
        stats.decisions, 4,
        "a request and a response decision per exchange: {stats:?}"
    );
    let store = config.audit_store().unwrap();
    let key = glassbox_audit::keys::load_public_key(&keys.public_key).unwrap();
    let report = glassbox_audit::verify_store(&store, Some(key)).unwrap();
    assert!(report.ok(), "{}", report.to_text());
    let raw: Vec<u8> = std::fs::read_dir(&store)
        .unwrap()
        .flat_map(|e| std::fs::read(e.unwrap().path()).unwrap_or_default())
        .collect();
    let raw = String::from_utf8_lossy(&raw);
    assert!(
        !raw.contains("AKIA2OGYBAH6TKXB3XLM") && !raw.contains("Nightingale"),
        "the trail holds no content"
    );
}
