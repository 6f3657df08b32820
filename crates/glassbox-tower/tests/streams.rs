//! Streamed answers through the layer: every fixture (OpenAI Chat with `n = 2` and tool calls,
//! OpenAI Responses, Anthropic Messages) replayed at every chunk split point. A secret split
//! across two, three or many events never shows in any emitted byte; the text each stream
//! delivers equals the whole-text masked text; a block ends in the protocol's terminal form; a
//! clean stream passes byte for byte; every end is recorded exactly once.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use glassbox_core::audit::{Direction, MemorySink, Outcome};
use glassbox_core::{Action, Detector, DetectorError, Engine, Match};
use glassbox_tower::{ScreenLayer, TimedOut};
use http::Request;
use http_body::Body as _;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tower::{Layer, ServiceExt};

const SECRET_FIXTURES: &[(&str, &str)] = &[
    ("openai_chat_n2.sse", "/v1/chat/completions"),
    ("openai_chat_tools.sse", "/v1/chat/completions"),
    ("anthropic_messages.sse", "/v1/messages"),
    ("openai_responses.sse", "/v1/responses"),
];

const CLEAN_FIXTURES: &[(&str, &str)] = &[
    ("clean_openai_chat_n2.sse", "/v1/chat/completions"),
    ("clean_anthropic_messages.sse", "/v1/messages"),
    ("clean_openai_responses.sse", "/v1/responses"),
];

fn expected_texts(engine: &Engine, path: &str, input: &[u8]) -> BTreeMap<String, String> {
    stream_texts(path, &decode(input))
        .into_iter()
        .map(|(k, t)| {
            let masked = engine.scan(&t).masked(&t);
            (k, masked)
        })
        .collect()
}

/// Protocol checks on the emitted stream beyond the texts.
fn check_protocol(path: &str, out: &[u8], expected: &BTreeMap<String, String>, ctx: &str) {
    let events = decode(out);
    if path.ends_with("/responses") {
        let mut last = -1i64;
        for (name, data) in &events {
            let v: Value = serde_json::from_str(data).unwrap();
            assert_eq!(name.as_deref(), v["type"].as_str(), "{ctx}: event name");
            let n = v["sequence_number"].as_i64().unwrap();
            assert!(
                n > last,
                "{ctx}: sequence numbers increase ({last} then {n})"
            );
            last = n;
            match v["type"].as_str().unwrap() {
                "response.output_text.done" => {
                    assert_eq!(
                        v["text"].as_str(),
                        Some(expected["output.0.0"].as_str()),
                        "{ctx}"
                    )
                }
                "response.function_call_arguments.done" => assert_eq!(
                    v["arguments"].as_str(),
                    Some(expected["output.1.arguments"].as_str()),
                    "{ctx}"
                ),
                "response.completed" => {
                    let out = &v["response"]["output"];
                    assert_eq!(
                        out[0]["content"][0]["text"].as_str(),
                        Some(expected["output.0.0"].as_str()),
                        "{ctx}"
                    );
                    assert_eq!(
                        out[1]["arguments"].as_str(),
                        Some(expected["output.1.arguments"].as_str()),
                        "{ctx}"
                    );
                }
                _ => {}
            }
        }
        assert_eq!(
            events.last().unwrap().0.as_deref(),
            Some("response.completed"),
            "{ctx}"
        );
    } else if path.ends_with("/messages") {
        assert_eq!(
            events.last().unwrap().0.as_deref(),
            Some("message_stop"),
            "{ctx}"
        );
    } else {
        assert_eq!(events.last().unwrap().1, "[DONE]", "{ctx}");
    }
}

