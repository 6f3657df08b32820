//! `glassbox scan`: screen text files, stdin or JSONL rows and write one JSONL verdict per input.
//!
//! Output rows are `{"id", "verdict", "findings": [{category, start, end, score, detector,
//! action}], "masked"?}`; `masked` is present when a finding was masked or blocked. With
//! `--stream`, each text goes through the streaming path, cut at the row's `"chunks"` byte
//! offsets, and the streamed findings are checked against the whole-text findings.
//!
//! When the policy enables classifiers (`classifiers:`), each text is also classified as a whole
//! (direction `scan`; models from `--models-dir`, else `$GLASSBOX_MODELS`). Classifiers see
//! whole texts only, so the `--stream` self-check compares the pattern findings of the two
//! paths; the classifier findings are reported with the rest.
//!
//! Exit codes: 0 clean, 1 a verdict at or above `--fail-on`, 2 a usage or input error (each bad
//! input is reported on stderr with its file, line and reason; the other inputs are still
//! processed).

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use glassbox_classify::block_on;
use glassbox_core::audit::{
    ContentDigest, Coverage, DecisionEvent, Direction, FailOpen, FindingRecord, Outcome,
};
use glassbox_core::{Action, AuditSink, Engine, Finding, ScanOutcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use glassbox::build;

/// `glassbox scan` arguments.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Text files to screen, one text each (`-` or none: stdin). With `--jsonl`, JSONL files.
    pub files: Vec<PathBuf>,
    /// Inputs are JSONL: one `{"id": …, "text": …, "chunks"?: [byte offsets]}` per line.
    #[arg(long, env = "GLASSBOX_JSONL")]
    pub jsonl: bool,
    /// Policy file (the built-in default policy when absent).
    #[arg(long, env = "GLASSBOX_POLICY")]
    pub policy: Option<PathBuf>,
    /// Model bundles directory for the policy's classifiers (default: `$GLASSBOX_MODELS`, else
    /// `./models`).
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Where the policy's classifiers run.
    #[command(flatten)]
    pub devices: build::DeviceArgs,
    /// Screen through the streaming path, cut at each row's `chunks` offsets.
    #[arg(long, env = "GLASSBOX_STREAM")]
    pub stream: bool,
    /// Exit 1 when a verdict is at or above this action.
    #[arg(long, env = "GLASSBOX_FAIL_ON", default_value = "annotate", value_parser = parse_action)]
    pub fail_on: Action,
    /// Write an audit record per input to this store (a directory or a postgres:// URL).
    #[arg(long, env = "GLASSBOX_AUDIT_STORE", value_name = "STORE")]
    pub audit: Option<String>,
    /// Ed25519 signing key for the audit checkpoints (from `glassbox audit keygen`).
    #[arg(
        long,
        env = "GLASSBOX_AUDIT_SIGNING_KEY",
        value_name = "FILE",
        requires = "audit"
    )]
    pub signing_key: Option<PathBuf>,
    /// HMAC deployment key for the records' content digests (from `glassbox audit keygen`).
    /// Without it a per-session key is used and a digest cannot be re-computed later to prove
    /// which text a record is about.
    #[arg(
        long,
        env = "GLASSBOX_AUDIT_HMAC_KEY",
        value_name = "FILE",
        requires = "audit"
    )]
    pub hmac_key: Option<PathBuf>,
}

fn parse_action(s: &str) -> Result<Action, String> {
    Action::parse(s)
        .ok_or_else(|| format!("`{s}` is not an action: use allow, annotate, mask or block"))
}

/// One JSONL input row.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    id: Value,
    text: String,
    #[serde(default)]
    chunks: Option<Vec<usize>>,
}

/// One output row.
#[derive(Debug, Serialize)]
struct Verdict<'a> {
    id: &'a Value,
    verdict: Action,
    findings: &'a [Finding],
    #[serde(skip_serializing_if = "Option::is_none")]
    masked: Option<String>,
}

struct Scanner {
    engine: Engine,
    audit: Option<glassbox_audit::AuditWriter>,
    stream: bool,
    fail_on: Action,
    worst: Action,
    input_errors: usize,
}

impl Scanner {
    fn error(&mut self, origin: &str, msg: impl std::fmt::Display) {
        self.input_errors += 1;
        eprintln!("glassbox scan: {origin}: {msg}");
    }

