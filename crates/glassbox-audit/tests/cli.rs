//! `glassbox audit keygen | verify | report` through the `cli` module, as the binary runs them.

mod common;

use clap::Parser;
use common::{event, tmp_dir};
use glassbox_audit::cli::{run, AuditArgs};
use glassbox_audit::{open_sink, SinkOptions};
use glassbox_core::AuditSink;

#[derive(Debug, Parser)]
struct Glassbox {
    #[command(flatten)]
    audit: AuditArgs,
}

fn audit(args: &[&str]) -> anyhow::Result<i32> {
    let mut v = vec!["glassbox-audit"];
    v.extend_from_slice(args);
    run(Glassbox::try_parse_from(v)?.audit)
}

#[test]
fn keygen_verify_report_round_trip() {
    let dir = tmp_dir("cli");
    let keys = dir.join("keys");
    let store = dir.join("store");
    let (k, s) = (keys.to_str().expect("utf8"), store.to_str().expect("utf8"));
    assert_eq!(audit(&["keygen", "--out", k]).expect("keygen"), 0);
    assert!(
        audit(&["keygen", "--out", k]).is_err(),
        "keys are never replaced"
    );

    let opts = SinkOptions::default()
        .signing_key_file(&keys.join("audit-signing.key"))
        .expect("signing key");
    let w = open_sink(
        s,
        SinkOptions {
            instance: Some("cli-node".into()),
            checkpoint_every: 7,
            ..opts
        },
    )
    .expect("open");
    for i in 0..30 {
        w.record(event(i));
    }
    w.close().expect("close");

    let pubkey = keys.join("audit-signing.pub");
    let p = pubkey.to_str().expect("utf8");
    assert_eq!(
        audit(&["verify", "--store", s, "--public-key", p]).expect("verify"),
        0
    );
    assert_eq!(
        audit(&["verify", "--store", s, "--require-closed"]).expect("verify"),
        0
    );

    for (fmt, needle) in [
        ("html", "<!DOCTYPE html>"),
        ("json", "\"decisions\": 30"),
        ("csv", "summary,,,decisions,30"),
    ] {
        let out = dir.join(format!("r.{fmt}"));
        let o = out.to_str().expect("utf8");
        assert_eq!(
            audit(&[
                "report",
                "--store",
                s,
                "--out",
                o,
                "--format",
                fmt,
                "--public-key",
                p
            ])
            .expect("report"),
            0
        );
        let text = std::fs::read_to_string(&out).expect("written");
        assert!(text.contains(needle), "{fmt}: {needle} missing");
    }
    let e = audit(&[
        "report",
        "--store",
        s,
        "--out",
        "x",
        "--from",
        "last tuesday",
    ])
    .expect_err("bad time");
    assert!(e.to_string().contains("--from \"last tuesday\""), "{e}");

    // A foreign public key: verification fails with exit code 1.
    let other = dir.join("other");
    audit(&["keygen", "--out", other.to_str().expect("utf8")]).expect("keygen");
    let op = other.join("audit-signing.pub");
    assert_eq!(
        audit(&[
            "verify",
            "--store",
            s,
            "--public-key",
            op.to_str().expect("utf8")
        ])
        .expect("verify"),
        1
    );

    // Cut the closing checkpoint: plain verify passes (a live writer looks the same), but
    // --require-closed fails.
    let seg = store.join("seg-000001.gba");
    let (h, f) = common::read_segment(&seg);
    common::write_segment(&seg, &h, &f[..f.len() - 1]);
    assert_eq!(audit(&["verify", "--store", s]).expect("verify"), 0);
    assert_eq!(
        audit(&["verify", "--store", s, "--require-closed"]).expect("verify"),
        1
    );
    let missing = dir.join("nope");
    assert!(
        audit(&["verify", "--store", missing.to_str().expect("utf8")]).is_err(),
        "a missing store is a usage error"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
