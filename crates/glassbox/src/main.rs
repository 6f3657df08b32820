//! `glassbox`: screen LLM traffic, check licences, keep evidence.
//!
//! One binary, subcommands: `scan` (batch screening of files / JSONL), `policy check`, `proxy`,
//! `demo`, `audit` and `models`. Every flag is also an environment variable
//! `GLASSBOX_*`.

mod policy_cmd;
mod scan;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// glassbox: a safety and compliance filter for the traffic of open-weight LLMs.
#[derive(Debug, Parser)]
#[command(name = "glassbox", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Screen text files, stdin, or JSONL rows; write one JSONL verdict per input.
    Scan(scan::ScanArgs),
    /// Work with policy files.
    Policy {
        #[command(subcommand)]
        command: policy_cmd::PolicyCommand,
    },
    /// Audit trail: keygen, verify, report.
    Audit(glassbox_audit::cli::AuditArgs),
    /// Model licences: glassbox's own models and the upstream models, with the policy's verdict.
    Models(glassbox_license::cli::ModelsArgs),
    /// Screen LLM traffic between clients and model servers (reverse proxy).
    Proxy(glassbox::proxy::ProxyArgs),
    /// Mock model server + proxy + sample traffic + a summary of what was allowed, masked, blocked.
    Demo(glassbox::demo::DemoArgs),
}

fn exit_code(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Policy { command } => policy_cmd::run(command),
        Command::Audit(args) => glassbox_audit::cli::run(args).map(exit_code),
        Command::Models(args) => glassbox_license::cli::run(args).map(exit_code),
        Command::Proxy(args) => glassbox::proxy::run(args),
        Command::Demo(args) => glassbox::demo::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("glassbox: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
