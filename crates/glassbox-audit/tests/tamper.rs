//! Tamper tests on the file store: every kind of change an attacker can make to the segment
//! files, including one who recomputes every hash but has no signing key. Each case names the
//! first bad record verify must report.

mod common;

use common::{event, frame_offset, read_segment, tmp_dir, write_segment, Frame};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use glassbox_audit::record::{self, Kind};
use glassbox_audit::verify::KeyStatus;
use glassbox_audit::{open_sink, verify_store, SinkOptions};
use glassbox_core::AuditSink;

const OWNER_KEY: [u8; 32] = [11u8; 32];
const ATTACKER_KEY: [u8; 32] = [66u8; 32];

fn owner_pub() -> VerifyingKey {
    SigningKey::from_bytes(&OWNER_KEY).verifying_key()
}

/// A closed chain: open, 40 decisions, a checkpoint every 8 records, a closing checkpoint.
fn build(dir: &std::path::Path) {
    let w = open_sink(
        dir.to_str().expect("utf8"),
        SinkOptions {
            instance: Some("node-a".into()),
            signing_key: Some(SigningKey::from_bytes(&OWNER_KEY)),
            hmac_key: Some([1u8; 32]),
            checkpoint_every: 8,
            ..SinkOptions::default()
        },
    )
    .expect("open");
    for i in 0..40 {
        w.record(event(i));
    }
    let stats = w.close().expect("close");
    assert_eq!(stats.decisions, 40);
}

/// What the attacker does: recompute seq, prev_hash and hash of every record from `from` on,
/// and fix the checkpoints' signed seq/hash fields (the signatures they cannot recompute).
fn rechain(frames: &mut [Frame], from: usize, resign: Option<&SigningKey>) {
    let mut prev = if from == 0 {
        record::GENESIS_PREV
    } else {
        frames[from - 1].hash
    };
    for (i, frame) in frames.iter_mut().enumerate().skip(from) {
        let h = record::decode(&frame.bytes).expect("decode");
        let (kind, ts, instance) = (h.kind, h.ts_ms, h.instance.to_string());
        let mut body = h.body.to_vec();
        if kind == Kind::Checkpoint {
            let mut v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            v["signed_seq"] = serde_json::json!(i as u64 - 1);
            v["signed_hash"] = serde_json::json!(hex::encode(prev));
            if let Some(k) = resign {
                let msg = record::checkpoint_message(&instance, i as u64 - 1, &prev, ts);
                v["signature"] = serde_json::json!(hex::encode(k.sign(&msg).to_bytes()));
            }
            body = serde_json::to_vec(&v).expect("json");
        }
        let bytes = record::encode(kind, i as u64, ts, &prev, &instance, &body);
        let hash = record::hash(&bytes);
        *frame = Frame { bytes, hash };
        prev = hash;
    }
}

fn edit_body(f: &mut Frame, from: &str, to: &str) {
    let at = f
        .bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .expect("text to edit");
    f.bytes[at..at + from.len()].copy_from_slice(to.as_bytes());
}

fn kinds(frames: &[Frame]) -> Vec<Kind> {
    frames
        .iter()
        .map(|f| record::decode(&f.bytes).expect("decode").kind)
        .collect()
}

type Tamper = fn(&mut [u8; 16], &mut Vec<Frame>);