#[test]
fn every_split_point_masks_secrets_and_keeps_the_protocol() {
    let engine = mask_engine();
    block_on(async {
        for (name, path) in SECRET_FIXTURES {
            let input = fixture(name);
            let expected = expected_texts(&engine, path, &input);
            assert!(
                expected
                    .values()
                    .any(|t| t.contains("[REDACTED:secret.github_token]")),
                "{name}: the fixture has a secret"
            );
            for cut in 0..=input.len() {
                let ctx = format!("{name} cut at {cut}");
                let (out, events) =
                    run_stream(engine.clone(), path, ChunkBody::new(&input, &[cut])).await;
                assert_no_run_of(TOKEN, &out, 6, &ctx);
                assert_no_run_of(AWS, &out, 6, &ctx);
                assert_eq!(stream_texts(path, &decode(&out)), expected, "{ctx}");
                check_protocol(path, &out, &expected, &ctx);
                let responses: Vec<_> = events
                    .iter()
                    .filter(|e| e.direction == Direction::Response)
                    .collect();
                assert_eq!(responses.len(), 1, "{ctx}: one response decision");
                assert_eq!(responses[0].outcome, Outcome::Completed, "{ctx}");
                assert_eq!(responses[0].verdict, Action::Mask, "{ctx}");
            }
        }
    });
}

#[test]
fn secrets_split_byte_by_byte_and_at_pairs_of_points() {
    let engine = mask_engine();
    block_on(async {
        for (name, path) in SECRET_FIXTURES {
            let input = fixture(name);
            let expected = expected_texts(&engine, path, &input);
            // Every byte its own chunk.
            let cuts: Vec<usize> = (1..input.len()).collect();
            let (out, _) = run_stream(engine.clone(), path, ChunkBody::new(&input, &cuts)).await;
            assert_no_run_of(TOKEN, &out, 6, name);
            assert_eq!(
                stream_texts(path, &decode(&out)),
                expected,
                "{name} byte by byte"
            );
            // Pairs of cut points, strided to keep the run short.
            for a in (0..input.len()).step_by(211) {
                for b in (a..=input.len()).step_by(97) {
                    let ctx = format!("{name} cuts {a} {b}");
                    let (out, _) =
                        run_stream(engine.clone(), path, ChunkBody::new(&input, &[a, b])).await;
                    assert_no_run_of(TOKEN, &out, 6, &ctx);
                    assert_no_run_of(AWS, &out, 6, &ctx);
                    assert_eq!(stream_texts(path, &decode(&out)), expected, "{ctx}");
                }
            }
        }
    });
}

#[test]
fn clean_streams_keep_every_event_and_field() {
    let engine = secrets_only_engine();
    block_on(async {
        for (name, path) in CLEAN_FIXTURES {
            let input = fixture(name);
            for cut in 0..=input.len() {
                let (out, events) =
                    run_stream(engine.clone(), path, ChunkBody::new(&input, &[cut])).await;
                // Every event, id and field passes; the only change allowed is the normaliser's
                // one-character hold: an event whose text ends in a letter (a combining mark
                // could still follow) hands that character to the next event of its stream. So
                // events may differ only inside one string value (no `"` in what differs), and
                // each stream's text is unchanged.
                let (want, got) = (decode(&input), decode(&out));
                assert_eq!(got.len(), want.len(), "{name} cut at {cut}: event count");
                for (k, (w, g)) in want.iter().zip(&got).enumerate() {
                    assert_eq!(w.0, g.0, "{name} cut at {cut}: event {k} name");
                    let (w, g) = (w.1.as_bytes(), g.1.as_bytes());
                    let pre = w.iter().zip(g).take_while(|(a, b)| a == b).count();
                    let suf = w[pre..]
                        .iter()
                        .rev()
                        .zip(g[pre..].iter().rev())
                        .take_while(|(a, b)| a == b)
                        .count();
                    let (dw, dg) = (&w[pre..w.len() - suf], &g[pre..g.len() - suf]);
                    assert!(
                        !dw.contains(&b'"')
                            && !dg.contains(&b'"')
                            && dw.len().abs_diff(dg.len()) <= 8,
                        "{name} cut at {cut}: event {k} changed beyond its text:\n{}\n{}",
                        String::from_utf8_lossy(w),
                        String::from_utf8_lossy(g)
                    );
                }
                assert_eq!(
                    stream_texts(path, &got),
                    stream_texts(path, &want),
                    "{name} cut at {cut}"
                );

                let r = events
                    .iter()
                    .find(|e| e.direction == Direction::Response)
                    .unwrap();
                assert_eq!(r.verdict, Action::Allow);
                assert_eq!(r.coverage.bytes_screened, r.coverage.bytes_released);
            }
        }
    });
}

