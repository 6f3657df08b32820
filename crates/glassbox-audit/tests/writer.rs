//! The writer as the engine, layer and proxy use it: concurrency, the overflow policy, content
//! digests, raw content (never in the store unless enabled, and then only encrypted), locking,
//! reopening and torn-tail recovery.

mod common;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use common::{event, tmp_dir};
use glassbox_audit::digest::{content_hmac, unseal};
use glassbox_audit::record::{self, DecisionBody, Hash, Kind, OverflowBody, RecoveredBody};
use glassbox_audit::store::file::{read_all_bytes, FileStore};
use glassbox_audit::store::{self, Encoded, Item, Store};
use glassbox_audit::{
    open_sink, verify_store, AuditError, AuditWriter, OverflowPolicy, SinkOptions,
};
use glassbox_core::AuditSink;

/// Every record of a file store, decoded: (kind, seq, body bytes).
fn records(dir: &std::path::Path) -> Vec<(Kind, u64, Vec<u8>)> {
    let mut out = Vec::new();
    store::scan(dir.to_str().expect("utf8"), &mut |item| {
        if let Item::Record { bytes, .. } = item {
            let h = record::decode(bytes).expect("decode");
            out.push((h.kind, h.seq, h.body.to_vec()));
        }
        Ok(())
    })
    .expect("scan");
    out
}

fn decisions(dir: &std::path::Path) -> Vec<DecisionBody> {
    records(dir)
        .into_iter()
        .filter(|r| r.0 == Kind::Decision)
        .map(|r| serde_json::from_slice(&r.2).expect("decision body"))
        .collect()
}

fn opts(instance: &str) -> SinkOptions {
    SinkOptions {
        instance: Some(instance.into()),
        hmac_key: Some([5u8; 32]),
        ..SinkOptions::default()
    }
}

