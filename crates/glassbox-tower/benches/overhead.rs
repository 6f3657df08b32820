//! The layer's cost on a streamed answer: a 2,000-event OpenAI Chat Completions stream (one
//! event per upstream frame) through the bare service and through `ScreenLayer`, whole stream
//! and time to first byte; and the hold-back the default policy needs.
//!
//! Run: `cargo bench -p glassbox-tower --bench overhead -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use glassbox_core::audit::MemorySink;
use glassbox_core::{Detector, Engine, Policy};
use glassbox_patterns::testing;
use glassbox_tower::{BoxError, ScreenLayer};
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use tower::{Layer, Service, ServiceExt};

const EVENTS: usize = 2000;

struct Frames(VecDeque<Bytes>);

impl Body for Frames {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

/// 2,000 chunks of prose, one SSE event each, then `[DONE]`.
fn stream() -> Vec<Bytes> {
    let words = [
        "The",
        " model",
        " answers",
        " with",
        " ordinary",
        " prose,",
        " a",
        " number",
        " 42,",
        " and",
        " mail@",
        "example.com",
        " sometimes.",
        "\n",
    ];
    let mut out = Vec::with_capacity(EVENTS + 1);
    for i in 0..EVENTS {
        let w = words[i % words.len()];
        let data = serde_json::json!({
            "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1732550400,
            "model": "llama", "choices": [{"index": 0, "delta": {"content": w}, "logprobs": null,
            "finish_reason": if i + 1 == EVENTS { serde_json::json!("stop") } else { serde_json::Value::Null }}]
        });
        out.push(Bytes::from(format!("data: {data}\n\n")));
    }
    out.push(Bytes::from_static(b"data: [DONE]\n\n"));
    out
}

/// The default policy with representative secret/PII rules and its keyword lists.
fn default_engine() -> Engine {
    let policy = Policy::default_policy();
    let set: Arc<dyn Detector> = testing::rule_set(testing::sample_rules(), &policy.keywords);
    Engine::new(Arc::new(policy), vec![set])
}

type Inner = tower::util::BoxCloneService<Request<Full<Bytes>>, Response<Frames>, Infallible>;

fn inner(events: Arc<Vec<Bytes>>) -> Inner {
    tower::util::BoxCloneService::new(tower::service_fn(move |_req: Request<Full<Bytes>>| {
        let body = Frames(events.iter().cloned().collect());
        async move {
            Ok::<_, Infallible>(
                Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(body)
                    .expect("valid response"),
            )
        }
    }))
}

fn request() -> Request<Full<Bytes>> {
    Request::post("/v1/chat/completions")
        .body(Full::new(Bytes::from_static(
            br#"{"model":"llama","stream":true,"messages":[{"role":"user","content":"Write a long answer."}]}"#,
        )))
        .expect("valid request")
}

async fn drain<B: Body<Data = Bytes>>(body: B) -> usize
where
    B::Error: std::fmt::Debug,
{
    body.collect().await.expect("body").to_bytes().len()
}

async fn first_byte<B: Body<Data = Bytes> + Unpin>(mut body: B) -> usize
where
    B::Error: std::fmt::Debug,
{
    loop {
        let frame = body.frame().await.expect("a frame").expect("no error");
        if let Some(d) = frame.data_ref() {
            if !d.is_empty() {
                return d.len();
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let events = Arc::new(stream());
    let engine = default_engine();
    let layer = ScreenLayer::new(engine.clone()).on_decision(());

    // Hold-back: the bound the engine computes and what this stream needed.
    let sink = Arc::new(MemorySink::default());
    let probe = ScreenLayer::new(engine.clone())
        .audit_sink(sink.clone())
        .on_decision(());
    rt.block_on(async {
        let res = probe
            .layer(inner(events.clone()))
            .oneshot(request())
            .await
            .expect("call");
        drain(res.into_body()).await;
    });
    let ev = sink.events().pop().expect("a response decision");
    eprintln!(
        "default policy (representative rules): Engine::max_holdback = {} bytes; this stream held at most {} bytes; {} bytes screened",
        engine.max_holdback(),
        ev.coverage.max_holdback,
        ev.coverage.bytes_screened
    );

    let mut g = c.benchmark_group("stream_2000_events");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function("bare", |b| {
        let mut svc = inner(events.clone());
        b.iter(|| {
            rt.block_on(async {
                let res = svc
                    .ready()
                    .await
                    .expect("ready")
                    .call(request())
                    .await
                    .expect("call");
                drain(res.into_body()).await
            })
        })
    });
    g.bench_function("screened", |b| {
        let mut svc = layer.layer(inner(events.clone()));
        b.iter(|| {
            rt.block_on(async {
                let res = svc
                    .ready()
                    .await
                    .expect("ready")
                    .call(request())
                    .await
                    .expect("call");
                drain(res.into_body()).await
            })
        })
    });
    // The engine's share: the same 2,000 deltas fed straight to one stream scanner.
    let deltas: Vec<String> = events
        .iter()
        .filter_map(|e| {
            let v: serde_json::Value = serde_json::from_slice(e.strip_prefix(b"data: ")?).ok()?;
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    g.bench_function("scanner_only", |b| {
        b.iter(|| {
            let mut s = engine.stream();
            let mut n = 0;
            for d in &deltas {
                n += s.feed_str(d).text.len();
            }
            n + s.finish().expect("finish").text.len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("time_to_first_byte");
    g.throughput(Throughput::Elements(1));
    g.bench_function("bare", |b| {
        let mut svc = inner(events.clone());
        b.iter(|| {
            rt.block_on(async {
                let res = svc
                    .ready()
                    .await
                    .expect("ready")
                    .call(request())
                    .await
                    .expect("call");
                first_byte(res.into_body()).await
            })
        })
    });
    g.bench_function("screened", |b| {
        let mut svc = layer.layer(inner(events.clone()));
        b.iter(|| {
            rt.block_on(async {
                let res = svc
                    .ready()
                    .await
                    .expect("ready")
                    .call(request())
                    .await
                    .expect("call");
                first_byte(res.into_body()).await
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