    /// Screens one text and writes its row.
    fn screen(
        &mut self,
        out: &mut impl Write,
        origin: &str,
        id: &Value,
        text: &str,
        chunks: Option<&[usize]>,
    ) -> anyhow::Result<()> {
        let whole = if self.engine.classifiers().is_empty() {
            self.engine.scan(text)
        } else {
            block_on(self.engine.scan_classified(text, Direction::Scan))
        };
        let (findings, masked) = if self.stream {
            let cuts = chunks.unwrap_or(&[]);
            if let Some(bad) = check_chunks(cuts, text.len()) {
                self.error(origin, bad);
                return Ok(());
            }
            match self.stream_text(text, cuts) {
                Ok(r) => r,
                Err(e) => {
                    self.error(origin, e);
                    return Ok(());
                }
            }
        } else {
            let masked = whole.masked(text);
            (whole.findings.clone(), masked)
        };
        // Classifiers see whole texts only: the streaming self-check compares pattern findings.
        let classified = |f: &&Finding| {
            self.engine
                .classifiers()
                .iter()
                .any(|c| c.name() == f.detector)
        };
        if self.stream
            && findings
                .iter()
                .ne(whole.findings.iter().filter(|f| !classified(f)))
        {
            // The streaming path must agree with the whole text; say so loudly if not.
            anyhow::bail!("{origin}: streamed findings differ from whole-text findings (a glassbox bug; please report it with this input)");
        }
        for f in &whole.failures {
            eprintln!(
                "glassbox scan: {origin}: {} ({})",
                f.error,
                if f.fail_open {
                    "on_error: open, text passed unscreened by it"
                } else {
                    "on_error: closed, blocked"
                }
            );
        }
        self.worst = self.worst.max(whole.verdict);
        if let Some(sink) = &self.audit {
            sink.record(self.event(id, text, &whole));
        }
        // The reported findings: the streamed pattern findings plus the whole-text classifier ones.
        let findings = if self.stream && !self.engine.classifiers().is_empty() {
            let mut all = findings;
            all.extend(whole.findings.iter().filter(|f| classified(f)).cloned());
            all.sort_by(|a, b| {
                (a.start, std::cmp::Reverse(a.end), a.category.as_str()).cmp(&(
                    b.start,
                    std::cmp::Reverse(b.end),
                    b.category.as_str(),
                ))
            });
            all
        } else {
            findings
        };
        let show_masked = findings.iter().any(|f| f.action >= Action::Mask);
        let row = Verdict {
            id,
            verdict: whole.verdict,
            findings: &findings,
            masked: show_masked.then_some(masked),
        };
        serde_json::to_writer(&mut *out, &row)?;
        out.write_all(b"\n")?;
        Ok(())
    }

