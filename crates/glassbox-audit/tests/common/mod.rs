//! Shared test helpers: sample events, temporary stores, the PostgreSQL URL and a segment
//! rewriter for tamper tests (an independent reading of FORMAT.md).
#![allow(dead_code, missing_docs)]

use std::path::{Path, PathBuf};

use glassbox_core::audit::{
    ContentDigest, Coverage, DecisionEvent, DetectorDigest, Direction, FailOpen, FindingRecord,
    Outcome,
};
use glassbox_core::Action;

/// A fresh, empty temporary directory unique to this test.
pub fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "gb-audit-{name}-{}-{}",
        std::process::id(),
        glassbox_audit::time::now_ms()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

/// A decision event; `i` varies policy, findings, verdict, model and fail-open deterministically.
pub fn event(i: u64) -> DecisionEvent {
    let verdicts = [Action::Allow, Action::Annotate, Action::Mask, Action::Block];
    let verdict = verdicts[(i % 4) as usize];
    let mut findings = Vec::new();
    if verdict != Action::Allow {
        findings.push(FindingRecord {
            category: if i.is_multiple_of(3) {
                "secret.github_token"
            } else {
                "pii.email"
            }
            .into(),
            action: verdict,
            detector: if i.is_multiple_of(3) {
                "secrets"
            } else {
                "pii"
            }
            .into(),
            start: 10,
            len: 40,
            score: 1.0,
        });
    }
    DecisionEvent {
        request_id: format!("req-{i}"),
        route: "/v1/chat/completions".into(),
        direction: if i.is_multiple_of(2) {
            Direction::Request
        } else {
            Direction::Response
        },
        tenant: Some("acme".into()),
        model: Some(
            if i.is_multiple_of(5) {
                "mistral-7b-instruct"
            } else {
                "llama-3.1-8b-instruct"
            }
            .into(),
        ),
        model_licence: Some(
            if i.is_multiple_of(5) {
                "Apache-2.0"
            } else {
                "LicenseRef-Llama-3.1-Community"
            }
            .into(),
        ),
        policy_id: if i.is_multiple_of(2) {
            "default"
        } else {
            "strict"
        }
        .into(),
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
        findings,
        verdict,
        content_digests: vec![ContentDigest {
            part: "request".into(),
            hmac_sha256: "00".repeat(32),
            bytes: 100,
        }],
        coverage: Coverage {
            bytes_screened: 100,
            bytes_released: 100,
            ..Coverage::default()
        },
        fail_open: if i % 10 == 7 {
            vec![FailOpen {
                detector: "toxicity".into(),
                reason: "model timeout".into(),
            }]
        } else {
            vec![]
        },
        outcome: if verdict == Action::Block {
            Outcome::Blocked
        } else {
            Outcome::Completed
        },
        raw_content: vec![],
    }
}

/// The PostgreSQL URL for tests, or `None` (printing why) when tests should be skipped.
/// Under `CI` a missing database is a failure, not a skip.
pub fn pg_url(test: &str) -> Option<String> {
    match std::env::var("GLASSBOX_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "GLASSBOX_TEST_PG_URL is not set under CI: run scripts/setup.sh and source scripts/env.sh"
            );
            eprintln!("SKIPPED {test}: GLASSBOX_TEST_PG_URL is not set (run scripts/setup.sh 30-postgres; source scripts/env.sh)");
            None
        }
    }
}

/// Drops a test's schema when the test ends (pass or fail).
pub struct DropSchema(pub String);

impl Drop for DropSchema {
    fn drop(&mut self) {
        let Some((base, schema)) = self.0.rsplit_once("schema=") else {
            return;
        };
        if let Ok(mut c) =
            postgres::Client::connect(base.trim_end_matches(['?', '&']), postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
        }
    }
}

/// A PostgreSQL URL with a schema of its own for this test.
pub fn pg_schema_url(base: &str, test: &str) -> String {
    let schema = format!(
        "t_{}_{}_{}",
        test,
        std::process::id(),
        glassbox_audit::time::now_ms() % 1_000_000_000
    );
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}schema={schema}")
}

/// One frame of a segment file: canonical bytes and stored hash.
#[derive(Debug, Clone)]
pub struct Frame {
    pub bytes: Vec<u8>,
    pub hash: [u8; 32],
}

/// Reads a segment file per FORMAT.md: 16-byte header, then `len | bytes | hash` frames.
pub fn read_segment(path: &Path) -> ([u8; 16], Vec<Frame>) {
    let buf = std::fs::read(path).expect("segment");
    let mut header = [0u8; 16];
    header.copy_from_slice(&buf[..16]);
    let mut o = 16;
    let mut frames = Vec::new();
    while o < buf.len() {
        let len = u32::from_be_bytes(buf[o..o + 4].try_into().expect("4")) as usize;
        let bytes = buf[o + 4..o + 4 + len].to_vec();
        let hash: [u8; 32] = buf[o + 4 + len..o + 36 + len].try_into().expect("32");
        frames.push(Frame { bytes, hash });
        o += 36 + len;
    }
    (header, frames)
}

/// Writes a segment file back.
pub fn write_segment(path: &Path, header: &[u8; 16], frames: &[Frame]) {
    let mut out = header.to_vec();
    for f in frames {
        out.extend_from_slice(&(f.bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&f.bytes);
        out.extend_from_slice(&f.hash);
    }
    std::fs::write(path, out).expect("write segment");
}

/// Byte offset of frame `i` in a segment.
pub fn frame_offset(frames: &[Frame], i: usize) -> usize {
    16 + frames[..i]
        .iter()
        .map(|f| 36 + f.bytes.len())
        .sum::<usize>()
}
