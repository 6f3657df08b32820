//! Pattern detection throughput: the default policy over a 1 MB mixed corpus and per 2 KB
//! text, the streaming path, and in the same run the lower bound DESIGN.md measures against: a
//! bare `RegexSet` over the same patterns picking the rules that hit, then `find_iter` on those.
//!
//! Run: `cargo bench -p glassbox-patterns --bench patterns -- --warm-up-time 1 --measurement-time 5`

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use glassbox_core::{Detector, Engine, Policy};

fn engine() -> (Engine, Vec<String>) {
    let policy = Policy::default_policy();
    let rules = glassbox_patterns::policy_rules(&policy).unwrap();
    let patterns: Vec<String> = rules.iter().map(|r| r.pattern.clone()).collect();
    let set = glassbox_patterns::build(&policy).unwrap();
    let d: Arc<dyn Detector> = Arc::new(set);
    (Engine::new(Arc::new(policy), vec![d]), patterns)
}

/// The lower bound: RegexSet to pick rules, then find_iter on those alone; no validation,
/// normalisation or policy.
struct Bare {
    set: regex::RegexSet,
    res: Vec<regex::Regex>,
}

impl Bare {
    fn new(patterns: &[String]) -> Self {
        let set = regex::RegexSetBuilder::new(patterns)
            .size_limit(256 << 20)
            .dfa_size_limit(256 << 20)
            .build()
            .unwrap();
        let res = patterns
            .iter()
            .map(|p| {
                regex::RegexBuilder::new(p)
                    .size_limit(256 << 20)
                    .dfa_size_limit(256 << 20)
                    .build()
                    .unwrap()
            })
            .collect();
        Bare { set, res }
    }
    fn count(&self, text: &str) -> usize {
        self.set
            .matches(text)
            .iter()
            .map(|i| self.res[i].find_iter(text).count())
            .sum()
    }
}

fn benches(c: &mut Criterion) {
    let (engine, patterns) = engine();
    let bare = Bare::new(&patterns);
    let big = common::corpus(1 << 20, 42);
    let small = common::texts_2k(64);
    let small_bytes: usize = small.iter().map(String::len).sum();

    let mut g = c.benchmark_group("corpus_1mb");
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.sample_size(20);
    g.bench_function("default_policy", |b| {
        b.iter(|| black_box(engine.scan(black_box(&big))))
    });
    g.bench_function("bare_regexset", |b| {
        b.iter(|| black_box(bare.count(black_box(&big))))
    });
    g.finish();

    let mut g = c.benchmark_group("texts_2k");
    g.throughput(Throughput::Bytes(small_bytes as u64));
    g.bench_function("default_policy", |b| {
        b.iter(|| {
            small
                .iter()
                .map(|t| engine.scan(t).findings.len())
                .sum::<usize>()
        })
    });
    g.bench_function("bare_regexset", |b| {
        b.iter(|| small.iter().map(|t| bare.count(t)).sum::<usize>())
    });
    g.bench_function("default_policy_streamed_16b_chunks", |b| {
        b.iter(|| {
            let mut n = 0;
            for t in &small {
                let mut s = engine.stream();
                for piece in t.as_bytes().chunks(16) {
                    n += s.feed(piece).unwrap().text.len();
                }
                n += s.finish().unwrap().text.len();
            }
            n
        })
    });
    g.finish();
}

criterion_group!(patterns_benches, benches);
criterion_main!(patterns_benches);