#[test]
fn concurrent_writers_share_one_chain() {
    let dir = tmp_dir("concurrent");
    let w = Arc::new(
        open_sink(
            dir.to_str().expect("utf8"),
            SinkOptions {
                overflow: OverflowPolicy::Block(Duration::from_secs(30)),
                queue_capacity: 64,
                checkpoint_every: 100,
                ..opts("node-c")
            },
        )
        .expect("open"),
    );
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let w = w.clone();
            std::thread::spawn(move || {
                for i in 0..250 {
                    w.record(event(t * 1000 + i));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let stats = w.close().expect("close");
    assert_eq!(stats.decisions, 2000);
    assert_eq!(stats.dropped, 0);
    let r = verify_store(dir.to_str().expect("utf8"), None).expect("verify");
    assert!(r.ok(), "{}", r.to_text());
    assert_eq!(r.chains[0].records, stats.written);
    let mut ids: Vec<String> = decisions(&dir)
        .into_iter()
        .map(|d| d.event.request_id)
        .collect();
    ids.sort();
    let mut want: Vec<String> = (0..8u64)
        .flat_map(|t| (0..250).map(move |i| format!("req-{}", t * 1000 + i)))
        .collect();
    want.sort();
    assert_eq!(ids, want, "every event exactly once");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file store whose first decision append waits for a gate, so the queue fills
/// deterministically.
struct GatedStore {
    inner: FileStore,
    entered: Option<mpsc::Sender<()>>,
    gate: Option<mpsc::Receiver<()>>,
}

impl Store for GatedStore {
    fn label(&self) -> String {
        self.inner.label()
    }
    fn existing_instance(&self) -> Option<String> {
        self.inner.existing_instance()
    }
    fn tail(&self) -> Option<(u64, Hash)> {
        self.inner.tail()
    }
    fn take_recovery(&mut self) -> Result<Option<RecoveredBody>, AuditError> {
        self.inner.take_recovery()
    }
    fn append(&mut self, rec: &Encoded) -> Result<(), AuditError> {
        if rec.kind == Kind::Decision {
            if let (Some(e), Some(g)) = (self.entered.take(), self.gate.take()) {
                e.send(()).expect("test listens");
                g.recv().expect("test opens the gate");
            }
        }
        self.inner.append(rec)
    }
    fn sync(&mut self) -> Result<(), AuditError> {
        self.inner.sync()
    }
}

fn gated(
    dir: &std::path::Path,
    policy: OverflowPolicy,
) -> (AuditWriter, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (etx, erx) = mpsc::channel();
    let (gtx, grx) = mpsc::channel();
    let store = GatedStore {
        inner: FileStore::open(dir, 1 << 20).expect("store"),
        entered: Some(etx),
        gate: Some(grx),
    };
    let w = AuditWriter::start(
        Box::new(store),
        SinkOptions {
            queue_capacity: 4,
            overflow: policy,
            ..opts("node-o")
        },
    )
    .expect("start");
    (w, erx, gtx)
}

#[test]
fn overflow_drops_are_counted_and_recorded() {
    let dir = tmp_dir("overflow");
    let (w, entered, gate) = gated(&dir, OverflowPolicy::DropAndRecord);
    w.record(event(0));
    entered.recv().expect("writer is busy with event 0");
    for i in 1..=4 {
        w.record(event(i)); // fills the queue (capacity 4)
    }
    for i in 5..15 {
        w.record(event(i)); // dropped: record returns at once
    }
    assert_eq!(w.dropped(), 10);
    gate.send(()).expect("open gate");
    // Flush waits for the queue to drain, so event 15 finds space.
    assert_eq!(w.flush().expect("flush").dropped, 10);
    w.record(event(15));
    let stats = w.close().expect("close");
    assert_eq!(stats.dropped, 10);
    assert_eq!(stats.decisions, 6);
    let recs = records(&dir);
    let overflow_at = recs
        .iter()
        .position(|r| r.0 == Kind::Overflow)
        .expect("overflow record");
    let body: OverflowBody = serde_json::from_slice(&recs[overflow_at].2).expect("body");
    assert_eq!(body.dropped, 10);
    assert_eq!(body.policy, "drop_and_record");
    assert!(body.first_dropped_ms <= body.last_dropped_ms);
    // The overflow record is written once space frees: after the queued events, before the next.
    let ids: Vec<String> = decisions(&dir)
        .into_iter()
        .map(|d| d.event.request_id)
        .collect();
    assert_eq!(ids, ["req-0", "req-1", "req-2", "req-3", "req-4", "req-15"]);
    let last_decision = recs
        .iter()
        .rposition(|r| r.0 == Kind::Decision)
        .expect("decisions");
    assert!(
        overflow_at < last_decision,
        "overflow recorded before req-15"
    );
    assert!(verify_store(dir.to_str().expect("utf8"), None)
        .expect("verify")
        .ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn block_policy_waits_then_drops_and_records() {
    let dir = tmp_dir("overflow-block");
    let (w, entered, gate) = gated(&dir, OverflowPolicy::Block(Duration::from_millis(20)));
    w.record(event(0));
    entered.recv().expect("writer busy");
    for i in 1..=4 {
        w.record(event(i));
    }
    w.record(event(5)); // waits up to 20 ms, then is dropped (the gate is closed)
    assert_eq!(w.dropped(), 1);
    gate.send(()).expect("open gate");
    let stats = w.close().expect("close");
    assert_eq!((stats.decisions, stats.dropped), (5, 1));
    let recs = records(&dir);
    let body: OverflowBody = serde_json::from_slice(
        &recs
            .iter()
            .find(|r| r.0 == Kind::Overflow)
            .expect("overflow")
            .2,
    )
    .expect("body");
    assert_eq!((body.dropped, body.policy.as_str()), (1, "block:20ms"));
    let _ = std::fs::remove_dir_all(&dir);
}

const SECRET: &str = "ghp_Zx8Qm2Lr7Tn4Vb6Kc1Hd9Jf3Gs5Pw0Ya2Ue";

fn event_with_raw(w: &AuditWriter, i: u64) -> glassbox_core::audit::DecisionEvent {
    let text = format!("please store my token {SECRET} safely");
    let mut d = w.digester().expect("digests");
    d.update(text.as_bytes());
    let mut ev = event(i);
    ev.content_digests = vec![glassbox_core::audit::ContentDigest {
        part: "request".into(),
        hmac_sha256: d.finish(),
        bytes: text.len() as u64,
    }];
    // The layer fills raw content only when the sink asks; a careless caller might anyway.
    ev.raw_content = vec![("request".into(), text)];
    ev
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn matched_text_never_reaches_the_store_unless_raw_content_is_on() {
    // Off (the default): raw content is dropped, only the keyed digest remains.
    let dir = tmp_dir("raw-off");
    let w = open_sink(dir.to_str().expect("utf8"), opts("node-r")).expect("open");
    assert!(!w.wants_raw_content());
    for i in 0..20 {
        w.record(event_with_raw(&w, i));
    }
    w.close().expect("close");
    let bytes = read_all_bytes(&dir).expect("read");
    assert!(
        !contains(&bytes, SECRET.as_bytes()),
        "secret found in the store"
    );
    assert!(
        !contains(&bytes, b"please store my token"),
        "text found in the store"
    );
    let text = format!("please store my token {SECRET} safely");
    let ds = decisions(&dir);
    assert!(ds
        .iter()
        .all(|d| d.sealed_content.is_none() && d.event.raw_content.is_empty()));
    // An officer holding the deployment key proves the exact text was seen.
    assert_eq!(
        ds[0].event.content_digests[0].hmac_sha256,
        content_hmac(&[5u8; 32], text.as_bytes())
    );
    assert_ne!(
        ds[0].event.content_digests[0].hmac_sha256,
        content_hmac(&[5u8; 32], b"other text")
    );
    let _ = std::fs::remove_dir_all(&dir);

    // On: stored encrypted, bound to its record; the plaintext is still in no store byte.
    let dir = tmp_dir("raw-on");
    let key = [9u8; 32];
    let w = open_sink(
        dir.to_str().expect("utf8"),
        SinkOptions {
            content_key: Some(key),
            ..opts("node-r")
        },
    )
    .expect("open");
    assert!(w.wants_raw_content());
    for i in 0..5 {
        w.record(event_with_raw(&w, i));
    }
    w.close().expect("close");
    let bytes = read_all_bytes(&dir).expect("read");
    assert!(
        !contains(&bytes, SECRET.as_bytes()),
        "plaintext secret found although encrypted"
    );
    let recs = records(&dir);
    let (_, seq, body) = recs
        .iter()
        .find(|r| r.0 == Kind::Decision)
        .expect("decision");
    let d: DecisionBody = serde_json::from_slice(body).expect("body");
    let sealed = d.sealed_content.expect("sealed content");
    let raw = unseal(&key, "node-r", *seq, &sealed).expect("decrypts");
    assert_eq!(raw[0].1, text);
    assert!(unseal(&[8u8; 32], "node-r", *seq, &sealed).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn one_writer_per_store_and_instance_is_kept() {
    let dir = tmp_dir("lock");
    let s = dir.to_str().expect("utf8");
    let w = open_sink(s, opts("node-l")).expect("open");
    match open_sink(s, opts("node-l")) {
        Err(AuditError::Locked { .. }) => {}
        other => panic!("second writer must be refused, got {other:?}"),
    }
    w.close().expect("close");
    drop(w);
    let e = open_sink(s, opts("other-node")).expect_err("instance mismatch");
    assert!(
        e.to_string()
            .contains("holds the chain of instance \"node-l\""),
        "{e}"
    );
    for bad in ["", "has space", "slash/no"] {
        let e = open_sink(s, opts(bad)).expect_err(bad);
        assert!(e.to_string().contains("instance"), "{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reopening_continues_the_chain() {
    let dir = tmp_dir("reopen");
    let s = dir.to_str().expect("utf8");
    for round in 0..3 {
        let w = open_sink(
            s,
            SinkOptions {
                instance: None,
                ..opts("node-x")
            },
        )
        .expect("open");
        for i in 0..10 {
            w.record(event(round * 100 + i));
        }
        let st = w.close().expect("close");
        assert_eq!(st.decisions, 10);
    }
    let r = verify_store(s, None).expect("verify");
    assert!(r.ok(), "{}", r.to_text());
    let c = &r.chains[0];
    assert_eq!(c.sessions, 3);
    assert!(c.closed);
    assert_eq!(decisions(&dir).len(), 30);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn torn_tail_is_cut_saved_and_recorded() {
    type Damage = fn(&mut Vec<u8>);
    let cases: [(&str, Damage); 3] = [
        ("half a frame", |b| {
            let n = b.len();
            b.truncate(n - 20);
        }),
        ("a frame length and nothing else", |b| {
            b.extend_from_slice(&500u32.to_be_bytes())
        }),
        ("garbage over the last record", |b| {
            let n = b.len();
            for x in &mut b[n - 10..] {
                *x = 0;
            }
        }),
    ];
    for (name, damage) in cases {
        let dir = tmp_dir("torn");
        let s = dir.to_str().expect("utf8");
        let w = open_sink(s, opts("node-t")).expect("open");
        for i in 0..5 {
            w.record(event(i));
        }
        w.flush().expect("flush");
        drop(w); // closes: last record is the closing checkpoint
        let seg = dir.join("seg-000001.gba");
        let mut bytes = std::fs::read(&seg).expect("read");
        let before = bytes.len();
        damage(&mut bytes);
        std::fs::write(&seg, &bytes).expect("write");
        let broken = verify_store(s, None).expect("verify");
        assert!(
            !broken.ok(),
            "{name}: damage must be visible before recovery"
        );

        // A writer that is refused (wrong instance) cuts nothing: a cut is always recorded.
        open_sink(s, opts("wrong-node")).expect_err("instance mismatch");
        let torn_files = || {
            std::fs::read_dir(&dir)
                .expect("dir")
                .filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("torn-"))
                })
                .count()
        };
        assert_eq!(torn_files(), 0, "{name}: nothing cut by a refused writer");
        assert!(!verify_store(s, None).expect("verify").ok());

        let w = open_sink(s, opts("node-t")).expect("recovers");
        w.record(event(99));
        w.close().expect("close");
        let r = verify_store(s, None).expect("verify");
        assert!(r.ok(), "{name}: {}", r.to_text());
        assert_eq!(r.chains[0].recoveries, 1, "{name}");
        let recs = records(&dir);
        let rec: RecoveredBody = serde_json::from_slice(
            &recs
                .iter()
                .find(|r| r.0 == Kind::Recovered)
                .expect("recovered record")
                .2,
        )
        .expect("body");
        let saved = std::fs::read(dir.join(rec.saved_as.as_deref().expect("saved")))
            .expect("torn bytes kept");
        assert_eq!(saved.len() as u64, rec.bytes, "{name}");
        assert!(
            rec.bytes > 0 && rec.bytes <= (bytes.len().max(before)) as u64,
            "{name}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn time_based_checkpoints_follow_the_interval() {
    let dir = tmp_dir("interval");
    // An interval of zero: every record is followed by an interval checkpoint.
    let w = open_sink(
        dir.to_str().expect("utf8"),
        SinkOptions {
            checkpoint_interval: Duration::ZERO,
            checkpoint_every: 1000,
            ..opts("node-i")
        },
    )
    .expect("open");
    for i in 0..5 {
        w.record(event(i));
    }
    w.close().expect("close");
    let recs = records(&dir);
    let kinds: Vec<Kind> = recs.iter().map(|r| r.0).collect();
    // Every decision is immediately followed by a checkpoint; the last one is the close.
    assert_eq!(kinds.iter().filter(|k| **k == Kind::Decision).count(), 5);
    for (i, k) in kinds.iter().enumerate() {
        if *k == Kind::Decision {
            assert_eq!(
                kinds.get(i + 1),
                Some(&Kind::Checkpoint),
                "decision at {i} not followed by a checkpoint: {kinds:?}"
            );
        }
    }
    let reasons: Vec<String> = recs
        .iter()
        .filter(|r| r.0 == Kind::Checkpoint)
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.2).expect("json")["reason"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert!(
        reasons.iter().filter(|r| *r == "interval").count() >= 5,
        "{reasons:?}"
    );
    assert_eq!(reasons.last().map(String::as_str), Some("close"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_is_strict() {
    use glassbox_audit::SinkConfig;
    let e = serde_json::from_str::<SinkConfig>(r#"{"fsync":"batched","fsync_every":5}"#)
        .expect_err("unknown field");
    assert!(e.to_string().contains("unknown field `fsync_every`"), "{e}");
    for (json, want) in [
        (r#"{"fsync":"sometimes"}"#, "fsync: \"sometimes\""),
        (r#"{"overflow":"spill"}"#, "overflow: \"spill\""),
        (r#"{"signing_key":"/nonexistent/key"}"#, "/nonexistent/key"),
    ] {
        let c: SinkConfig = serde_json::from_str(json).expect("parses");
        let e = SinkOptions::from_config(&c).expect_err(json).to_string();
        assert!(e.contains(want), "{json}: {e}");
    }
    let c: SinkConfig = serde_json::from_str(
        r#"{"fsync":"every_record","overflow":"block","block_timeout_ms":7,"queue_capacity":9}"#,
    )
    .expect("parses");
    let o = SinkOptions::from_config(&c).expect("valid");
    assert_eq!(o.fsync, glassbox_audit::FsyncPolicy::EveryRecord);
    assert_eq!(o.overflow, OverflowPolicy::Block(Duration::from_millis(7)));
    assert_eq!(o.queue_capacity, 9);
}

#[test]
fn torn_segment_header_after_a_rotation_crash_is_recovered() {
    let dir = tmp_dir("torn-header");
    let s = dir.to_str().expect("utf8");
    let w = open_sink(s, opts("node-h")).expect("open");
    for i in 0..3 {
        w.record(event(i));
    }
    w.close().expect("close");
    // A crash while creating the next segment left 5 bytes of its header.
    std::fs::write(dir.join("seg-000002.gba"), b"GBAUD").expect("write");
    assert!(
        !verify_store(s, None).expect("verify").ok(),
        "a torn header is visible"
    );
    let w = open_sink(s, opts("node-h")).expect("recovers");
    w.record(event(3));
    w.close().expect("close");
    let r = verify_store(s, None).expect("verify");
    assert!(r.ok(), "{}", r.to_text());
    assert_eq!(r.chains[0].recoveries, 1);
    let rec: RecoveredBody = serde_json::from_slice(
        &records(&dir)
            .iter()
            .find(|r| r.0 == Kind::Recovered)
            .expect("recovered")
            .2,
    )
    .expect("body");
    assert_eq!(
        (rec.location.as_str(), rec.bytes),
        ("segment 000002, byte 0", 5)
    );
    assert_eq!(decisions(&dir).len(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}
