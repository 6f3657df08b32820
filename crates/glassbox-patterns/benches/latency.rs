//! Per-text latency percentiles (criterion reports means; the target is a p99): the default
//! policy over 2 KB texts, and the bare RegexSet lower bound, one core.
//!
//! Run: `cargo bench -p glassbox-patterns --bench latency`

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Instant;

use glassbox_core::{Detector, Engine, Policy};

fn percentiles(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| xs[((xs.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99), at(0.999))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let policy = Policy::default_policy();
    let rules = glassbox_patterns::policy_rules(&policy).unwrap();
    let set = regex::RegexSetBuilder::new(rules.iter().map(|r| r.pattern.as_str()))
        .size_limit(256 << 20)
        .dfa_size_limit(256 << 20)
        .build()
        .unwrap();
    let res: Vec<regex::Regex> = rules
        .iter()
        .map(|r| {
            regex::RegexBuilder::new(&r.pattern)
                .size_limit(256 << 20)
                .dfa_size_limit(256 << 20)
                .build()
                .unwrap()
        })
        .collect();
    let d: Arc<dyn Detector> = Arc::new(glassbox_patterns::build(&policy).unwrap());
    let engine = Engine::new(Arc::new(policy), vec![d]);
    let texts = common::texts_2k(2000);
    // Warm up caches (lazy DFAs fill on first use).
    for t in texts.iter().take(200) {
        engine.scan(t);
        set.matches(t);
    }
    let mut ours = Vec::with_capacity(texts.len() * 5);
    let mut bare = Vec::with_capacity(texts.len() * 5);
    for _ in 0..5 {
        for t in &texts {
            let t0 = Instant::now();
            std::hint::black_box(engine.scan(t));
            ours.push(t0.elapsed().as_secs_f64() * 1e6);
            let t0 = Instant::now();
            let n: usize = set
                .matches(t)
                .iter()
                .map(|i| res[i].find_iter(t).count())
                .sum();
            std::hint::black_box(n);
            bare.push(t0.elapsed().as_secs_f64() * 1e6);
        }
    }
    let (p50, p99, p999) = percentiles(ours);
    println!("default policy, 2 KB texts ({} rules): p50 {p50:.1} µs  p99 {p99:.1} µs  p99.9 {p999:.1} µs", rules.len());
    let (p50, p99, p999) = percentiles(bare);
    println!("bare RegexSet lower bound:               p50 {p50:.1} µs  p99 {p99:.1} µs  p99.9 {p999:.1} µs");
}
