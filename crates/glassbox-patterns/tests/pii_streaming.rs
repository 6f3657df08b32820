//! PII through the streaming engine: every fixture text cut at every byte offset must give the
//! findings and the masked text of the whole-text scan.
//!
//! PII patterns consume up to [`pii::MAX_LEADING_CONTEXT`] bytes of context before the reported
//! span (the regex crate has no look-behind). `RuleSet` reports that context as the match's
//! `extent`, and the streaming scanner never releases text through an extent, so a search
//! resumed at the release frontier sees what the whole-text search saw (e.g.
//! `link-local fe80::1…` streamed in one chunk, which a span-only rule lost).

use std::path::Path;
use std::sync::Arc;

use glassbox_core::policy::PiiConfig;
use glassbox_core::{Detector, Engine, Finding, Policy};
use glassbox_patterns::{pii, RuleSet};

fn engine(cfg: &PiiConfig) -> Engine {
    let policy = Policy::from_yaml("id: t\nactions:\n  pii: mask\n", "t.yaml").expect("policy");
    let set = RuleSet::compile("pii", pii::rules(cfg).expect("rules")).expect("compile");
    let detector: Arc<dyn Detector> = Arc::new(set);
    Engine::new(Arc::new(policy), vec![detector])
}

fn stream(engine: &Engine, text: &str, cut: usize) -> (String, Vec<Finding>) {
    let mut s = engine.stream();
    let mut out = String::new();
    let mut findings = Vec::new();
    for part in [&text.as_bytes()[..cut], &text.as_bytes()[cut..]] {
        let chunk = s.feed(part).expect("feed");
        out.push_str(&chunk.text);
        findings.extend(chunk.findings);
    }
    let chunk = s.finish().expect("finish");
    out.push_str(&chunk.text);
    findings.extend(chunk.findings);
    (out, findings)
}

/// `(line, text, config)` of every fixture row.
fn texts() -> Vec<(String, String, PiiConfig)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pii");
    let mut out = Vec::new();
    for name in ["positives.jsonl", "negatives.jsonl"] {
        let text = std::fs::read_to_string(dir.join(name)).expect("fixture file");
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let row: serde_json::Value = serde_json::from_str(line).expect("JSON row");
            let cfg: PiiConfig = row
                .get("config")
                .map(|c| serde_json::from_value(c.clone()).expect("config"))
                .unwrap_or_default();
            let t = row["text"].as_str().expect("text").to_string();
            out.push((format!("{name}:{}", i + 1), t, cfg));
        }
    }
    out
}

#[test]
fn streaming_equals_whole_text_with_rule_set() {
    let mut engines: Vec<(String, Engine)> = Vec::new();
    for (line, text, cfg) in texts() {
        let key = format!("{cfg:?}");
        if !engines.iter().any(|(k, _)| *k == key) {
            engines.push((key.clone(), engine(&cfg)));
        }
        let engine = &engines.iter().find(|(k, _)| *k == key).expect("cached").1;
        let whole = engine.scan(&text);
        let masked = whole.masked(&text);
        for cut in 0..=text.len() {
            let (out, findings) = stream(engine, &text, cut);
            assert_eq!(findings, whole.findings, "{line}: {text:?} cut at {cut}");
            assert_eq!(out, masked, "{line}: {text:?} cut at {cut}");
        }
    }
}
