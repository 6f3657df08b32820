//! Append and verify throughput on the file store, by wall clock and by CPU time (process user +
//! system time from /proc/self/stat), so numbers taken on a busy shared machine can be read
//! against the CPU the work actually got.
//!
//! cargo run --release -p glassbox-audit --example throughput -- [RECORDS] [DIR]

use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use glassbox_audit::{open_sink, verify_store, FsyncPolicy, OverflowPolicy, SinkOptions};
use glassbox_core::audit::{
    ContentDigest, Coverage, DecisionEvent, DetectorDigest, Direction, FindingRecord, Outcome,
};
use glassbox_core::{Action, AuditSink};

/// Process CPU time (user + system), from /proc/self/stat (Linux).
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 of stat are utime and stime; after the `)` (field 3 on) they are 11 and 12.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

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
        detectors: vec![DetectorDigest {
            name: "secrets".into(),
            digest: "rules-v1".into(),
        }],
        findings: vec![FindingRecord {
            category: "secret.github_token".into(),
            action: Action::Mask,
            detector: "secrets".into(),
            start: 120,
            len: 40,
            score: 1.0,
        }],
        verdict: Action::Mask,
        content_digests: vec![ContentDigest {
            part: "request".into(),
            hmac_sha256: "cd".repeat(32),
            bytes: 812,
        }],
        coverage: Coverage {
            bytes_screened: 2860,
            bytes_released: 2860,
            ..Coverage::default()
        },
        fail_open: vec![],
        outcome: Outcome::Completed,
        raw_content: vec![],
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let dir = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("gb-audit-throughput-{}", std::process::id()))
        });
    let _ = std::fs::remove_dir_all(&dir);
    let store = dir.to_str().expect("utf8 path");
    let opts = SinkOptions {
        instance: Some("bench".into()),
        signing_key: Some(SigningKey::from_bytes(&[1u8; 32])),
        hmac_key: Some([2u8; 32]),
        fsync: FsyncPolicy::Batched(Duration::from_millis(50)),
        overflow: OverflowPolicy::Block(Duration::from_secs(60)),
        ..SinkOptions::default()
    };
    let (c0, t0) = (cpu(), Instant::now());
    let w = open_sink(store, opts).expect("open");
    for i in 0..n {
        w.record(event(i));
    }
    let st = w.close().expect("close");
    let (wall, cpu_used) = (t0.elapsed(), cpu() - c0);
    println!(
        "append (batched 50 ms): {} records in {:.2} s wall = {:.0} records/s; {:.2} s CPU = {:.0} records per CPU-second",
        st.written,
        wall.as_secs_f64(),
        st.written as f64 / wall.as_secs_f64(),
        cpu_used.as_secs_f64(),
        st.written as f64 / cpu_used.as_secs_f64().max(0.01)
    );
    let pk = SigningKey::from_bytes(&[1u8; 32]).verifying_key();
    for _ in 0..3 {
        let (c0, t0) = (cpu(), Instant::now());
        let r = verify_store(store, Some(pk)).expect("verify");
        let (wall, cpu_used) = (t0.elapsed(), cpu() - c0);
        assert!(r.ok());
        let recs = r.chains[0].records as f64;
        println!(
            "verify: {} records in {:.2} s wall = {:.0} records/s; {:.2} s CPU = {:.0} records per CPU-second",
            recs,
            wall.as_secs_f64(),
            recs / wall.as_secs_f64(),
            cpu_used.as_secs_f64(),
            recs / cpu_used.as_secs_f64().max(0.01)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