#[test]
fn clean_streams_keep_their_text_when_prose_is_held_back() {
    // With the email rule every word end may start a match, so text moves between events;
    // the framing and the text stay.
    let engine = mask_engine();
    block_on(async {
        for (name, path) in CLEAN_FIXTURES {
            let input = fixture(name);
            let (out, _) = run_stream(engine.clone(), path, ChunkBody::new(&input, &[])).await;
            let want = decode(&input);
            let got = decode(&out);
            assert_eq!(
                stream_texts(path, &got),
                expected_texts(&engine, path, &input),
                "{name}"
            );
            let names = |e: &[(Option<String>, String)]| {
                e.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
            };
            if !path.ends_with("/responses") {
                // Responses may gain synthesised deltas before `.done`; the others keep their count
                // when the last delta of each stream carries the rest.
                assert!(got.len() >= want.len(), "{name}");
            }
            assert_eq!(names(&got).last(), names(&want).last(), "{name}");
        }
    });
}

#[test]
fn block_ends_each_protocol_in_its_terminal_form() {
    let engine = block_engine();
    block_on(async {
        for (name, path) in SECRET_FIXTURES {
            let input = fixture(name);
            for cut in (0..=input.len()).step_by(7) {
                let ctx = format!("{name} cut at {cut}");
                let (out, events) =
                    run_stream(engine.clone(), path, ChunkBody::new(&input, &[cut])).await;
                assert_no_run_of(TOKEN, &out, 6, &ctx);
                assert_no_run_of(AWS, &out, 6, &ctx);
                let evs = decode(&out);
                let (last_name, last) = evs.last().unwrap();
                if path.ends_with("/messages") {
                    assert_eq!(last_name.as_deref(), Some("error"), "{ctx}");
                    let v: Value = serde_json::from_str(last).unwrap();
                    assert_eq!(v["type"], "error");
                    assert_eq!(v["error"]["type"], "invalid_request_error");
                    let msg = v["error"]["message"].as_str().unwrap();
                    assert!(
                        msg.contains("secret.github_token")
                            || msg.contains("secret.aws_access_key_id"),
                        "{ctx}: {msg}"
                    );
                } else if path.ends_with("/responses") {
                    assert_eq!(last_name.as_deref(), Some("error"), "{ctx}");
                    let v: Value = serde_json::from_str(last).unwrap();
                    assert_eq!(v["code"], "content_filter");
                    assert_eq!(v["error"]["code"], "content_filter");
                } else {
                    assert_eq!(last, "[DONE]", "{ctx}");
                    let v: Value = serde_json::from_str(&evs[evs.len() - 2].1).unwrap();
                    assert_eq!(v["choices"][0]["finish_reason"], "content_filter", "{ctx}");
                }
                // The text before the secret was delivered.
                let texts = stream_texts(path, &evs);
                assert!(
                    texts.values().any(|t| t.contains("oken")),
                    "{ctx}: {texts:?}"
                );
                let r: Vec<_> = events
                    .iter()
                    .filter(|e| e.direction == Direction::Response)
                    .collect();
                assert_eq!(r.len(), 1, "{ctx}");
                assert_eq!(r[0].outcome, Outcome::Blocked, "{ctx}");
                assert_eq!(r[0].verdict, Action::Block, "{ctx}");
            }
        }
    });
}

