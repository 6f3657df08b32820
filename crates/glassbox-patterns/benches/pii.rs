//! PII rules alone: the default `pii:` section compiled into one `RuleSet` over the mixed
//! corpus and over number-heavy text (dates, versions, IDs, amounts, addresses: the candidates
//! the validators must throw out), and the phone validator per candidate.
//!
//! Run: `cargo bench -p glassbox-patterns --bench pii -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs)]
#![allow(clippy::unwrap_used)] // a bench that cannot build its input should stop loudly

mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use glassbox_core::policy::PiiConfig;
use glassbox_core::Detector;
use glassbox_patterns::{pii, RuleSet};

/// About 2 KB of the text that makes PII candidates without being PII, plus four real values.
fn number_heavy() -> String {
    let lines = [
        "Released v2.14.3 on 2024-01-15 10:30:45 UTC; build 10.0.19045.3693, see issue #48213.",
        "Order 1234-5678-90 shipped; tracking 1Z999AA10123456784; total $1,234,567.89.",
        "Coordinates 48.858370, 2.294481; weights 0.5 0.25 0.125; scores 12-10 15-13 21-19.",
        "request_id=123e4567-e89b-12d3-a456-426614174000 at 1700000000123 from 192.168.1.10.",
        "ISBN 978-0-306-40615-7; MAC 00:1A:2B:3C:4D:5E; range 10.0.0.0/8; listen [::1]:8080.",
        "Contact jane.doe@northwind-traders.com or +44 20 7946 0958 about 4539 1043 3218 1967.",
        "Population 8 336 817 (2022), up from 8 175 133 in 2010; invoice 15.01.2024 / 15.02.2024.",
        "pip install torch==2.3.1 numpy==1.26.4; node 20.11.0; postgres 16.2; redis 7.2.4.",
        "Snowflake 1176123456789012345, account 000123456789, sha 9f86d081884c7d659a2feaa0c55ad015.",
        "Resolver 8.8.8.8:53 answered in 12.5 ms; p99 31.7 ms over 10 000 requests.",
    ];
    let mut out = String::new();
    while out.len() < 2048 {
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

fn benches(c: &mut Criterion) {
    let rules = pii::rules(&PiiConfig::default()).unwrap();
    let set = RuleSet::compile("pii", rules).unwrap();
    let mut g = c.benchmark_group("pii");

    let corpus = common::corpus(1 << 20, 7);
    g.throughput(Throughput::Bytes(corpus.len() as u64));
    g.bench_function("ruleset/corpus_1MB", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            set.detect(black_box(&corpus), 0, &mut out).unwrap();
            out.len()
        })
    });

    let no_phone = PiiConfig {
        disable: vec!["phone".into()],
        ..PiiConfig::default()
    };
    let set_no_phone = RuleSet::compile("pii", pii::rules(&no_phone).unwrap()).unwrap();
    g.bench_function("ruleset_without_phone/corpus_1MB", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            set_no_phone
                .detect(black_box(&corpus), 0, &mut out)
                .unwrap();
            out.len()
        })
    });

    let numbers = number_heavy();
    g.throughput(Throughput::Bytes(numbers.len() as u64));
    g.bench_function("ruleset/number_heavy_2KB", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            set.detect(black_box(&numbers), 0, &mut out).unwrap();
            out.len()
        })
    });

    let candidates = [
        "+44 20 7946 0958",
        "030 901820",
        "(415) 555-2671",
        "1234-5678-90",
        "2024-01-15",
    ];
    let regions = [
        phonenumber::country::Id::US,
        phonenumber::country::Id::GB,
        phonenumber::country::Id::DE,
        phonenumber::country::Id::FR,
        phonenumber::country::Id::IN,
    ];
    g.bench_function("ruleset_without_phone/number_heavy_2KB", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            set_no_phone
                .detect(black_box(&numbers), 0, &mut out)
                .unwrap();
            out.len()
        })
    });

    g.throughput(Throughput::Elements(candidates.len() as u64));
    g.bench_function("phone_validator/5_candidates", |b| {
        b.iter(|| {
            candidates
                .iter()
                .filter(|c| pii::phone::is_phone(black_box(c), &regions))
                .count()
        })
    });
    g.finish();
}

criterion_group!(pii_benches, benches);
criterion_main!(pii_benches);
