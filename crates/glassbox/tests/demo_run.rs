//! `glassbox demo` end to end: mock model server, proxy, the demo's requests; what each client
//! received and what glassbox decided.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use glassbox::demo::{self, mock::Scenario, CASES, SENSITIVE};
use glassbox_core::audit::{MemorySink, NoAudit};
use glassbox_core::{Action, Policy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_blocks_what_it_should_and_leaks_nothing_the_engine_detects() {
    let events = Arc::new(MemorySink::default());
    let report = demo::run_cases(Arc::new(NoAudit), events.clone())
        .await
        .unwrap();
    assert_eq!(report.outcomes.len(), CASES.len());
    let engine = glassbox::build::engine(Policy::default_policy()).unwrap();
    for (i, o) in report.outcomes.iter().enumerate() {
        let n = i + 1;
        assert_eq!(
            o.answer.blocked,
            o.case.expect_block(),
            "#{n} {}: {:?}",
            o.case.label,
            o.answer
        );
        if o.case.expect_block() {
            assert_eq!(o.verdict, Some(Action::Block), "#{n}");
            let by = o.case.blocked_by.unwrap();
            assert!(o.categories.contains(by), "#{n}: {:?}", o.categories);
            assert!(!o.answer.text.contains("Nightingale"), "#{n}");
            continue;
        }
        assert_eq!(o.answer.status, 200, "#{n}: {:?}", o.answer);
        assert!(
            o.verdict.is_some(),
            "#{n}: every screened exchange is recorded"
        );
        // Whatever the engine finds in the whole answer text (masked or blocked) must not
        // reach the client on any path, streamed or not: the split secrets included.
        let text = o.case.scenario.text();
        let whole = engine.scan(text);
        for s in SENSITIVE {
            let Some(at) = text.find(s) else { continue };
            let covered = whole
                .findings
                .iter()
                .any(|f| f.action >= Action::Mask && f.start <= at && at + s.len() <= f.end);
            if covered {
                assert!(
                    !o.answer.text.contains(s) && !o.answer.raw.contains(s),
                    "#{n} leaked {s}"
                );
                assert!(
                    o.answer.text.contains("[REDACTED:"),
                    "#{n}: {}",
                    o.answer.text
                );
            }
        }
        if o.case.scenario == Scenario::Plain {
            assert_eq!(
                o.answer.text, text,
                "#{n}: a clean answer arrives unchanged"
            );
            assert_eq!(o.verdict, Some(Action::Allow), "#{n}");
        }
    }
    let table = demo::render(&report, false);
    assert!(table.contains("client received"), "{table}");
    assert!(table.lines().count() >= CASES.len() + 3, "{table}");
    assert!(
        report.metrics.contains("glassbox_requests_total"),
        "{}",
        report.metrics
    );
    assert!(!events.events().is_empty());
}
