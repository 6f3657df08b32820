//! `glassbox`: screen LLM traffic, check licences, keep evidence.
//!
//! One binary, subcommands: `scan` (batch screening of files / JSONL), `policy check`, and (as
//! they land) `proxy`, `demo`, `audit`, `models`. Every flag is also an environment variable
//! `GLASSBOX_*`.

mod build;
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
    /// Screen LLM traffic between clients and model servers (reverse proxy).
    Proxy(glassbox::proxy::ProxyArgs),
    /// Mock model server + proxy + sample traffic + a summary of what was allowed, masked, blocked.
    Demo(glassbox::demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Policy { command } => policy_cmd::run(command),
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