#[test]
fn upstream_error_and_timeout_end_the_stream_and_are_recorded() {
    let input = fixture("openai_chat_n2.sse");
    // Cut inside the token: the held part must not leak when the upstream fails there.
    let cut = std::str::from_utf8(&input).unwrap().find("mW4vB8").unwrap();
    let cases: Vec<(glassbox_tower::BoxError, Outcome)> = vec![
        ("connection reset".into(), Outcome::UpstreamError),
        (Box::new(TimedOut), Outcome::Timeout),
        (
            Box::new(std::io::Error::new(std::io::ErrorKind::TimedOut, "read")),
            Outcome::Timeout,
        ),
    ];
    block_on(async {
        for (err, outcome) in cases {
            let mut body = ChunkBody::new(&input[..cut], &[]);
            body = body.failing(err);
            let (out, events) = run_stream(mask_engine(), "/v1/chat/completions", body).await;
            assert_no_run_of(TOKEN, &out, 6, "upstream error");
            let evs = decode(&out);
            let v: Value = serde_json::from_str(&evs.last().unwrap().1).unwrap();
            assert_eq!(v["error"]["code"], "upstream_error");
            let r: Vec<_> = events
                .iter()
                .filter(|e| e.direction == Direction::Response)
                .collect();
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].outcome, outcome);
        }
        let input = fixture("anthropic_messages.sse");
        let body = ChunkBody::new(&input[..200], &[]).failing("reset".into());
        let (out, _) = run_stream(mask_engine(), "/v1/messages", body).await;
        let evs = decode(&out);
        assert_eq!(evs.last().unwrap().0.as_deref(), Some("error"));
        assert!(evs.last().unwrap().1.contains("api_error"));
    });
}

