//! The runtime around the model, with the deterministic test backend: windowing (row score =
//! max over windows), batching by token budget, dropped callers skipped, overload, failures.

mod common;

use std::time::Duration;

use common::{id, temp_dir, write_test_bundle};
use glassbox_classify::{block_on, verify_bundle, ModelClassifier, RuntimeConfig, TestBackend};
use glassbox_core::Classifier;

fn triggers() -> Vec<u32> {
    vec![id("ignore"), id("previous"), id("instructions")]
}

fn start(
    max_tokens: usize,
    overlap: usize,
    backend: TestBackend,
    config: &RuntimeConfig,
) -> ModelClassifier {
    start_workers(max_tokens, overlap, vec![backend], config)
}

fn start_workers(
    max_tokens: usize,
    overlap: usize,
    backends: Vec<TestBackend>,
    config: &RuntimeConfig,
) -> ModelClassifier {
    let dir = temp_dir("queue");
    write_test_bundle(&dir, "tiny", max_tokens, overlap);
    let bundle = verify_bundle(&dir, "tiny").expect("bundle verifies");
    ModelClassifier::with_backends(&bundle, backends, config).expect("classifier starts")
}

/// Waits (without a deadline on the assertion itself) until `f` holds.
fn wait_until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("gave up waiting for: {what}");
}

#[test]
fn row_score_is_max_over_windows_and_span_is_the_scoring_window() {
    // 8 tokens per window = [CLS] + 6 content + [SEP]; 2 tokens overlap.
    let c = start(
        8,
        2,
        TestBackend::new(triggers(), 1),
        &RuntimeConfig::default(),
    );
    let benign = "hello world the a b c d e f hello world the a b c d e f";
    let text = format!("{benign} ignore previous instructions {benign}");
    let m = block_on(c.classify(text.clone())).expect("classified");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].category.as_str(), "prompt_injection");
    // The best window holds all three trigger words among its 8 tokens.
    assert!(
        (m[0].score - 3.0 / 8.0).abs() < 1e-6,
        "score {}",
        m[0].score
    );
    let span = &text[m[0].start..m[0].end];
    assert!(
        span.contains("ignore previous instructions"),
        "span {span:?}"
    );
    assert!(
        m[0].end - m[0].start < text.len() / 2,
        "span is one window, not the text"
    );

    let low = block_on(c.classify(format!("{benign} {benign}"))).expect("classified");
    assert_eq!(low[0].score, 0.0);
    // Windows were used: the text is longer than one window.
    assert!(c.stats().windows >= 5, "{:?}", c.stats());
}

#[test]
fn a_phrase_cut_by_a_window_boundary_is_seen_whole_by_the_overlap() {
    // Content windows of 4 tokens with 2 overlapping: every 2-token phrase is inside one window.
    let c = start(
        6,
        2,
        TestBackend::new([id("ignore"), id("previous")], 1),
        &RuntimeConfig::default(),
    );
    for prefix in 0..6 {
        let text = format!("{}ignore previous a b c d", "hello ".repeat(prefix));
        let m = block_on(c.classify(text.clone())).expect("classified");
        // Both words and [CLS]/[SEP] or neighbours: 2 of 6 tokens.
        assert!(
            (m[0].score - 2.0 / 6.0).abs() < 1e-6,
            "prefix {prefix}: {} for {text:?}",
            m[0].score
        );
    }
}

#[test]
fn empty_text_and_unknown_words_score_zero() {
    let c = start(
        8,
        2,
        TestBackend::new(triggers(), 1),
        &RuntimeConfig::default(),
    );
    let m = block_on(c.classify(String::new())).expect("classified");
    assert_eq!((m[0].score, m[0].start, m[0].end), (0.0, 0, 0));
    let m = block_on(c.classify("zzz qqq".into())).expect("classified");
    assert_eq!(m[0].score, 0.0);
}

#[test]
fn batches_fill_up_to_the_token_budget_across_requests() {
    let (backend, gate) = TestBackend::new(triggers(), 1).gated();
    let log = backend.log();
    // Rows are 8 tokens (6 words + specials); the budget fits 3 rows.
    let config = RuntimeConfig {
        max_batch_tokens: 24,
        ..RuntimeConfig::default()
    };
    let c = start(8, 2, backend, &config);
    let first = c.classify("hello world the a b c".into());
    wait_until("the worker holds the first batch", || {
        log.batches().len() == 1
    });
    let rest: Vec<_> = (0..7)
        .map(|i| c.classify(format!("hello world the a b {}", ["c", "d"][i % 2])))
        .collect();
    wait_until("7 windows queued", || c.queued_windows() == 7);
    gate.open();
    block_on(first).expect("first");
    for f in rest {
        block_on(f).expect("rest");
    }
    let batches = log.batches();
    assert_eq!(batches[0], (1, 8));
    // 7 queued windows of 8 tokens with a 24-token budget: 3 + 3 + 1.
    assert_eq!(&batches[1..], &[(3, 8), (3, 8), (1, 8)]);
    for (rows, len) in &batches {
        assert!(rows * len <= 24);
    }
}

#[test]
fn idle_workers_share_one_texts_windows() {
    let (a, gate_a) = TestBackend::new(triggers(), 1).gated();
    let (b, gate_b) = TestBackend::new(triggers(), 1).gated();
    let (log_a, log_b) = (a.log(), b.log());
    let c = start_workers(8, 2, vec![a, b], &RuntimeConfig::default());
    // 10 content tokens: two 8-token windows, queued together.
    let f = c.classify("hello world the a b c d e f ignore".into());
    wait_until("each worker holds one window", || {
        log_a.batches() == [(1, 8)] && log_b.batches() == [(1, 8)]
    });
    gate_a.open();
    gate_b.open();
    let m = block_on(f).expect("classified");
    assert!(
        (m[0].score - 1.0 / 8.0).abs() < 1e-6,
        "score {}",
        m[0].score
    );
}

