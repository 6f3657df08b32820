//! Shared test parts: engines built from real pattern rules, an upstream body that yields given
//! chunks, a client-side SSE decoder and per-protocol text extraction.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use glassbox_core::audit::MemorySink;
use glassbox_core::{DecisionEvent, Detector, Engine, Policy};
use glassbox_patterns::{testing, Rule};
use glassbox_tower::{BoxError, ScreenLayer};
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tower::{Layer, ServiceExt};

pub const TOKEN: &str = "ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw";
pub const AWS: &str = "AKIAZ7QW3ERT5YUI2OPL";

pub fn rules() -> Vec<Rule> {
    testing::sample_rules()
}

/// An engine over the test rules and a `stop` keyword list under `policy_yaml`.
pub fn engine_with(policy_yaml: &str, extra: Vec<Arc<dyn Detector>>) -> Engine {
    let policy = Policy::from_yaml(policy_yaml, "test.yaml").unwrap();
    let lists = testing::term_lists(&[("stop", &["project nightingale"])]);
    let set: Arc<dyn Detector> = testing::rule_set(rules(), &lists);
    let mut detectors = vec![set];
    detectors.extend(extra);
    Engine::new(Arc::new(policy), detectors)
}

const KEYWORDS: &str = "keywords:\n  stop: [project nightingale]\n";

/// Secrets and PII masked, private keys and the `stop` list blocked.
pub fn mask_engine() -> Engine {
    engine_with(
        &format!("id: mask\nactions:\n  secret: mask\n  secret.private_key: block\n  pii: mask\n  keyword.stop: block\n{KEYWORDS}"),
        vec![],
    )
}

/// Secrets blocked, PII masked.
pub fn block_engine() -> Engine {
    engine_with(
        &format!(
            "id: block\nactions:\n  secret: block\n  pii: mask\n  keyword.stop: block\n{KEYWORDS}"
        ),
        vec![],
    )
}

/// Secrets only, with prefixes (`ghp_`, `AKIA`): ordinary prose is never held back.
pub fn secrets_only_engine() -> Engine {
    let policy = Policy::from_yaml(
        "id: secrets\nactions:\n  secret: mask\n  pii: allow\n",
        "s.yaml",
    )
    .unwrap();
    let rules: Vec<Rule> = rules().into_iter().take(2).collect();
    let set: Arc<dyn Detector> = testing::rule_set(rules, &BTreeMap::new());
    Engine::new(Arc::new(policy), vec![set])
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// === upstream body ===

/// A body yielding the given chunks, then optionally an error.
pub struct ChunkBody {
    pub chunks: VecDeque<Bytes>,
    pub error: Option<BoxError>,
}

impl ChunkBody {
    pub fn new(bytes: &[u8], cuts: &[usize]) -> Self {
        let mut chunks = VecDeque::new();
        let mut at = 0;
        for &c in cuts.iter().chain(std::iter::once(&bytes.len())) {
            chunks.push_back(Bytes::copy_from_slice(&bytes[at..c]));
            at = c;
        }
        ChunkBody {
            chunks,
            error: None,
        }
    }

    pub fn failing(mut self, e: BoxError) -> Self {
        self.error = Some(e);
        self
    }
}

impl Body for ChunkBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(c) = self.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(c))));
        }
        Poll::Ready(self.error.take().map(Err))
    }
}

/// An upstream that sends some chunks and then goes quiet (pending, never ending).
pub struct Stalled(pub ChunkBody);

impl Body for Stalled {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match Pin::new(&mut self.0).poll_frame(cx) {
            Poll::Ready(None) => Poll::Pending,
            other => other,
        }
    }
}

pub fn sse_response(body: ChunkBody) -> Response<ChunkBody> {
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(body)
        .unwrap()
}