#[test]
fn client_disconnect_is_recorded_once_from_drop() {
    let input = fixture("openai_chat_n2.sse");
    block_on(async {
        let sink = Arc::new(MemorySink::default());
        let heard = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let h = heard.clone();
        let layer = ScreenLayer::new(mask_engine())
            .audit_sink(sink.clone())
            .on_decision(move |_: &glassbox_core::DecisionEvent| {
                h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        let input2 = input.clone();
        let inner = tower::service_fn(move |_req: Request<Full<Bytes>>| {
            let cuts: Vec<usize> = (1..input2.len()).step_by(50).collect();
            let b = ChunkBody::new(&input2, &cuts);
            async move { Ok::<_, std::convert::Infallible>(sse_response(b)) }
        });
        let req = Request::post("/v1/chat/completions")
            .body(Full::new(Bytes::from(request_body(
                "/v1/chat/completions",
                true,
            ))))
            .unwrap();
        let res = layer.layer(inner).oneshot(req).await.unwrap();
        let mut body = res.into_body();
        // Read until some answer text has gone out, then go away.
        let mut got = Vec::new();
        while !String::from_utf8_lossy(&got).contains("Here is") {
            let frame = body.frame().await.unwrap().unwrap();
            got.extend_from_slice(frame.data_ref().unwrap());
        }
        assert_eq!(
            sink.events()
                .iter()
                .filter(|e| e.direction == Direction::Response)
                .count(),
            0
        );
        drop(body);
        let r: Vec<_> = sink
            .events()
            .into_iter()
            .filter(|e| e.direction == Direction::Response)
            .collect();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].outcome, Outcome::ClientDisconnected);
        // The hook heard the request and the response decision, once each.
        assert_eq!(heard.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert!(r[0].coverage.bytes_screened > 0);
        assert!(r[0].coverage.bytes_released <= r[0].coverage.bytes_screened);
    });
}

#[test]
fn audit_records_coverage_and_digests_per_stream() {
    struct Sum(u64);
    impl glassbox_core::audit::ContentDigester for Sum {
        fn update(&mut self, bytes: &[u8]) {
            self.0 += bytes.iter().map(|&b| u64::from(b)).sum::<u64>();
        }
        fn finish(self: Box<Self>) -> String {
            format!("{:x}", self.0)
        }
    }
    struct Sink(MemorySink);
    impl glassbox_core::AuditSink for Sink {
        fn record(&self, e: glassbox_core::DecisionEvent) {
            self.0.record(e)
        }
        fn digester(&self) -> Option<Box<dyn glassbox_core::audit::ContentDigester>> {
            Some(Box::new(Sum(0)))
        }
    }
    let input = fixture("openai_chat_n2.sse");
    block_on(async {
        let sink = Arc::new(Sink(MemorySink::default()));
        let layer = ScreenLayer::new(mask_engine())
            .audit_sink(sink.clone())
            .on_decision(());
        let inner = tower::service_fn(move |_req: Request<Full<Bytes>>| {
            let b = ChunkBody::new(&input, &[100, 900]);
            async move { Ok::<_, std::convert::Infallible>(sse_response(b)) }
        });
        let req = Request::post("/v1/chat/completions")
            .header("x-request-id", "req-42")
            .body(Full::new(Bytes::from(request_body(
                "/v1/chat/completions",
                true,
            ))))
            .unwrap();
        let res = layer.layer(inner).oneshot(req).await.unwrap();
        let _ = res.into_body().collect().await.unwrap();
        let events = sink.0.events();
        assert_eq!(events.len(), 2);
        let (req, res) = (&events[0], &events[1]);
        assert_eq!(req.direction, Direction::Request);
        assert_eq!(req.request_id, "req-42");
        assert_eq!(res.request_id, "req-42");
        assert_eq!(res.route, "/v1/chat/completions");
        assert_eq!(res.policy_id, "mask");
        assert_eq!(req.content_digests[0].part, "request");
        let parts: Vec<&str> = res
            .content_digests
            .iter()
            .map(|d| d.part.as_str())
            .collect();
        assert_eq!(parts, ["choice.0", "choice.1"]);
        let cats: Vec<&str> = res.findings.iter().map(|f| f.category.as_str()).collect();
        assert!(
            cats.contains(&"secret.github_token")
                && cats.contains(&"secret.aws_access_key_id")
                && cats.contains(&"pii.email"),
            "{cats:?}"
        );
        let gh = res
            .findings
            .iter()
            .find(|f| f.category == "secret.github_token")
            .unwrap();
        assert_eq!(gh.len, TOKEN.len() as u64);
        assert!(res.coverage.max_holdback > 0);
        assert!(res.coverage.max_holdback <= mask_engine().max_holdback() as u64);
        assert_eq!(res.coverage.bytes_screened, res.coverage.bytes_released);
        assert_eq!(
            res.content_digests.iter().map(|d| d.bytes).sum::<u64>(),
            res.coverage.bytes_screened
        );
    });
}

/// A detector that fails on texts mentioning a vault (the clean fixtures' answers do, the
/// requests do not), to exercise `on_error`.
struct Broken;

impl Detector for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn detect(&self, text: &str, _: usize, _: &mut Vec<Match>) -> Result<(), DetectorError> {
        if text.contains("vault") {
            Err(DetectorError::new("broken", "model file missing"))
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

#[test]
fn detector_failure_follows_on_error_in_streams() {
    let input = fixture("clean_openai_chat_n2.sse");
    block_on(async {
        let closed = engine_with(
            "id: closed\non_error: closed\nactions:\n  secret: mask\n",
            vec![Arc::new(Broken)],
        );
        let (out, events) =
            run_stream(closed, "/v1/chat/completions", ChunkBody::new(&input, &[])).await;
        let evs = decode(&out);
        assert_eq!(evs.last().unwrap().1, "[DONE]");
        assert!(out.windows(14).any(|w| w == b"content_filter"));
        let r = events
            .iter()
            .find(|e| e.direction == Direction::Response)
            .unwrap();
        assert_eq!(r.outcome, Outcome::Error);

        let open = engine_with(
            "id: open\non_error: open\nactions:\n  secret: mask\n",
            vec![Arc::new(Broken)],
        );
        let (out, events) =
            run_stream(open, "/v1/chat/completions", ChunkBody::new(&input, &[])).await;
        assert_eq!(
            stream_texts("/v1/chat/completions", &decode(&out)),
            stream_texts("/v1/chat/completions", &decode(&input))
        );
        let r = events
            .iter()
            .find(|e| e.direction == Direction::Response)
            .unwrap();
        assert_eq!(r.outcome, Outcome::Completed);
        assert!(!r.fail_open.is_empty());
        assert_eq!(r.fail_open[0].detector, "broken");
    });
}

#[test]
fn nothing_waits_for_more_upstream_data_than_the_hold_back_needs() {
    // The upstream stops after the event that ends "…safe." of choice 1 and goes quiet: every
    // event received so far must have gone out, with all text the scanners can release.
    let input = fixture("openai_chat_n2.sse");
    let text = std::str::from_utf8(&input).unwrap();
    let stop = text.find(" today.").unwrap();
    let stop = stop + text[stop..].find("\n\n").unwrap() + 2;
    block_on(async {
        let layer = ScreenLayer::new(mask_engine()).on_decision(());
        let head = input[..stop].to_vec();
        let inner = tower::service_fn(move |_req: Request<Full<Bytes>>| {
            let cuts: Vec<usize> = (1..head.len()).step_by(13).collect();
            let body = Stalled(ChunkBody::new(&head, &cuts));
            async move {
                Ok::<_, std::convert::Infallible>(
                    http::Response::builder()
                        .header("content-type", "text/event-stream")
                        .body(body)
                        .unwrap(),
                )
            }
        });
        let req = Request::post("/v1/chat/completions")
            .body(Full::new(Bytes::from(request_body(
                "/v1/chat/completions",
                true,
            ))))
            .unwrap();
        let res = layer.layer(inner).oneshot(req).await.unwrap();
        let mut body = std::pin::pin!(res.into_body());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut out = Vec::new();
        while let std::task::Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
            out.extend_from_slice(frame.unwrap().data_ref().unwrap());
        }
        let got = stream_texts("/v1/chat/completions", &decode(&out));
        // Exactly what a scanner fed the same text releases: nothing waits for more.
        let engine = mask_engine();
        for (k, t) in stream_texts("/v1/chat/completions", &decode(&input[..stop])) {
            let mut s = engine.stream();
            let released = s.feed_str(&t).text;
            assert_eq!(got[&k], released, "{k}");
            assert!(s.held() < t.len(), "{k}: most of the text is out");
        }
        assert!(got["choice.1"].starts_with("Your key id is [REDACTED:secret.aws_access_key_id]"));
        assert_eq!(
            decode(&out).len(),
            decode(&input[..stop]).len(),
            "every event received went out"
        );
    });
}

#[test]
fn raw_content_is_handed_over_only_when_the_sink_asks() {
    struct RawSink(MemorySink);
    impl glassbox_core::AuditSink for RawSink {
        fn record(&self, e: glassbox_core::DecisionEvent) {
            self.0.record(e)
        }
        fn wants_raw_content(&self) -> bool {
            true
        }
    }
    let input = fixture("openai_chat_n2.sse");
    block_on(async {
        let sink = Arc::new(RawSink(MemorySink::default()));
        let layer = ScreenLayer::new(mask_engine())
            .audit_sink(sink.clone())
            .on_decision(());
        let inner = tower::service_fn(move |_req: Request<Full<Bytes>>| {
            let b = ChunkBody::new(&input, &[]);
            async move { Ok::<_, std::convert::Infallible>(sse_response(b)) }
        });
        let req = Request::post("/v1/chat/completions")
            .body(Full::new(Bytes::from(request_body(
                "/v1/chat/completions",
                true,
            ))))
            .unwrap();
        let res = layer.layer(inner).oneshot(req).await.unwrap();
        let _ = res.into_body().collect().await.unwrap();
        let events = sink.0.events();
        assert_eq!(
            events[0].raw_content,
            [("request".to_string(), "hello".to_string())]
        );
        let parts: Vec<&str> = events[1]
            .raw_content
            .iter()
            .map(|(p, _)| p.as_str())
            .collect();
        assert_eq!(parts, ["choice.0", "choice.1"]);
        assert!(
            events[1].raw_content[0].1.contains(TOKEN),
            "the original text, for the sink to encrypt"
        );
    });
    // The default sink gets none.
    let (_, events) = block_on(run_stream(
        mask_engine(),
        "/v1/chat/completions",
        ChunkBody::new(&fixture("openai_chat_n2.sse"), &[]),
    ));
    assert!(events.iter().all(|e| e.raw_content.is_empty()));
}

/// The offsets just after each event of an SSE text (LF or CRLF framing), but not its end.
fn event_ends(input: &[u8]) -> Vec<usize> {
    let text = std::str::from_utf8(input).unwrap();
    let sep = if text.contains("\r\n\r\n") {
        "\r\n\r\n"
    } else {
        "\n\n"
    };
    text.match_indices(sep)
        .map(|(i, _)| i + sep.len())
        .filter(|&i| i < input.len())
        .collect()
}

/// Polls `body` until it is pending or over (the upstreams here never register a waker); the
/// data frames it gave and whether it ended.
fn poll_ready_frames<B>(body: &mut std::pin::Pin<&mut B>) -> (Vec<Bytes>, bool)
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut frames = Vec::new();
    loop {
        match body.as_mut().poll_frame(&mut cx) {
            std::task::Poll::Ready(Some(f)) => {
                frames.push(f.unwrap().into_data().unwrap());
            }
            std::task::Poll::Ready(None) => return (frames, true),
            std::task::Poll::Pending => return (frames, false),
        }
    }
}

/// The layer in front of an upstream answering `body` to one streamed request on `path`.
async fn screened<B>(engine: Engine, path: &str, body: B) -> glassbox_tower::ScreenBody<B>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<glassbox_tower::BoxError>,
{
    let layer = ScreenLayer::new(engine).on_decision(());
    let body = Arc::new(std::sync::Mutex::new(Some(body)));
    let inner = tower::service_fn(move |_req: Request<Full<Bytes>>| {
        let b = body.lock().unwrap().take().unwrap();
        async move {
            Ok::<_, std::convert::Infallible>(
                http::Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(b)
                    .unwrap(),
            )
        }
    });
    let req = Request::post(path)
        .body(Full::new(Bytes::from(request_body(path, true))))
        .unwrap();
    layer.layer(inner).oneshot(req).await.unwrap().into_body()
}

#[test]
fn upstream_frames_ready_together_leave_as_one_frame() {
    // An upstream that has every event ready at once (one chunk per event, as hyper hands a
    // read of many events over): the client gets one frame, the same bytes as when the events
    // came in one chunk.
    let engine = mask_engine();
    block_on(async {
        for (name, path) in CLEAN_FIXTURES.iter().chain(SECRET_FIXTURES) {
            let input = fixture(name);
            let cuts = event_ends(&input);
            assert!(cuts.len() > 10, "{name}: many events");
            let body = screened(engine.clone(), path, ChunkBody::new(&input, &cuts)).await;
            let mut body = std::pin::pin!(body);
            let (frames, ended) = poll_ready_frames(&mut body);
            assert!(ended, "{name}");
            assert_eq!(
                frames.len(),
                1,
                "{name}: {} events in one frame",
                cuts.len() + 1
            );
            let (whole, _) = run_stream(engine.clone(), path, ChunkBody::new(&input, &[])).await;
            assert_eq!(frames[0], whole, "{name}");
        }
    });
}

#[test]
fn a_long_burst_is_cut_into_frames_of_at_most_max_frame() {
    // 2 000 clean content events (~270 KB) ready at once: frames stop growing at MAX_FRAME
    // (overshooting by at most one event), and nothing is lost or reordered.
    let head = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"#;
    let tail = r#"},"finish_reason":null}]}"#;
    let mut input = Vec::new();
    let mut cuts = Vec::new();
    for i in 0..2000 {
        input.extend_from_slice(format!("{head}\"word{i} and more words \"{tail}\n\n").as_bytes());
        cuts.push(input.len());
    }
    cuts.pop();
    input.extend_from_slice(b"data: [DONE]\n\n");
    let path = "/v1/chat/completions";
    block_on(async {
        let body = screened(secrets_only_engine(), path, ChunkBody::new(&input, &cuts)).await;
        let mut body = std::pin::pin!(body);
        let (frames, ended) = poll_ready_frames(&mut body);
        assert!(ended);
        let out: Vec<u8> = frames.iter().flat_map(|f| f.iter().copied()).collect();
        assert!(
            frames.len() >= input.len() / glassbox_tower::MAX_FRAME,
            "{}",
            frames.len()
        );
        for f in &frames[..frames.len() - 1] {
            assert!(
                (glassbox_tower::MAX_FRAME..glassbox_tower::MAX_FRAME + 200).contains(&f.len()),
                "{}",
                f.len()
            );
        }
        assert_eq!(decode(&out).len(), decode(&input).len());
        assert_eq!(
            stream_texts(path, &decode(&out)),
            stream_texts(path, &decode(&input))
        );
    });
}

/// An upstream the test feeds by hand: `Pending` while nothing is queued and it is open.
#[derive(Clone, Default)]
struct Queue(Arc<std::sync::Mutex<(std::collections::VecDeque<Bytes>, bool)>>);

impl Queue {
    fn push(&self, chunk: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .0
            .push_back(Bytes::copy_from_slice(chunk));
    }
    fn close(&self) {
        self.0.lock().unwrap().1 = true;
    }
}

impl http_body::Body for Queue {
    type Data = Bytes;
    type Error = glassbox_tower::BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let mut q = self.0.lock().unwrap();
        match q.0.pop_front() {
            Some(c) => std::task::Poll::Ready(Some(Ok(http_body::Frame::data(c)))),
            None if q.1 => std::task::Poll::Ready(None),
            None => std::task::Poll::Pending,
        }
    }
}

