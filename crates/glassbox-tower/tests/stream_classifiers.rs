//! Classifier windows over streamed answers (the policy's `classifiers:` with `responses`).
//!
//! A classifier whose verdicts the test releases by hand shows what `hold` and `observe` mean on
//! the wire: in `hold` mode no byte of text reaches the client before every window covering it
//! has a verdict, and a blocking verdict drops what is held and ends the stream in the protocol's
//! block form; in `observe` mode text goes out at once and a later verdict stops the stream. With
//! verdicts that arrive at once, a clean stream is byte for byte what the patterns alone emit,
//! at every split point. Failures follow `on_error`; the decision record carries the findings,
//! the lag and the number of windows; a stalled upstream gets its text classified after
//! `max_wait_ms`. The last test runs the real prompt-injection model when set-up has run.

#![allow(clippy::unwrap_used)]

mod common;

use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use glassbox_core::audit::{Direction, MemorySink, Outcome};
use glassbox_core::classify::ClassifyFuture;
use glassbox_core::{Action, Category, Classifier, DecisionEvent, DetectorError, Engine, Match};
use glassbox_tower::{BoxError, ScreenBody, ScreenLayer};
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tower::{Layer, ServiceExt};

const CLEAN: &[(&str, &str)] = &[
    ("clean_openai_chat_n2.sse", "/v1/chat/completions"),
    ("clean_anthropic_messages.sse", "/v1/messages"),
    ("clean_openai_responses.sse", "/v1/responses"),
];

/// Verdicts the test hands out: windows wait until `release`, unless `auto`.
#[derive(Default)]
struct Ctl {
    state: Mutex<CtlState>,
}

#[derive(Default)]
struct CtlState {
    windows: Vec<String>,
    released: bool,
    fail: bool,
    wakers: Vec<Waker>,
}

impl Ctl {
    fn release(&self) {
        let wakers = {
            let mut s = self.state.lock().unwrap();
            s.released = true;
            std::mem::take(&mut s.wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    fn reset(&self) {
        self.state.lock().unwrap().windows.clear();
    }

    fn windows(&self) -> Vec<String> {
        self.state.lock().unwrap().windows.clone()
    }
}

/// Scores 1.0 for `category` on a window containing `trigger`, else 0.0.
struct Manual {
    category: &'static str,
    trigger: &'static str,
    auto: bool,
    ctl: Arc<Ctl>,
}

impl Classifier for Manual {
    fn name(&self) -> &str {
        self.category.split('.').next().unwrap()
    }

    fn model_digest(&self) -> String {
        "manual@sha256:00".into()
    }

    fn classify(&self, text: String) -> ClassifyFuture {
        self.ctl.state.lock().unwrap().windows.push(text.clone());
        let (ctl, auto, trigger) = (self.ctl.clone(), self.auto, self.trigger);
        let category = Category::new(self.category).unwrap();
        let name = self.name().to_string();
        Box::pin(poll_fn(move |cx| {
            let mut s = ctl.state.lock().unwrap();
            if !(auto || s.released) {
                s.wakers.push(cx.waker().clone());
                return Poll::Pending;
            }
            if s.fail {
                return Poll::Ready(Err(DetectorError::new(&name, "model backend overloaded")));
            }
            let score = if text.contains(trigger) { 1.0 } else { 0.0 };
            let m = Match::new(0, text.len(), category.clone(), score);
            Poll::Ready(Ok(vec![m]))
        }))
    }
}

/// The mask engine's patterns plus one classifier on answers.
fn engine(mode: &str, trigger: &'static str, auto: bool) -> (Engine, Arc<Ctl>) {
    engine_on_error("closed", mode, trigger, auto, WINDOWS)
}

/// Small windows, so the fixtures' texts make several.
const WINDOWS: &str = "    window_bytes: 32\n    window_overlap_bytes: 8\n";

fn engine_on_error(
    on_error: &str,
    mode: &str,
    trigger: &'static str,
    auto: bool,
    windows: &str,
) -> (Engine, Arc<Ctl>) {
    let ctl = Arc::new(Ctl::default());
    let yaml = format!(
        "id: cls\non_error: {on_error}\nactions:\n  secret: mask\n  pii: mask\n  toxicity: annotate\n  toxicity.threat: block\nthresholds:\n  toxicity: 0.5\nkeywords:\n  stop: [project nightingale]\nclassifiers:\n  toxicity:\n    model: manual\n    mode: {mode}\n    requests: false\n{windows}"
    );
    let c: Arc<dyn Classifier> = Arc::new(Manual {
        category: "toxicity.threat",
        trigger,
        auto,
        ctl: ctl.clone(),
    });
    (engine_with(&yaml, vec![]).with_classifiers(vec![c]), ctl)
}

/// The layer in front of an upstream answering `upstream`; returns the response body.
async fn open<B>(engine: Engine, path: &str, upstream: B) -> (ScreenBody<B>, Arc<MemorySink>)
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let sink = Arc::new(MemorySink::default());
    let layer = ScreenLayer::new(engine).audit_sink(sink.clone());
    let body = Arc::new(Mutex::new(Some(upstream)));
    let inner = tower::service_fn(move |_req: Request<Full<Bytes>>| {
        let b = body.lock().unwrap().take().unwrap();
        async move {
            Ok::<_, Infallible>(
                Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(b)
                    .unwrap(),
            )
        }
    });
    let req = Request::post(path)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(request_body(path, true))))
        .unwrap();
    let res = layer.layer(inner).oneshot(req).await.unwrap();
    (res.into_body(), sink)
}

