//! `glassbox audit …`: keygen, verify and report. The binary embeds [`AuditArgs`] as its
//! `audit` subcommand and calls [`run`]. Every flag is also an environment variable.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};

use crate::report::{self, ReportOptions};
use crate::time::{parse_time, DateEnd};
use crate::{keys, verify};

/// Audit trail tools: keys, verification, reports.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// `glassbox audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write a new checkpoint signing key pair and HMAC deployment key into DIR (mode 0600 for
    /// secrets, 0644 for the public key). Existing keys are never replaced.
    Keygen {
        /// Directory for the key files (created 0700 if missing).
        #[arg(long, env = "GLASSBOX_AUDIT_KEY_DIR", value_name = "DIR")]
        out: PathBuf,
        /// Also write a raw-content encryption key (for `content_key`; raw content stays off
        /// unless a writer is given it).
        #[arg(long, env = "GLASSBOX_AUDIT_CONTENT_KEY")]
        content_key: bool,
    },
    /// Check every chain and checkpoint signature in STORE; exit 0 when intact, 1 naming the
    /// first bad record of each damaged chain.
    Verify {
        /// Audit store: a directory (file store) or a postgres:// URL (`?schema=NAME` optional).
        #[arg(long, env = "GLASSBOX_AUDIT_STORE", value_name = "STORE")]
        store: String,
        /// Trusted public key (`audit-signing.pub`); without it signatures are checked against
        /// the key the chain itself declares.
        #[arg(long, env = "GLASSBOX_AUDIT_PUBLIC_KEY", value_name = "FILE")]
        public_key: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long, env = "GLASSBOX_AUDIT_JSON")]
        json: bool,
        /// Also fail when a chain does not end with a closing checkpoint (use once writers have
        /// shut down in order: records cut from the end of a chain are detected this way).
        #[arg(long, env = "GLASSBOX_AUDIT_REQUIRE_CLOSED")]
        require_closed: bool,
    },
    /// Write a compliance report (self-contained HTML, or JSON / CSV of the same numbers).
    Report {
        /// Audit store: a directory or a postgres:// URL.
        #[arg(long, env = "GLASSBOX_AUDIT_STORE", value_name = "STORE")]
        store: String,
        /// Output file.
        #[arg(long, env = "GLASSBOX_AUDIT_REPORT_OUT", value_name = "FILE")]
        out: PathBuf,
        /// Output format.
        #[arg(long, env = "GLASSBOX_AUDIT_REPORT_FORMAT", value_enum, default_value_t = Format::Html)]
        format: Format,
        /// Start of the period (2026-11-01 or RFC 3339), inclusive.
        #[arg(long, env = "GLASSBOX_AUDIT_FROM", value_name = "T")]
        from: Option<String>,
        /// End of the period (a bare date includes that whole day), exclusive.
        #[arg(long, env = "GLASSBOX_AUDIT_TO", value_name = "T")]
        to: Option<String>,
        /// Trusted public key for the chain verification section.
        #[arg(long, env = "GLASSBOX_AUDIT_PUBLIC_KEY", value_name = "FILE")]
        public_key: Option<PathBuf>,
    },
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Self-contained HTML with inline SVG charts.
    Html,
    /// JSON.
    Json,
    /// CSV, one number a row.
    Csv,
}

/// Runs a `glassbox audit` command; returns the process exit code (0 ok, 1 verification
/// failed). Usage and I/O errors are `Err` (the binary prints them and exits 2).
///
/// # Errors
/// Unreadable keys or store, bad times, unwritable output.
pub fn run(args: AuditArgs) -> anyhow::Result<i32> {
    match args.command {
        AuditCommand::Keygen { out, content_key } => {
            let f = keys::keygen(&out, content_key)?;
            println!("wrote {} (secret, 0600)", f.signing_key.display());
            println!(
                "wrote {} (public: all `glassbox audit verify` needs)",
                f.public_key.display()
            );
            println!(
                "wrote {} (HMAC deployment key for content digests, 0600)",
                f.hmac_key.display()
            );
            if let Some(c) = &f.content_key {
                println!("wrote {} (raw-content key, 0600)", c.display());
            }
            println!("key id {}", f.key_id);
            Ok(0)
        }
        AuditCommand::Verify {
            store,
            public_key,
            json,
            require_closed,
        } => {
            let pk = public_key
                .as_deref()
                .map(keys::load_public_key)
                .transpose()?;
            let r = verify::verify_store(&store, pk)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print!("{}", r.to_text());
            }
            let open: Vec<_> = r
                .chains
                .iter()
                .filter(|c| c.ok() && !c.closed && c.records > 0)
                .collect();
            if require_closed && !open.is_empty() {
                for c in &open {
                    eprintln!(
                        "not closed: {} ends at seq {} without a closing checkpoint (records may have been cut from the end)",
                        c.chain,
                        c.last_seq.unwrap_or(0)
                    );
                }
                return Ok(1);
            }
            Ok(if r.ok() { 0 } else { 1 })
        }
        AuditCommand::Report {
            store,
            out,
            format,
            from,
            to,
            public_key,
        } => {
            let opts = ReportOptions {
                from_ms: from
                    .as_deref()
                    .map(|t| parse_time(t, DateEnd::Start))
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--from {e}"))?,
                to_ms: to
                    .as_deref()
                    .map(|t| parse_time(t, DateEnd::End))
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--to {e}"))?,
                public_key: public_key
                    .as_deref()
                    .map(keys::load_public_key)
                    .transpose()?,
                generated_ms: None,
            };
            if let (Some(f), Some(t)) = (opts.from_ms, opts.to_ms) {
                anyhow::ensure!(f < t, "--from must be before --to");
            }
            let r = report::build_report(&store, &opts)?;
            let text = match format {
                Format::Html => report::to_html(&r),
                Format::Json => report::to_json(&r),
                Format::Csv => report::to_csv(&r),
            };
            std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {}: {} decisions, chains {}",
                out.display(),
                r.summary.decisions,
                if r.summary.chains_intact {
                    "intact"
                } else {
                    "NOT INTACT"
                }
            );
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Top {
        #[command(flatten)]
        audit: AuditArgs,
    }

    #[test]
    fn parses_the_documented_commands() {
        let t = Top::try_parse_from([
            "glassbox",
            "report",
            "--store",
            "/s",
            "--out",
            "r.csv",
            "--format",
            "csv",
            "--from",
            "2026-11-01",
        ])
        .expect("parses");
        match t.audit.command {
            AuditCommand::Report { format, from, .. } => {
                assert_eq!(format, Format::Csv);
                assert_eq!(from.as_deref(), Some("2026-11-01"));
            }
            other => panic!("wrong command {other:?}"),
        }
        assert!(
            Top::try_parse_from(["glassbox", "verify"]).is_err(),
            "--store is required"
        );
        assert!(Top::try_parse_from(["glassbox", "keygen", "--out", "k"]).is_ok());
    }
}