#[test]
fn what_is_ready_goes_out_when_the_upstream_is_pending() {
    // Three bursts with the upstream pending between them: each burst's events go out, merged,
    // at the poll that finds the upstream pending; nothing waits for the next burst.
    let engine = secrets_only_engine();
    let path = "/v1/chat/completions";
    let input = fixture("clean_openai_chat_n2.sse");
    let mut ends = vec![0];
    ends.extend(event_ends(&input));
    ends.push(input.len());
    let n = ends.len() - 1;
    let bursts = [0, 3, n / 2, n];
    block_on(async {
        let upstream = Queue::default();
        let body = screened(engine, path, upstream.clone()).await;
        let mut body = std::pin::pin!(body);
        let (frames, ended) = poll_ready_frames(&mut body);
        assert!(frames.is_empty() && !ended, "nothing yet");
        let mut out = Vec::new();
        for w in bursts.windows(2) {
            for e in w[0]..w[1] {
                upstream.push(&input[ends[e]..ends[e + 1]]);
            }
            let last = w[1] == n;
            if last {
                upstream.close();
            }
            let (frames, ended) = poll_ready_frames(&mut body);
            assert_eq!(ended, last, "events {}..{}", w[0], w[1]);
            assert_eq!(frames.len(), 1, "events {}..{}: one frame", w[0], w[1]);
            let got = decode(&frames[0]).len();
            let sent = decode(&input[ends[w[0]]..ends[w[1]]]).len();
            assert_eq!(got, sent, "events {}..{}: every event went out", w[0], w[1]);
            out.extend_from_slice(&frames[0]);
        }
        assert_eq!(
            stream_texts(path, &decode(&out)),
            stream_texts(path, &decode(&input))
        );
    });
}