/// Polls the body once; `None` when it is pending.
async fn poll_once<B: Body<Data = Bytes> + Unpin>(body: &mut B) -> Option<Option<Bytes>>
where
    B::Error: std::fmt::Debug,
{
    poll_fn(|cx| {
        Poll::Ready(match Pin::new(&mut *body).poll_frame(cx) {
            Poll::Pending => None,
            Poll::Ready(None) => Some(None),
            Poll::Ready(Some(f)) => Some(Some(f.unwrap().into_data().ok().unwrap())),
        })
    })
    .await
}

/// Everything the body yields until it is pending or ends; `true` when it ended.
async fn drain<B: Body<Data = Bytes> + Unpin>(body: &mut B, out: &mut Vec<u8>) -> bool
where
    B::Error: std::fmt::Debug,
{
    loop {
        match poll_once(body).await {
            None => return false,
            Some(None) => return true,
            Some(Some(b)) => out.extend_from_slice(&b),
        }
    }
}

fn response_event(sink: &MemorySink) -> DecisionEvent {
    let r: Vec<_> = sink
        .events()
        .into_iter()
        .filter(|e| e.direction == Direction::Response)
        .collect();
    assert_eq!(r.len(), 1, "one response decision");
    r.into_iter().next().unwrap()
}

/// The bytes the patterns alone (`engine` without classifiers) emit for `input`.
async fn patterns_only(engine: &Engine, path: &str, input: &[u8], cuts: &[usize]) -> Vec<u8> {
    let patterns = Engine::new(engine.policy().clone(), engine.detectors().to_vec());
    run_stream(patterns, path, ChunkBody::new(input, cuts))
        .await
        .0
}

#[test]
fn clean_streams_are_byte_identical_to_patterns_only_at_every_split_point() {
    block_on(async {
        let (e, ctl) = engine("hold", "EVIL", true);
        for (name, path) in CLEAN {
            let input = fixture(name);
            for cut in 0..=input.len() {
                let ctx = format!("{name} cut at {cut}");
                ctl.reset();
                let (mut body, sink) = open(e.clone(), path, ChunkBody::new(&input, &[cut])).await;
                let mut out = Vec::new();
                assert!(drain(&mut body, &mut out).await, "{ctx}: ends");
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&patterns_only(&e, path, &input, &[cut]).await),
                    "{ctx}"
                );
                // Every byte of every part's released text was in some window.
                let windows = ctl.windows();
                let texts = stream_texts(path, &decode(&out));
                for t in texts.values() {
                    for word in t.split_whitespace() {
                        assert!(
                            windows.iter().any(|w| w.contains(word)),
                            "{ctx}: `{word}` never classified"
                        );
                    }
                }
                let ev = response_event(&sink);
                assert_eq!(ev.outcome, Outcome::Completed, "{ctx}");
                assert_eq!(ev.coverage.classifier_windows, windows.len() as u64);
                assert!(ev.coverage.classifier_lag_ms.is_some(), "{ctx}");
                assert!(
                    ev.detectors.iter().any(|d| d.digest == "manual@sha256:00"),
                    "{ctx}"
                );
            }
        }
    });
}

