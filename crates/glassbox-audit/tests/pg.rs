//! The PostgreSQL store against a real server (scripts/setup.d/30-postgres.sh starts one and
//! scripts/env.d/30-postgres.sh exports GLASSBOX_TEST_PG_URL). Each test uses its own schema.
//! Without the variable the tests print that they are skipped, and fail under `CI`.

mod common;

use common::{event, pg_schema_url, pg_url};
use ed25519_dalek::SigningKey;
use glassbox_audit::record::{self, Kind};
use glassbox_audit::{open_sink, verify_store, AuditError, FsyncPolicy, SinkOptions};
use glassbox_core::AuditSink;
use postgres::{Client, NoTls};

const KEY: [u8; 32] = [21u8; 32];

fn opts(instance: &str) -> SinkOptions {
    SinkOptions {
        instance: Some(instance.into()),
        signing_key: Some(SigningKey::from_bytes(&KEY)),
        hmac_key: Some([2u8; 32]),
        checkpoint_every: 16,
        ..SinkOptions::default()
    }
}

fn client(url: &str) -> (Client, String) {
    let (base, schema) = url.rsplit_once("schema=").expect("schema");
    let base = base.trim_end_matches(['?', '&']);
    (
        Client::connect(base, NoTls).expect("connect"),
        format!("\"{schema}\".glassbox_audit_records"),
    )
}

/// Writes `n` decisions for each instance, all instances concurrently.
fn fleet(url: &str, instances: &[&str], n: u64, fsync: FsyncPolicy) {
    std::thread::scope(|s| {
        for (k, inst) in instances.iter().enumerate() {
            s.spawn(move || {
                let w = open_sink(
                    url,
                    SinkOptions {
                        fsync,
                        ..opts(inst)
                    },
                )
                .expect("open");
                for i in 0..n {
                    w.record(event(k as u64 * 10_000 + i));
                }
                let st = w.close().expect("close");
                assert_eq!(st.decisions, n);
            });
        }
    });
}

#[test]
fn fleet_chains_verify_per_instance() {
    let Some(base) = pg_url("fleet_chains_verify_per_instance") else {
        return;
    };
    let url = pg_schema_url(&base, "fleet");
    let _cleanup = common::DropSchema(url.clone());
    // Long batches: rows go in with binary COPY; the every-record round below uses INSERT.
    fleet(
        &url,
        &["node-1", "node-2", "node-3"],
        120,
        FsyncPolicy::Batched(std::time::Duration::from_millis(200)),
    );
    // A second session on node-2 continues its chain.
    fleet(&url, &["node-2"], 10, FsyncPolicy::EveryRecord);
    let pk = SigningKey::from_bytes(&KEY).verifying_key();
    let r = verify_store(&url, Some(pk)).expect("verify");
    assert!(r.ok(), "{}", r.to_text());
    let names: Vec<_> = r
        .chains
        .iter()
        .map(|c| c.instance.clone().expect("instance"))
        .collect();
    assert_eq!(names, ["node-1", "node-2", "node-3"]);
    assert_eq!(r.chains[1].sessions, 2);
    assert!(r.chains.iter().all(|c| c.closed && c.unsigned_tail == 0));

    // The report covers the whole fleet.
    let rep = glassbox_audit::report::build_report(
        &url,
        &glassbox_audit::report::ReportOptions {
            public_key: Some(pk),
            ..Default::default()
        },
    )
    .expect("report");
    assert_eq!(rep.summary.instances, 3);
    assert_eq!(rep.summary.decisions, 3 * 120 + 10);
    assert!(rep.summary.chains_intact);
}

/// Reads one instance's rows, lets `f` change them, rewrites the table rows.
fn rewrite(url: &str, instance: &str, f: impl FnOnce(&mut Vec<Vec<u8>>)) {
    let (mut c, t) = client(url);
    let rows = c
        .query(
            &format!("SELECT record FROM {t} WHERE instance = $1 ORDER BY seq"),
            &[&instance],
        )
        .expect("select");
    let mut recs: Vec<Vec<u8>> = rows.iter().map(|r| r.get(0)).collect();
    f(&mut recs);
    let mut tx = c.transaction().expect("tx");
    tx.execute(
        &format!("DELETE FROM {t} WHERE instance = $1"),
        &[&instance],
    )
    .expect("delete");
    for r in &recs {
        let h = record::decode(r).expect("decode");
        let hash = record::hash(r).to_vec();
        tx.execute(
            &format!("INSERT INTO {t} (instance, seq, ts_ms, kind, prev_hash, hash, record) VALUES ($1,$2,$3,$4,$5,$6,$7)"),
            &[&instance, &(h.seq as i64), &h.ts_ms, &i16::from(h.kind.code()), &h.prev_hash.to_vec(), &hash, r],
        )
        .expect("insert");
    }
    tx.commit().expect("commit");
}

/// The attacker without the key: renumber and re-link from `from` on, fixing checkpoint fields.
fn rechain(recs: &mut [Vec<u8>], from: usize) {
    let mut prev = if from == 0 {
        record::GENESIS_PREV
    } else {
        record::hash(&recs[from - 1])
    };
    for (i, r) in recs.iter_mut().enumerate().skip(from) {
        let h = record::decode(r).expect("decode");
        let (kind, ts, inst) = (h.kind, h.ts_ms, h.instance.to_string());
        let mut body = h.body.to_vec();
        if kind == Kind::Checkpoint {
            let mut v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            v["signed_seq"] = serde_json::json!(i as u64 - 1);
            v["signed_hash"] = serde_json::json!(hex::encode(prev));
            body = serde_json::to_vec(&v).expect("json");
        }
        *r = record::encode(kind, i as u64, ts, &prev, &inst, &body);
        prev = record::hash(r);
    }
}