#[test]
fn an_anthropic_event_repeating_its_text_cannot_be_screened() {
    // `"text"` twice: SDKs differ on which one they show, so neither may pass unscreened. The
    // stream ends in Anthropic's error form and the decision records the failure.
    let input = format!(
        "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"msg_1\",\"role\":\"assistant\",\"content\":[]}}}}\n\n\
         event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"text\",\"text\":\"\"}}}}\n\n\
         event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"Hello \"}}}}\n\n\
         event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"fine\",\"text\":\"{AWS}\"}}}}\n\n\
         event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":0}}\n\n\
         event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
    );
    block_on(async {
        let (out, events) = run_stream(
            mask_engine(),
            "/v1/messages",
            ChunkBody::new(input.as_bytes(), &[]),
        )
        .await;
        assert_no_run_of(AWS, &out, 6, "repeated member");
        let decoded = decode(&out);
        let (name, data) = decoded.last().unwrap();
        assert_eq!(
            name.as_deref(),
            Some("error"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        assert!(data.contains("could not be screened"), "{data}");
        assert!(
            !decoded
                .iter()
                .any(|(n, _)| n.as_deref() == Some("message_stop")),
            "nothing after the error"
        );
        let r = events
            .iter()
            .find(|e| e.direction == Direction::Response)
            .unwrap();
        assert_eq!(r.verdict, Action::Block);
        assert_eq!(r.outcome, Outcome::Error, "fail-closed, not a policy block");
    });
}