#[test]
fn hold_mode_releases_no_text_before_its_verdict() {
    block_on(async {
        for (name, path) in CLEAN {
            let input = fixture(name);
            let (e, ctl) = engine("hold", "EVIL", false);
            let (mut body, sink) = open(e.clone(), path, ChunkBody::new(&input, &[])).await;
            let mut out = Vec::new();
            assert!(
                !drain(&mut body, &mut out).await,
                "{name}: waits for verdicts"
            );
            let texts = stream_texts(path, &decode(&out));
            assert!(
                texts.values().all(String::is_empty),
                "{name}: text released before its verdict: {texts:?}"
            );
            assert!(!ctl.windows().is_empty(), "{name}: windows were sent");
            ctl.release();
            assert!(
                drain(&mut body, &mut out).await,
                "{name}: ends after the verdicts"
            );
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&patterns_only(&e, path, &input, &[]).await),
                "{name}"
            );
            assert_eq!(response_event(&sink).outcome, Outcome::Completed);
        }
    });
}

#[test]
fn hold_mode_block_drops_held_text_and_ends_in_the_block_form() {
    block_on(async {
        let (e, ctl) = engine("hold", "vault", true);
        for (name, path) in CLEAN {
            let input = fixture(name);
            for cut in (0..=input.len()).step_by(11) {
                let ctx = format!("{name} cut at {cut}");
                let (mut body, sink) = open(e.clone(), path, ChunkBody::new(&input, &[cut])).await;
                let mut out = Vec::new();
                assert!(drain(&mut body, &mut out).await, "{ctx}");
                let text = String::from_utf8_lossy(&out);
                assert!(!text.contains("vault"), "{ctx}: flagged text leaked");
                let evs = decode(&out);
                let (last_name, last) = evs.last().unwrap();
                if path.ends_with("/messages") || path.ends_with("/responses") {
                    assert_eq!(last_name.as_deref(), Some("error"), "{ctx}");
                    assert!(last.contains("toxicity.threat"), "{ctx}: {last}");
                } else {
                    assert_eq!(last, "[DONE]", "{ctx}");
                    let finish: Vec<Value> = evs
                        .iter()
                        .filter(|(_, d)| d.contains("content_filter"))
                        .map(|(_, d)| serde_json::from_str(d).unwrap())
                        .collect();
                    assert!(!finish.is_empty(), "{ctx}: a content_filter end");
                }
                assert!(!text.contains("message_stop") && !text.contains("response.completed"));
                let ev = response_event(&sink);
                assert_eq!(ev.outcome, Outcome::Blocked, "{ctx}");
                assert!(
                    ev.findings
                        .iter()
                        .any(|f| f.category == "toxicity.threat" && f.action == Action::Block),
                    "{ctx}: {:?}",
                    ev.findings
                );
                assert!(!ctl.windows().is_empty());
            }
        }
    });
}