#[test]
fn tampering_in_postgres_is_detected_and_named() {
    let Some(base) = pg_url("tampering_in_postgres_is_detected_and_named") else {
        return;
    };
    let url = pg_schema_url(&base, "tamper");
    let _cleanup = common::DropSchema(url.clone());
    let insts = ["a-edit", "b-delete", "c-rechain", "d-column", "e-intact"];
    fleet(
        &url,
        &insts,
        40,
        FsyncPolicy::Batched(std::time::Duration::from_millis(5)),
    );
    let (mut c, t) = client(&url);
    // Edit bytes in place (the hash column stays): hash mismatch.
    c.execute(
        &format!("UPDATE {t} SET record = overlay(record placing '\\x58'::bytea from length(record) - 3) WHERE instance = 'a-edit' AND seq = 10"),
        &[],
    )
    .expect("update");
    // Delete a row: a gap.
    c.execute(
        &format!("DELETE FROM {t} WHERE instance = 'b-delete' AND seq = 20"),
        &[],
    )
    .expect("delete");
    // Edit, then recompute every later hash without the signing key.
    rewrite(&url, "c-rechain", |recs| {
        let at = recs[5]
            .windows(5)
            .position(|w| w == b"req-2")
            .expect("req id");
        recs[5][at + 4] = b'9';
        rechain(recs, 5);
    });
    // A convenience column that disagrees with the record bytes.
    c.execute(
        &format!("UPDATE {t} SET ts_ms = ts_ms + 1 WHERE instance = 'd-column' AND seq = 3"),
        &[],
    )
    .expect("update");

    let pk = SigningKey::from_bytes(&KEY).verifying_key();
    let r = verify_store(&url, Some(pk)).expect("verify");
    assert!(!r.ok());
    let problem = |i: usize| {
        r.chains[i]
            .problem
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default()
    };
    let table = [
        (0, "record seq 10 (row instance=\"a-edit\" seq=10): hash mismatch"),
        (1, "record seq 21 (row instance=\"b-delete\" seq=21): seq 21 follows seq 19: records 20..=20 are missing"),
        (2, "record seq 16 (row instance=\"c-rechain\" seq=16): checkpoint signature does not verify with the trusted public key"),
        (3, "ts_ms column"),
    ];
    for (i, want) in table {
        assert!(
            problem(i).contains(want),
            "chain {i}: {} does not contain {want}",
            problem(i)
        );
    }
    assert!(r.chains[4].ok(), "untouched instance stays intact");
}

#[test]
fn matched_text_never_reaches_postgres_unless_raw_content_is_on() {
    let Some(base) = pg_url("matched_text_never_reaches_postgres_unless_raw_content_is_on") else {
        return;
    };
    const SECRET: &str = "AKIAQZ7XK2M4N6P8R0T3";
    for (raw, inst) in [(false, "raw-off"), (true, "raw-on")] {
        let url = pg_schema_url(&base, inst.replace('-', "_").as_str());
        let _cleanup = common::DropSchema(url.clone());
        let w = open_sink(
            &url,
            SinkOptions {
                content_key: raw.then_some([4u8; 32]),
                ..opts(inst)
            },
        )
        .expect("open");
        let mut ev = event(1);
        ev.raw_content = vec![("response".into(), format!("here is the key {SECRET}"))];
        w.record(ev);
        w.close().expect("close");
        let (mut c, t) = client(&url);
        // Every byte of every column of every row, as text.
        let dump: String = c
            .query_one(&format!("SELECT string_agg(t::text, '\n') FROM {t} t"), &[])
            .expect("dump")
            .get(0);
        assert!(!dump.contains(SECRET), "{inst}: secret in a row");
        assert!(
            !dump.contains(&hex::encode(SECRET)),
            "{inst}: secret (hex) in a row"
        );
        let sealed: i64 = c
            .query_one(&format!("SELECT count(*) FROM {t} WHERE position('sealed_content'::bytea in record) > 0"), &[])
            .expect("count")
            .get(0);
        assert_eq!(
            sealed,
            i64::from(raw),
            "{inst}: sealed content only when raw content is on"
        );
    }
}

#[test]
fn one_writer_per_instance() {
    let Some(base) = pg_url("one_writer_per_instance") else {
        return;
    };
    let url = pg_schema_url(&base, "lock");
    let _cleanup = common::DropSchema(url.clone());
    let w = open_sink(&url, opts("solo")).expect("open");
    match open_sink(&url, opts("solo")) {
        Err(AuditError::Locked { .. }) => {}
        other => panic!("second writer for one instance must be refused: {other:?}"),
    }
    let other = open_sink(&url, opts("other")).expect("another instance is fine");
    other.close().expect("close");
    w.close().expect("close");
    drop(w);
    // The lock goes with the connection: the instance can be reopened.
    open_sink(&url, opts("solo"))
        .expect("reopen")
        .close()
        .expect("close");
}