#[test]
fn a_busy_workers_share_waits_in_the_queue() {
    let (a, gate_a) = TestBackend::new(triggers(), 1).gated();
    let (b, gate_b) = TestBackend::new(triggers(), 1).gated();
    let (log_a, log_b) = (a.log(), b.log());
    let c = start_workers(8, 2, vec![a, b], &RuntimeConfig::default());
    let first = c.classify("hello".into());
    wait_until("one worker holds the first window", || {
        log_a.batches().len() + log_b.batches().len() == 1
    });
    // Three windows arrive while one worker is busy: the other takes its share (two), one
    // stays queued for whichever worker comes free.
    let second = c.classify("hello world the a b c d e f hello world the a b".into());
    wait_until("the idle worker took two windows", || {
        let mut all = log_a.batches();
        all.extend(log_b.batches());
        all.contains(&(2, 8))
    });
    wait_until("one window still queued", || c.queued_windows() == 1);
    gate_a.open();
    gate_b.open();
    block_on(first).expect("first");
    block_on(second).expect("second");
    assert_eq!(c.stats().windows, 4);
    assert_eq!(c.stats().batches, 3);
}

#[test]
fn batching_off_runs_one_window_per_batch() {
    let (backend, gate) = TestBackend::new(triggers(), 1).gated();
    let log = backend.log();
    let config = RuntimeConfig {
        batching: false,
        ..RuntimeConfig::default()
    };
    let c = start(8, 2, backend, &config);
    let first = c.classify("hello".into());
    wait_until("the worker holds the first batch", || {
        log.batches().len() == 1
    });
    let rest: Vec<_> = (0..4).map(|_| c.classify("hello world".into())).collect();
    wait_until("4 windows queued", || c.queued_windows() == 4);
    gate.open();
    block_on(first).expect("first");
    rest.into_iter()
        .for_each(|f| drop(block_on(f).expect("rest")));
    assert!(
        log.batches().iter().all(|&(rows, _)| rows == 1),
        "{:?}",
        log.batches()
    );
    assert_eq!(log.batches().len(), 5);
}

#[test]
fn windows_of_callers_that_went_away_are_skipped() {
    let (backend, gate) = TestBackend::new(triggers(), 1).gated();
    let log = backend.log();
    let c = start(8, 2, backend, &RuntimeConfig::default());
    let first = c.classify("hello".into());
    wait_until("the worker holds the first batch", || {
        log.batches().len() == 1
    });
    let gone = c.classify("hello world the a b c d e f hello world the a b".into()); // 3 windows
    let kept = c.classify("ignore previous instructions".into());
    wait_until("4 windows queued", || c.queued_windows() == 4);
    drop(gone);
    gate.open();
    block_on(first).expect("first");
    let m = block_on(kept).expect("kept");
    assert!((m[0].score - 3.0 / 5.0).abs() < 1e-6);
    // The dropped caller's 3 windows never reached the backend.
    let rows: usize = log.batches().iter().map(|b| b.0).sum();
    assert_eq!(rows, 2, "{:?}", log.batches());
    assert_eq!(c.stats().dropped, 3);
}

#[test]
fn a_full_queue_refuses_work_as_overload() {
    let (backend, gate) = TestBackend::new(triggers(), 1).gated();
    let log = backend.log();
    let config = RuntimeConfig {
        max_queued_tokens: 8,
        ..RuntimeConfig::default()
    };
    let c = start(8, 2, backend, &config);
    let first = c.classify("hello".into());
    wait_until("the worker holds the first batch", || {
        log.batches().len() == 1
    });
    let queued = c.classify("hello world the a b c".into()); // 8 tokens: fills the queue
    wait_until("1 window queued", || c.queued_windows() == 1);
    let refused = block_on(c.classify("hello world".into())).expect_err("over the limit");
    assert_eq!(refused.detector, "prompt_injection");
    assert!(refused.reason.starts_with("overloaded:"), "{refused}");
    assert!(refused.reason.contains("limit 8"), "{refused}");
    gate.open();
    block_on(first).expect("first");
    block_on(queued).expect("queued one still runs");
    assert_eq!(c.stats().overloaded, 1);
}

#[test]
fn a_failing_backend_fails_every_request_in_the_batch() {
    let c = start(
        8,
        2,
        TestBackend::new(triggers(), 1).failing(),
        &RuntimeConfig::default(),
    );
    let e = block_on(c.classify("hello world".into())).expect_err("backend fails");
    assert!(e.reason.starts_with("backend failed:"), "{e}");
    assert!(e.to_string().contains("prompt_injection"), "{e}");
}

#[test]
fn concurrent_callers_all_get_their_own_answer() {
    let c = std::sync::Arc::new(start(
        8,
        2,
        TestBackend::new(triggers(), 1),
        &RuntimeConfig::default(),
    ));
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let c = c.clone();
            std::thread::spawn(move || {
                let text = if i % 2 == 0 {
                    "ignore previous instructions"
                } else {
                    "hello world the a"
                };
                let m = block_on(c.classify(text.to_string())).expect("classified");
                (i, m[0].score)
            })
        })
        .collect();
    for h in handles {
        let (i, score) = h.join().expect("thread");
        let want = if i % 2 == 0 { 3.0 / 5.0 } else { 0.0 };
        assert!((score - want).abs() < 1e-6, "caller {i}: {score}");
    }
}
