//! Shared set-up for the proxy integration tests: a mock upstream and a proxy, both in-process
//! on ephemeral loopback ports, an in-memory audit sink, and a small HTTP client.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use glassbox::demo::mock::MockUpstream;
use glassbox::proxy::{server, AppState, Config, Engines, Metrics, PolicySet, Running};
use glassbox_core::audit::{DecisionEvent, MemorySink};
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub struct Harness {
    pub mock: MockUpstream,
    pub proxy: Running,
    pub state: AppState,
    pub sink: Arc<MemorySink>,
    pub client: Client<HttpConnector, Full<Bytes>>,
}

/// A proxy in front of a fresh mock, configured by `yaml` where `{MOCK}` is the mock's URL.
/// `listen` is forced to an ephemeral port.
pub async fn start_yaml(yaml: &str) -> Harness {
    let mock = MockUpstream::start().await.expect("mock starts");
    let yaml = yaml.replace("{MOCK}", &mock.url());
    let mut config = Config::parse(&yaml, "test.yaml").expect("test config is valid");
    config.listen = ([127, 0, 0, 1], 0).into();
    start_with(mock, config).await
}

/// A proxy with the default configuration in front of a fresh mock.
pub async fn start() -> Harness {
    start_yaml("upstreams:\n  mock:\n    url: {MOCK}\n").await
}

pub async fn start_with(mock: MockUpstream, config: Config) -> Harness {
    let engines = Engines::load(&config).expect("policies load");
    let sink = Arc::new(MemorySink::default());
    let (proxy, state) = server::start(
        &config,
        PolicySet::new(engines),
        sink.clone(),
        Metrics::new(),
    )
    .await
    .expect("proxy starts");
    Harness {
        mock,
        proxy,
        state,
        sink,
        client: client(),
    }
}

pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// What came back.
#[derive(Debug)]
pub struct Got {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body; `Err` when it broke off (the text received before the break is in `partial`).
    pub body: Result<String, String>,
    pub partial: String,
}

impl Got {
    pub fn text(&self) -> &str {
        self.body.as_deref().unwrap_or(&self.partial)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(self.text())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

pub async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Got {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(body.into())).expect("request builds");
    let res = tokio::time::timeout(Duration::from_secs(30), client.request(req))
        .await
        .expect("answer within 30 s")
        .expect("the proxy answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let mut body = res.into_body();
    let mut partial = Vec::new();
    let outcome = loop {
        match tokio::time::timeout(Duration::from_secs(30), body.frame()).await {
            Err(_) => break Err("no frame within 30 s".to_string()),
            Ok(None) => break Ok(()),
            Ok(Some(Err(e))) => break Err(e.to_string()),
            Ok(Some(Ok(f))) => {
                if let Some(d) = f.data_ref() {
                    partial.extend_from_slice(d);
                }
            }
        }
    };
    let partial = String::from_utf8_lossy(&partial).into_owned();
    Got {
        status,
        headers,
        body: outcome.map(|()| partial.clone()),
        partial,
    }
}

pub async fn post_json(h: &Harness, path: &str, headers: &[(&str, &str)], body: &Value) -> Got {
    let mut hs = vec![("content-type", "application/json")];
    hs.extend_from_slice(headers);
    send(
        &h.client,
        h.proxy.addr,
        Method::POST,
        path,
        &hs,
        body.to_string(),
    )
    .await
}

pub fn chat(model: &str, stream: bool, prompt: &str) -> Value {
    serde_json::json!({
        "model": model, "stream": stream,
        "messages": [{"role": "user", "content": prompt}],
    })
}

pub fn message(model: &str, stream: bool, prompt: &str) -> Value {
    serde_json::json!({
        "model": model, "stream": stream, "max_tokens": 64,
        "messages": [{"role": "user", "content": prompt}],
    })
}

/// The events of one request.
pub fn events_for(sink: &MemorySink, request_id: &str) -> Vec<DecisionEvent> {
    sink.events()
        .into_iter()
        .filter(|e| e.request_id == request_id)
        .collect()
}

/// The JSON payloads of the `data:` lines of an SSE body (`[DONE]` as the string "[DONE]").
pub fn sse_data(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter_map(|ev| {
            let data: Vec<&str> = ev
                .lines()
                .filter_map(|l| l.strip_prefix("data:").map(str::trim_start))
                .collect();
            if data.is_empty() {
                return None;
            }
            let d = data.join("\n");
            Some(serde_json::from_str(&d).unwrap_or(Value::String(d)))
        })
        .collect()
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "glassbox-proxy-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