    /// The audit record for one screened text: findings without content, a keyed digest.
    fn event(&self, id: &Value, text: &str, outcome: &ScanOutcome) -> DecisionEvent {
        let policy = self.engine.policy();
        let content_digests = self
            .audit
            .as_ref()
            .and_then(|a| a.digester())
            .map(|mut d| {
                d.update(text.as_bytes());
                vec![ContentDigest {
                    part: "text".into(),
                    hmac_sha256: d.finish(),
                    bytes: text.len() as u64,
                }]
            })
            .unwrap_or_default();
        DecisionEvent {
            request_id: match id {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            route: "scan".into(),
            direction: Direction::Scan,
            tenant: None,
            model: None,
            model_licence: None,
            policy_id: policy.id.clone(),
            policy_sha256: policy.sha256.clone(),
            detectors: self.engine.digests(),
            findings: outcome.findings.iter().map(FindingRecord::from).collect(),
            verdict: outcome.verdict,
            content_digests,
            coverage: Coverage {
                bytes_screened: text.len() as u64,
                bytes_released: if outcome.verdict == Action::Block {
                    0
                } else {
                    text.len() as u64
                },
                ..Coverage::default()
            },
            fail_open: outcome
                .failures
                .iter()
                .filter(|f| f.fail_open)
                .map(|f| FailOpen {
                    detector: f.error.detector.clone(),
                    reason: f.error.reason.clone(),
                })
                .collect(),
            outcome: if outcome.verdict == Action::Block {
                Outcome::Blocked
            } else {
                Outcome::Completed
            },
            raw_content: Vec::new(),
        }
    }

    fn stream_text(&self, text: &str, cuts: &[usize]) -> anyhow::Result<(Vec<Finding>, String)> {
        let mut s = self.engine.stream();
        let mut findings = Vec::new();
        let mut released = String::new();
        let mut at = 0;
        for &c in cuts.iter().chain(std::iter::once(&text.len())) {
            let chunk = s.feed(&text.as_bytes()[at..c])?;
            released.push_str(&chunk.text);
            findings.extend(chunk.findings);
            at = c;
        }
        let chunk = s.finish()?;
        released.push_str(&chunk.text);
        findings.extend(chunk.findings);
        Ok((findings, released))
    }
}

fn check_chunks(cuts: &[usize], len: usize) -> Option<String> {
    let mut prev = 0;
    for (i, &c) in cuts.iter().enumerate() {
        if c > len {
            return Some(format!(
                "chunks[{i}] = {c} is past the end of the text ({len} bytes)"
            ));
        }
        if c < prev {
            return Some(format!(
                "chunks[{i}] = {c} is smaller than chunks[{}] = {prev}; offsets must ascend",
                i - 1
            ));
        }
        prev = c;
    }
    None
}

/// Runs `glassbox scan`.
pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    let policy = build::load_policy(args.policy.as_deref())?;
    let options = build::ClassifierOptions {
        models_dir: args.models_dir.clone(),
        runtime: args.devices.runtime(),
    };
    build::check_bundle_devices(&policy, &options.runtime)?;
    let engine = build::engine_with(policy, &options)?;
    let audit = match &args.audit {
        None => None,
        Some(store) => {
            let mut opts = glassbox_audit::SinkOptions::default();
            if let Some(key) = &args.signing_key {
                opts = opts.signing_key_file(key)?;
            }
            if let Some(key) = &args.hmac_key {
                opts.hmac_key = Some(glassbox_audit::keys::load_hmac_key(key)?);
            }
            Some(
                glassbox_audit::open_sink(store, opts)
                    .with_context(|| format!("cannot open audit store {store}"))?,
            )
        }
    };
    let mut scanner = Scanner {
        engine,
        audit,
        stream: args.stream,
        fail_on: args.fail_on,
        worst: Action::Allow,
        input_errors: 0,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files.clone()
    };
    for file in &files {
        let name = file.display().to_string();
        let mut bytes = Vec::new();
        let read = if name == "-" {
            std::io::stdin().read_to_end(&mut bytes).map(|_| ())
        } else {
            std::fs::File::open(file)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map(|_| ())
        };
        if let Err(e) = read {
            scanner.error(&name, format!("cannot read: {e}"));
            continue;
        }
        if args.jsonl {
            for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
                let origin = format!("{name}:{}", i + 1);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let line = match std::str::from_utf8(line) {
                    Ok(l) => l,
                    Err(e) => {
                        scanner.error(
                            &origin,
                            format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
                        );
                        continue;
                    }
                };
                match serde_json::from_str::<Row>(line) {
                    Ok(row) => scanner.screen(
                        &mut out,
                        &origin,
                        &row.id,
                        &row.text,
                        row.chunks.as_deref(),
                    )?,
                    Err(e) => scanner.error(
                        &origin,
                        format!("invalid row: {e} (expected {{\"id\": …, \"text\": \"…\"}})"),
                    ),
                }
            }
        } else {
            match String::from_utf8(bytes) {
                Ok(text) => {
                    let id = Value::String(name.clone());
                    scanner.screen(&mut out, &name, &id, &text, None)?;
                }
                Err(e) => scanner.error(
                    &name,
                    format!(
                        "invalid UTF-8 at byte {}: glassbox screens text",
                        e.utf8_error().valid_up_to()
                    ),
                ),
            }
        }
    }
    out.flush().context("cannot write results")?;
    if let (Some(sink), Some(store)) = (&scanner.audit, &args.audit) {
        let stats = sink.close().context("cannot finish the audit trail")?;
        eprintln!(
            "glassbox scan: audit: {} decision record(s) written to {store}{}",
            stats.decisions,
            if stats.dropped > 0 {
                format!(" ({} dropped, recorded as overflow)", stats.dropped)
            } else {
                String::new()
            }
        );
    }
    if scanner.input_errors > 0 {
        return Ok(2);
    }
    Ok(u8::from(
        scanner.worst >= scanner.fail_on && scanner.worst != Action::Allow,
    ))
}
