//! Audit trail throughput: records appended per second per store and fsync policy (through the
//! real writer: queue, background thread, chaining, checkpoints), and records verified per
//! second. PostgreSQL benches run when GLASSBOX_TEST_PG_URL is set.
//!
//! cargo bench -p glassbox-audit --bench audit -- --warm-up-time 1 --measurement-time 3

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::SigningKey;
use glassbox_audit::{open_sink, verify_store, FsyncPolicy, OverflowPolicy, SinkOptions};
use glassbox_core::audit::{
    ContentDigest, Coverage, DecisionEvent, DetectorDigest, Direction, FindingRecord, Outcome,
};
use glassbox_core::{Action, AuditSink};

fn event(i: u64) -> DecisionEvent {
    DecisionEvent {
        request_id: format!("req-{i:08}"),
        route: "/v1/chat/completions".into(),
        direction: Direction::Response,
        tenant: Some("acme".into()),
        model: Some("llama-3.1-8b-instruct".into()),
        model_licence: Some("LicenseRef-Llama-3.1-Community".into()),
        policy_id: "default".into(),
        policy_sha256: "ab".repeat(32),
        detectors: vec![
            DetectorDigest {
                name: "secrets".into(),
                digest: "rules-v1".into(),
            },
            DetectorDigest {
                name: "pii".into(),
                digest: "rules-v1".into(),
            },
        ],
        findings: vec![FindingRecord {
            category: "secret.github_token".into(),
            action: Action::Mask,
            detector: "secrets".into(),
            start: 120,
            len: 40,
            score: 1.0,
        }],
        verdict: Action::Mask,
        content_digests: vec![
            ContentDigest {
                part: "request".into(),
                hmac_sha256: "cd".repeat(32),
                bytes: 812,
            },
            ContentDigest {
                part: "response".into(),
                hmac_sha256: "ef".repeat(32),
                bytes: 2048,
            },
        ],
        coverage: Coverage {
            bytes_screened: 2860,
            bytes_released: 2860,
            max_holdback: 64,
            classifier_lag_ms: None,
            holdback_capped: false,
            classifier_windows: 0,
        },
        fail_open: vec![],
        outcome: Outcome::Completed,
        raw_content: vec![],
    }
}

fn opts(fsync: FsyncPolicy, instance: &str) -> SinkOptions {
    SinkOptions {
        instance: Some(instance.into()),
        signing_key: Some(SigningKey::from_bytes(&[1u8; 32])),
        hmac_key: Some([2u8; 32]),
        fsync,
        overflow: OverflowPolicy::Block(Duration::from_secs(60)),
        ..SinkOptions::default()
    }
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("gb-audit-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Times `n` records appended and made durable (record × n, then flush).
fn append(store: &str, o: SinkOptions, n: u64) -> Duration {
    let w = open_sink(store, o).expect("open");
    let start = Instant::now();
    for i in 0..n {
        w.record(event(i));
    }
    let st = w.flush().expect("flush");
    let d = start.elapsed();
    assert_eq!(st.dropped, 0);
    w.close().expect("close");
    d
}

fn bench_append(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit_append");
    g.sample_size(10);
    let cases: Vec<(&str, FsyncPolicy, u64)> = vec![
        (
            "file/batched_50ms",
            FsyncPolicy::Batched(Duration::from_millis(50)),
            20_000,
        ),
        ("file/every_record", FsyncPolicy::EveryRecord, 300),
    ];
    for (name, fsync, n) in cases {
        g.throughput(Throughput::Elements(n));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for k in 0..iters {
                    let dir = tmp(&format!("append-{k}"));
                    total += append(dir.to_str().expect("utf8"), opts(fsync, "bench"), n);
                    let _ = std::fs::remove_dir_all(&dir);
                }
                total
            })
        });
    }
    if let Ok(base) = std::env::var("GLASSBOX_TEST_PG_URL") {
        let url = format!(
            "{base}{}schema=bench_{}",
            if base.contains('?') { '&' } else { '?' },
            std::process::id()
        );
        let cases: Vec<(&str, FsyncPolicy, u64)> = vec![
            (
                "postgres/batched_50ms",
                FsyncPolicy::Batched(Duration::from_millis(50)),
                20_000,
            ),
            ("postgres/every_record", FsyncPolicy::EveryRecord, 300),
        ];
        let mut run = 0;
        for (name, fsync, n) in cases {
            g.throughput(Throughput::Elements(n));
            g.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        run += 1;
                        total += append(&url, opts(fsync, &format!("bench-{run}")), n);
                    }
                    total
                })
            });
        }
        drop_schema(&url);
    } else {
        eprintln!("PostgreSQL benches skipped: GLASSBOX_TEST_PG_URL is not set");
    }
    g.finish();
}

fn drop_schema(url: &str) {
    if let Some((base, schema)) = url.rsplit_once("schema=") {
        if let Ok(mut c) =
            postgres::Client::connect(base.trim_end_matches(['?', '&']), postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
        }
    }
}

fn bench_verify(c: &mut Criterion) {
    let n = 100_000u64;
    let dir = tmp("verify");
    let s = dir.to_str().expect("utf8");
    append(
        s,
        opts(FsyncPolicy::Batched(Duration::from_millis(50)), "bench"),
        n,
    );
    let records = verify_store(s, None).expect("verify").chains[0].records;
    let mut g = c.benchmark_group("audit_verify");
    g.sample_size(10);
    g.throughput(Throughput::Elements(records));
    let pk = SigningKey::from_bytes(&[1u8; 32]).verifying_key();
    g.bench_function("file", |b| {
        b.iter(|| {
            let r = verify_store(s, Some(pk)).expect("verify");
            assert!(r.ok());
        })
    });
    if let Ok(base) = std::env::var("GLASSBOX_TEST_PG_URL") {
        let url = format!(
            "{base}{}schema=benchv_{}",
            if base.contains('?') { '&' } else { '?' },
            std::process::id()
        );
        append(
            &url,
            opts(FsyncPolicy::Batched(Duration::from_millis(50)), "bench"),
            n,
        );
        let records = verify_store(&url, None).expect("verify").chains[0].records;
        g.throughput(Throughput::Elements(records));
        g.bench_function("postgres", |b| {
            b.iter(|| {
                let r = verify_store(&url, Some(pk)).expect("verify");
                assert!(r.ok());
            })
        });
        drop_schema(&url);
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench_append, bench_verify);
criterion_main!(benches);
