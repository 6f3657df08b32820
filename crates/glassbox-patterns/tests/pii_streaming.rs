//! PII through the streaming engine: every fixture text cut at every byte offset must give the
//! findings and the masked text of the whole-text scan.
//!
//! PII patterns consume up to [`pii::MAX_LEADING_CONTEXT`] bytes of context before the reported
//! span (the regex crate has no look-behind). `Detector::detect(text, from)` must therefore
//! start its search that many bytes before `from` and keep the matches whose *reported span*
//! starts at or after `from`; `ContextualSearch` below does exactly that on top of a
//! `RuleSet` and passes. `RuleSet::detect` itself searches from `from`, so a value whose
//! leading context lies before the release frontier is lost (e.g. `link-local fe80::1…`
//! streamed in one chunk); that test is ignored until `RuleSet` adopts the same rule.

use std::path::Path;
use std::sync::Arc;

use glassbox_core::policy::PiiConfig;
use glassbox_core::{Category, Detector, DetectorError, Engine, Finding, Match, Policy};
use glassbox_patterns::{pii, RuleSet};

/// A `RuleSet` whose `detect(text, from)` searches from `from - MAX_LEADING_CONTEXT` and keeps
/// the matches whose reported span starts at or after `from` (a match whose span starts
/// earlier is skipped like a rejected one: the search resumes at its next character).
struct ContextualSearch {
    set: RuleSet,
    regexes: Vec<(Category, regex::Regex)>,
}

impl ContextualSearch {
    fn new(set: RuleSet) -> Self {
        let regexes = set
            .rules()
            .iter()
            .map(|r| {
                let cat = Category::new(format!("pii.{}", r.kind)).expect("category");
                (cat, r.compile().expect("regex"))
            })
            .collect();
        ContextualSearch { set, regexes }
    }
}

impl Detector for ContextualSearch {
    fn name(&self) -> &str {
        "pii"
    }

    fn detect(&self, text: &str, from: usize, out: &mut Vec<Match>) -> Result<(), DetectorError> {
        let mut start = from.saturating_sub(pii::MAX_LEADING_CONTEXT);
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let next = |i: usize| {
            text[i..]
                .chars()
                .next()
                .map_or(text.len() + 1, |c| i + c.len_utf8())
        };
        for (rule, (category, re)) in self.set.rules().iter().zip(&self.regexes) {
            let group = re.capture_names().position(|n| n == Some("s"));
            let mut at = start;
            while at <= text.len() {
                let Some(caps) = re.captures_at(text, at) else {
                    break;
                };
                let whole = caps.get(0).expect("group 0");
                let span = group.and_then(|g| caps.get(g)).unwrap_or(whole);
                if span.start() >= from && rule.accepts(span.as_str()) {
                    out.push(Match {
                        start: span.start(),
                        end: span.end(),
                        category: category.clone(),
                        score: rule.score,
                    });
                    at = if whole.end() > whole.start() {
                        whole.end()
                    } else {
                        next(whole.end())
                    };
                } else {
                    at = next(whole.start());
                }
            }
        }
        Ok(())
    }

    fn live_from(&self, text: &str, from: usize) -> usize {
        self.set.live_from(text, from)
    }

    fn max_match_len(&self) -> usize {
        self.set.max_match_len()
    }

    fn lookbehind(&self) -> usize {
        pii::MAX_LEADING_CONTEXT
    }
}

fn engine(cfg: &PiiConfig, contextual: bool) -> Engine {
    let policy = Policy::from_yaml("id: t\nactions:\n  pii: mask\n", "t.yaml").expect("policy");
    let set = RuleSet::compile("pii", pii::rules(cfg).expect("rules")).expect("compile");
    let detector: Arc<dyn Detector> = if contextual {
        Arc::new(ContextualSearch::new(set))
    } else {
        Arc::new(set)
    };
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

fn every_split_point_equals_whole_text(contextual: bool) {
    let mut engines: Vec<(String, Engine)> = Vec::new();
    for (line, text, cfg) in texts() {
        let key = format!("{cfg:?}");
        if !engines.iter().any(|(k, _)| *k == key) {
            engines.push((key.clone(), engine(&cfg, contextual)));
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

#[test]
fn streaming_equals_whole_text_with_contextual_search() {
    every_split_point_equals_whole_text(true);
}

#[test]
#[ignore = "RuleSet::detect searches from `from` and loses leading context; see module docs"]
fn streaming_equals_whole_text_with_rule_set() {
    every_split_point_equals_whole_text(false);
}