#[test]
fn observe_mode_releases_at_once_and_a_later_verdict_stops_the_stream() {
    block_on(async {
        for (name, path) in CLEAN {
            let input = fixture(name);
            // One upstream frame per event (fixtures use LF or CRLF), so text goes out before
            // the verdicts.
            let text = String::from_utf8(input.clone()).unwrap();
            let sep = if text.contains("\r\n\r\n") {
                "\r\n\r\n"
            } else {
                "\n\n"
            };
            let cuts: Vec<usize> = text
                .match_indices(sep)
                .map(|(i, _)| i + sep.len())
                .filter(|&i| i < input.len())
                .collect();
            let (e, ctl) = engine("observe", "vault", false);
            let (mut body, sink) = open(e, path, ChunkBody::new(&input, &cuts)).await;
            let mut out = Vec::new();
            assert!(!drain(&mut body, &mut out).await, "{name}: the end waits");
            let before = stream_texts(path, &decode(&out));
            assert!(
                before.values().any(|t| t.contains("vault")),
                "{name}: observe mode released the text before its verdict: {}",
                String::from_utf8_lossy(&out)
            );
            ctl.release();
            assert!(drain(&mut body, &mut out).await, "{name}");
            let evs = decode(&out);
            let (last_name, last) = evs.last().unwrap();
            if path.ends_with("/chat/completions") {
                assert_eq!(last, "[DONE]");
                assert!(evs[evs.len() - 2].1.contains("content_filter"), "{name}");
            } else {
                assert_eq!(last_name.as_deref(), Some("error"), "{name}: {last}");
            }
            let ev = response_event(&sink);
            assert_eq!(ev.outcome, Outcome::Blocked, "{name}");
        }
    });
}

#[test]
fn classifier_failure_follows_on_error() {
    block_on(async {
        let (name, path) = CLEAN[0];
        let input = fixture(name);
        for on_error in ["closed", "open"] {
            let (e, ctl) = engine_on_error(on_error, "hold", "EVIL", true, WINDOWS);
            ctl.state.lock().unwrap().fail = true;
            let (mut body, sink) = open(e.clone(), path, ChunkBody::new(&input, &[])).await;
            let mut out = Vec::new();
            assert!(drain(&mut body, &mut out).await, "{on_error}");
            let ev = response_event(&sink);
            let evs = decode(&out);
            let text = String::from_utf8_lossy(&out);
            if on_error == "closed" {
                assert_eq!(ev.outcome, Outcome::Error, "{on_error}");
                assert_eq!(ev.verdict, Action::Block);
                assert!(evs[evs.len() - 2].1.contains("content_filter"), "{text}");
                assert!(!text.contains("vault"), "held text is dropped: {text}");
                assert!(ev.fail_open.is_empty());
            } else {
                assert_eq!(ev.outcome, Outcome::Completed);
                assert_eq!(
                    text,
                    String::from_utf8_lossy(&patterns_only(&e, path, &input, &[]).await),
                    "fail-open passes the stream as the patterns screen it"
                );
                assert!(
                    ev.fail_open
                        .iter()
                        .any(|f| f.detector == "toxicity" && f.reason.contains("overloaded")),
                    "{:?}",
                    ev.fail_open
                );
            }
        }
    });
}

#[tokio::test]
async fn a_stalled_upstream_gets_its_text_classified_after_max_wait() {
    // Windows of 4 KiB never fill from this short answer; the upstream then stalls without
    // ending. The text must still go out, after `max_wait_ms`.
    let (name, path) = CLEAN[0];
    let input = fixture(name);
    let s = String::from_utf8(input.clone()).unwrap();
    // Up to the first `finish_reason` event: the choices' texts are there, their ends are not.
    let finish = s.find(r#""finish_reason":"stop""#).unwrap();
    let cut = s[..finish].rfind("data: ").unwrap();
    let (e, _ctl) = engine_on_error(
        "closed",
        "hold",
        "EVIL",
        true,
        "    window_bytes: 4096\n    max_wait_ms: 20\n",
    );
    let upstream = Stalled(ChunkBody::new(&input[..cut], &[]));
    let (mut body, _sink) = open(e, path, upstream).await;
    let mut out = Vec::new();
    let got = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match body.frame().await {
                Some(Ok(f)) => {
                    out.extend_from_slice(&f.into_data().unwrap());
                    let texts = stream_texts(path, &decode(&out));
                    if texts.get("choice.1").is_some_and(|t| t.contains("console")) {
                        return texts;
                    }
                }
                other => panic!("the stream ended: {other:?}"),
            }
        }
    })
    .await
    .expect("held text released by the max_wait timer while the upstream stalls");
    assert!(got["choice.0"].contains("vault"), "{got:?}");
}
