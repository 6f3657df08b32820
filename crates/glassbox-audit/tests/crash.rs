//! Crash test: a writer process is killed with SIGKILL mid-stream; every record it acknowledged
//! (printed after `flush`, i.e. after fsync) must be present and verify, and reopening the store
//! recovers any torn tail and records it.
//!
//! The writer is this test binary itself, re-run with `GB_AUDIT_CRASH_DIR` set: the
//! `crash_writer_child` test then becomes the child process.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{event, tmp_dir};
use glassbox_audit::record::{self, DecisionBody, Kind};
use glassbox_audit::store::{self, Item};
use glassbox_audit::{open_sink, verify_store, FsyncPolicy, SinkOptions};
use glassbox_core::AuditSink;

#[test]
fn crash_writer_child() {
    let Ok(dir) = std::env::var("GB_AUDIT_CRASH_DIR") else {
        return; // only does something as the child of a crash test
    };
    let fsync = match std::env::var("GB_AUDIT_CRASH_FSYNC").as_deref() {
        Ok("every_record") => FsyncPolicy::EveryRecord,
        _ => FsyncPolicy::Batched(Duration::from_millis(5)),
    };
    let w = open_sink(
        &dir,
        SinkOptions {
            instance: Some("crashy".into()),
            hmac_key: Some([1u8; 32]),
            fsync,
            checkpoint_every: 64,
            overflow: glassbox_audit::OverflowPolicy::Block(Duration::from_secs(60)),
            ..SinkOptions::default()
        },
    )
    .expect("open");
    let mut out = std::io::stdout().lock();
    for i in 0..10_000_000u64 {
        w.record(event(i));
        if i % 50 == 49 {
            let st = w.flush().expect("flush");
            // Acknowledged: every event up to i is durable, up to seq last_seq.
            writeln!(out, "ACK {} {i}", st.last_seq.expect("records")).expect("stdout");
            out.flush().expect("stdout");
        }
    }
}

fn crash_and_check(fsync: &str) {
    let dir = tmp_dir(&format!("crash-{fsync}"));
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "crash_writer_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GB_AUDIT_CRASH_DIR", &dir)
        .env("GB_AUDIT_CRASH_FSYNC", fsync)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    let stdout = child.stdout.take().expect("piped");
    let mut acked: Option<(u64, u64)> = None;
    let mut acks = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let Some(rest) = line.strip_prefix("ACK ") else {
            continue;
        };
        let mut it = rest.split(' ').map(|x| x.parse::<u64>().expect("number"));
        acked = Some((it.next().expect("seq"), it.next().expect("i")));
        acks += 1;
        if acks == 20 {
            // Let the writer run on past its acknowledgement, so the kill lands mid-stream
            // (a delay, not a timed assertion: any moment is a valid moment to crash).
            std::thread::sleep(Duration::from_millis(if fsync == "batched" {
                7
            } else {
                3
            }));
            child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix
            break;
        }
    }
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the writer was killed");
    let (acked_seq, acked_i) = acked.expect("the writer acknowledged records");

    // Before any recovery: everything up to the acknowledged seq verifies; damage (a torn
    // frame) may only come after it.
    let s = dir.to_str().expect("utf8");
    let r = verify_store(s, None).expect("verify");
    let c = &r.chains[0];
    assert!(
        c.last_seq.expect("records") >= acked_seq,
        "acknowledged records lost: {}",
        r.to_text()
    );
    if let Some(p) = &c.problem {
        assert!(
            p.what.contains("truncated record") || p.what.contains("hash mismatch"),
            "{p}"
        );
    }

    // Reopen: the torn tail (if any) is cut and recorded; the chain verifies.
    let w = open_sink(
        s,
        SinkOptions {
            instance: Some("crashy".into()),
            ..SinkOptions::default()
        },
    )
    .expect("reopen");
    w.close().expect("close");
    let r = verify_store(s, None).expect("verify");
    assert!(r.ok(), "{}", r.to_text());
    let torn = c.problem.is_some();
    eprintln!("crash test ({fsync}): acknowledged seq {acked_seq}, store had {} records, torn tail: {torn}", c.records);
    assert_eq!(
        r.chains[0].recoveries,
        u64::from(torn),
        "a recovered record iff there was a torn tail"
    );

    // Every acknowledged event is there, once, in order.
    let mut ids = Vec::new();
    store::scan(s, &mut |item| {
        if let Item::Record { bytes, .. } = item {
            let h = record::decode(bytes).expect("decode");
            if h.kind == Kind::Decision {
                let d: DecisionBody = serde_json::from_slice(h.body).expect("body");
                ids.push(d.event.request_id);
            }
        }
        Ok(())
    })
    .expect("scan");
    assert!(
        ids.len() as u64 > acked_i,
        "{} decisions, acknowledged up to req-{acked_i}",
        ids.len()
    );
    for (i, id) in ids.iter().enumerate().take(acked_i as usize + 1) {
        assert_eq!(id, &format!("req-{i}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigkill_loses_nothing_acknowledged_batched() {
    crash_and_check("batched");
}

#[test]
fn sigkill_loses_nothing_acknowledged_every_record() {
    crash_and_check("every_record");
}