/// The request body a test client sends for `path`.
pub fn request_body(path: &str, stream: bool) -> String {
    if path.ends_with("/messages") {
        format!(
            r#"{{"model":"claude-sonnet-4-5","max_tokens":100,"stream":{stream},"messages":[{{"role":"user","content":"hello"}}]}}"#
        )
    } else if path.ends_with("/responses") {
        format!(r#"{{"model":"gpt-oss-20b","stream":{stream},"input":"hello"}}"#)
    } else {
        format!(
            r#"{{"model":"llama","stream":{stream},"n":2,"messages":[{{"role":"user","content":"hello"}}]}}"#
        )
    }
}

/// Runs one streamed exchange through the layer; returns the bytes the client got and the
/// decisions recorded.
pub async fn run_stream(
    engine: Engine,
    path: &str,
    upstream: ChunkBody,
) -> (Vec<u8>, Vec<DecisionEvent>) {
    let sink = Arc::new(MemorySink::default());
    let layer = ScreenLayer::new(engine)
        .audit_sink(sink.clone())
        .on_decision(());
    let body = Arc::new(std::sync::Mutex::new(Some(upstream)));
    let inner = tower::service_fn(move |_req: Request<Full<Bytes>>| {
        let b = body.lock().unwrap().take().unwrap();
        async move { Ok::<_, Infallible>(sse_response(b)) }
    });
    let req = Request::post(path)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(request_body(path, true))))
        .unwrap();
    let res = layer.layer(inner).oneshot(req).await.unwrap();
    let out = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (out, sink.events())
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

// === client side ===

/// Decodes SSE bytes into `(event, data)` pairs, as an SDK would.
pub fn decode(bytes: &[u8]) -> Vec<(Option<String>, String)> {
    let text = String::from_utf8(bytes.to_vec()).expect("output is UTF-8");
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut event = None;
        let mut data: Option<String> = None;
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                event = Some(v.trim_start().to_string());
            } else if let Some(v) = line.strip_prefix("data:") {
                let v = v.strip_prefix(' ').unwrap_or(v);
                match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(v);
                    }
                    None => data = Some(v.to_string()),
                }
            }
        }
        if let Some(d) = data {
            out.push((event, d));
        }
    }
    out
}

/// The text of every logical stream, accumulated from the deltas as an SDK would.
pub fn stream_texts(path: &str, events: &[(Option<String>, String)]) -> BTreeMap<String, String> {
    let mut t: BTreeMap<String, String> = BTreeMap::new();
    for (_, data) in events {
        if data == "[DONE]" {
            continue;
        }
        let v: Value = serde_json::from_str(data).expect("every data is JSON");
        if path.ends_with("/messages") {
            if v["type"] == "content_block_delta" {
                let d = &v["delta"];
                let s = d["text"]
                    .as_str()
                    .or(d["partial_json"].as_str())
                    .unwrap_or("");
                t.entry(format!("block.{}", v["index"]))
                    .or_default()
                    .push_str(s);
            }
        } else if path.ends_with("/responses") {
            let ty = v["type"].as_str().unwrap_or("");
            if ty == "response.output_text.delta" {
                t.entry(format!(
                    "output.{}.{}",
                    v["output_index"], v["content_index"]
                ))
                .or_default()
                .push_str(v["delta"].as_str().unwrap());
            } else if ty == "response.function_call_arguments.delta" {
                t.entry(format!("output.{}.arguments", v["output_index"]))
                    .or_default()
                    .push_str(v["delta"].as_str().unwrap());
            }
        } else if let Some(choices) = v["choices"].as_array() {
            for c in choices {
                let i = &c["index"];
                if let Some(s) = c["delta"]["content"].as_str() {
                    t.entry(format!("choice.{i}")).or_default().push_str(s);
                }
                if let Some(calls) = c["delta"]["tool_calls"].as_array() {
                    for call in calls {
                        if let Some(a) = call["function"]["arguments"].as_str() {
                            t.entry(format!("choice.{i}.tool_call.{}", call["index"]))
                                .or_default()
                                .push_str(a);
                        }
                    }
                }
            }
        }
    }
    t
}

/// Every substring of `secret` of `n` bytes; none may appear in any emitted byte.
pub fn assert_no_run_of(secret: &str, out: &[u8], n: usize, ctx: &str) {
    let out = String::from_utf8_lossy(out);
    for i in 0..=secret.len() - n {
        let run = &secret[i..i + n];
        assert!(!out.contains(run), "{ctx}: `{run}` of a secret leaked");
    }
}