/// A tamper case: name, what is done, the key verify trusts, the expected first bad seq and a
/// phrase its message must contain (`None` when verify must pass).
struct Case {
    name: &'static str,
    tamper: Tamper,
    trusted: bool,
    want: Option<(Option<u64>, &'static str)>,
}

#[test]
fn every_kind_of_tampering_is_detected() {
    let base = tmp_dir("tamper-base");
    build(&base);
    let seg = base.join("seg-000001.gba");
    let (header, frames) = read_segment(&seg);
    // Layout check the cases rely on: open, then 7 decisions, then a checkpoint (every 8).
    let k = kinds(&frames);
    assert_eq!(k[0], Kind::Open);
    assert_eq!(k[8], Kind::Checkpoint);
    assert_eq!(*k.last().expect("last"), Kind::Checkpoint);
    let last = frames.len() as u64 - 1;

    let cases: Vec<Case> = vec![
        Case {
            name: "untouched",
            tamper: |_, _| {},
            trusted: true,
            want: None,
        },
        Case {
            name: "untouched, no trusted key",
            tamper: |_, _| {},
            trusted: false,
            want: None,
        },
        Case {
            name: "edit a decision",
            tamper: |_, f| edit_body(&mut f[5], "req-4", "req-X"),
            trusted: true,
            want: Some((Some(5), "hash mismatch: stored")),
        },
        Case {
            name: "edit a decision and recompute its hash",
            tamper: |_, f| {
                edit_body(&mut f[5], "req-4", "req-Z");
                f[5].hash = record::hash(&f[5].bytes);
            },
            trusted: true,
            want: Some((Some(6), "prev_hash")),
        },
        Case {
            name: "edit and recompute the whole chain without the key",
            tamper: |_, f| {
                edit_body(&mut f[5], "req-4", "req-Z");
                rechain(f, 5, None);
            },
            trusted: true,
            want: Some((
                Some(8),
                "checkpoint signature does not verify with the trusted public key",
            )),
        },
        Case {
            name: "edit and recompute, verified against the key in the chain",
            tamper: |_, f| {
                edit_body(&mut f[5], "req-4", "req-Z");
                rechain(f, 5, None);
            },
            trusted: false,
            want: Some((
                Some(8),
                "does not verify with the key declared in the chain",
            )),
        },
        Case {
            name: "delete a record",
            tamper: |_, f| {
                f.remove(5);
            },
            trusted: true,
            want: Some((Some(6), "records 5..=5 are missing")),
        },
        Case {
            name: "delete a record and renumber without the key",
            tamper: |_, f| {
                f.remove(5);
                rechain(f, 5, None);
            },
            trusted: true,
            want: Some((Some(7), "checkpoint signature does not verify")),
        },
        Case {
            name: "insert a copy of an earlier record",
            tamper: |_, f| {
                let c = f[3].clone();
                f.insert(6, c);
            },
            trusted: true,
            want: Some((Some(3), "out of order or duplicated")),
        },
        Case {
            name: "insert a forged record and renumber without the key",
            tamper: |_, f| {
                let c = f[3].clone();
                f.insert(6, c);
                rechain(f, 6, None);
            },
            trusted: true,
            want: Some((Some(9), "checkpoint signature does not verify")),
        },
        Case {
            name: "swap two records",
            tamper: |_, f| f.swap(5, 6),
            trusted: true,
            want: Some((Some(6), "records 5..=5 are missing")),
        },
        Case {
            name: "swap two records and renumber without the key",
            tamper: |_, f| {
                f.swap(5, 6);
                rechain(f, 5, None);
            },
            trusted: true,
            want: Some((Some(8), "checkpoint signature does not verify")),
        },
        Case {
            name: "forge a checkpoint with another key",
            tamper: |_, f| {
                edit_body(&mut f[5], "req-4", "req-Z");
                rechain(f, 5, Some(&SigningKey::from_bytes(&ATTACKER_KEY)));
            },
            trusted: true,
            want: Some((Some(8), "checkpoint signature does not verify")),
        },
        Case {
            name: "replace the declared key and re-sign: caught by the trusted key",
            tamper: |_, f| {
                let attacker = SigningKey::from_bytes(&ATTACKER_KEY);
                replace_declared_key(&mut f[0], &attacker);
                edit_body(&mut f[5], "req-4", "req-Z");
                rechain(f, 0, Some(&attacker));
            },
            trusted: true,
            want: Some((Some(8), "does not verify with the trusted public key")),
        },
        Case {
            name: "strip every signature: caught by the trusted key",
            tamper: |_, f| {
                strip_signatures(f);
                rechain(f, 0, None);
            },
            trusted: true,
            want: Some((
                Some(8),
                "checkpoint is unsigned, but a public key was given",
            )),
        },
        Case {
            name: "checkpoint signs a different seq",
            tamper: |_, f| {
                edit_body(&mut f[8], "\"signed_seq\":7", "\"signed_seq\":6");
                f[8].hash = record::hash(&f[8].bytes);
                rechain(f, 9, None);
            },
            trusted: true,
            want: Some((Some(8), "checkpoint signs seq 6")),
        },
        Case {
            name: "edit a stored hash",
            tamper: |_, f| f[12].hash[0] ^= 1,
            trusted: true,
            want: Some((Some(12), "hash mismatch")),
        },
        Case {
            name: "cut the first records",
            tamper: |_, f| {
                f.drain(..3);
            },
            trusted: true,
            want: Some((Some(3), "starts at seq 3 instead of 0")),
        },
        Case {
            name: "bad segment magic",
            tamper: |h, _| h[0] = b'X',
            trusted: true,
            want: Some((None, "bad segment magic")),
        },
        Case {
            name: "change the instance and recompute without the key",
            tamper: |_, f| {
                for fr in f.iter_mut() {
                    let h = record::decode(&fr.bytes).expect("decode");
                    fr.bytes =
                        record::encode(h.kind, h.seq, h.ts_ms, &h.prev_hash, "node-b", h.body);
                }
                rechain(f, 0, None);
            },
            trusted: true,
            want: Some((Some(8), "checkpoint signature does not verify")),
        },
    ];

    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let dir = tmp_dir(&format!("tamper-{i}"));
        let (mut h, mut f) = (header, frames.clone());
        (c.tamper)(&mut h, &mut f);
        write_segment(&dir.join("seg-000001.gba"), &h, &f);
        let trusted = c.trusted.then(owner_pub);
        let r = verify_store(dir.to_str().expect("utf8"), trusted).expect("readable");
        let chain = &r.chains[0];
        match (&c.want, &chain.problem) {
            (None, None) => {}
            (Some((seq, phrase)), Some(p)) if p.seq == *seq && p.to_string().contains(phrase) => {}
            (want, got) => failures.push(format!("{}: want {want:?}, got {got:?}", c.name)),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let _ = last;
    let _ = std::fs::remove_dir_all(&base);
}

fn replace_declared_key(open: &mut Frame, k: &SigningKey) {
    let h = record::decode(&open.bytes).expect("decode");
    let mut v: serde_json::Value = serde_json::from_slice(h.body).expect("json");
    v["public_key"] = serde_json::json!(hex::encode(k.verifying_key().as_bytes()));
    let body = serde_json::to_vec(&v).expect("json");
    open.bytes = record::encode(h.kind, h.seq, h.ts_ms, &h.prev_hash, h.instance, &body);
}

fn strip_signatures(f: &mut [Frame]) {
    for fr in f.iter_mut() {
        let h = record::decode(&fr.bytes).expect("decode");
        let mut v: serde_json::Value = serde_json::from_slice(h.body).expect("json");
        match h.kind {
            Kind::Open => {
                v["public_key"] = serde_json::Value::Null;
                v["key_id"] = serde_json::Value::Null;
            }
            Kind::Checkpoint => {
                v["signature"] = serde_json::Value::Null;
                v["key_id"] = serde_json::Value::Null;
            }
            _ => continue,
        }
        let body = serde_json::to_vec(&v).expect("json");
        fr.bytes = record::encode(h.kind, h.seq, h.ts_ms, &h.prev_hash, h.instance, &body);
    }
}

#[test]
fn problems_name_segment_and_byte_offset() {
    let dir = tmp_dir("tamper-offset");
    build(&dir);
    let seg = dir.join("seg-000001.gba");
    let (h, mut f) = read_segment(&seg);
    edit_body(&mut f[5], "req-4", "req-Y");
    write_segment(&seg, &h, &f);
    let r = verify_store(dir.to_str().expect("utf8"), Some(owner_pub())).expect("readable");
    let p = r.chains[0].problem.as_ref().expect("detected").to_string();
    let want = format!(
        "record seq 5 (segment 000001, byte {}): hash mismatch: stored ",
        frame_offset(&f, 5)
    );
    assert!(p.starts_with(&want), "{p}\nwant prefix {want}");
    assert!(!r.ok());
    assert!(
        r.to_text().contains("FAILED: 1 of 1 chain(s)"),
        "{}",
        r.to_text()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn truncation_is_detected() {
    let dir = tmp_dir("tamper-trunc");
    build(&dir);
    let seg = dir.join("seg-000001.gba");
    let (h, f) = read_segment(&seg);
    let n = f.len();
    let intact = verify_store(dir.to_str().expect("utf8"), Some(owner_pub())).expect("readable");
    assert!(intact.ok());
    assert!(intact.chains[0].closed);
    assert_eq!(intact.chains[0].unsigned_tail, 0);
    assert_eq!(intact.chains[0].key_status, KeyStatus::Trusted);

    // Cut in the middle of the last record: a torn record, named with its offset.
    let full = std::fs::read(&seg).expect("read");
    let cut_at = frame_offset(&f, n - 1) + 10;
    std::fs::write(&seg, &full[..cut_at]).expect("write");
    let r = verify_store(dir.to_str().expect("utf8"), Some(owner_pub())).expect("readable");
    let p = r.chains[0]
        .problem
        .as_ref()
        .expect("torn record detected")
        .to_string();
    assert!(
        p.contains(&format!("byte {}", frame_offset(&f, n - 1))) && p.contains("truncated record"),
        "{p}"
    );

    // Cut whole records from the end (including the closing checkpoint): the chain is then
    // open, and the records after the last signed checkpoint are counted as unsigned.
    write_segment(&seg, &h, &f[..n - 3]);
    let r = verify_store(dir.to_str().expect("utf8"), Some(owner_pub())).expect("readable");
    let c = &r.chains[0];
    assert!(c.ok());
    assert!(!c.closed, "a chain cut at the end must not look closed");
    assert_eq!(c.last_seq, Some(n as u64 - 4));
    assert!(
        r.to_text().contains("open (writer running or crashed)"),
        "{}",
        r.to_text()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn deleted_middle_segment_is_named() {
    let dir = tmp_dir("tamper-segments");
    let w = open_sink(
        dir.to_str().expect("utf8"),
        SinkOptions {
            instance: Some("node-a".into()),
            signing_key: Some(SigningKey::from_bytes(&OWNER_KEY)),
            segment_max_bytes: 4096,
            ..SinkOptions::default()
        },
    )
    .expect("open");
    for i in 0..60 {
        w.record(event(i));
    }
    w.close().expect("close");
    let ok = verify_store(dir.to_str().expect("utf8"), Some(owner_pub())).expect("readable");
    assert!(ok.ok(), "{}", ok.to_text());
    assert!(
        dir.join("seg-000003.gba").exists(),
        "rotation made several segments"
    );
    std::fs::remove_file(dir.join("seg-000002.gba")).expect("rm");
    let r = verify_store(dir.to_str().expect("utf8"), Some(owner_pub())).expect("readable");
    let p = r.chains[0].problem.as_ref().expect("detected").to_string();
    assert!(p.contains("segment(s) 000002..000002 missing"), "{p}");
    let _ = std::fs::remove_dir_all(&dir);
}
