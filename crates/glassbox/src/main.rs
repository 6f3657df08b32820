//! glassbox: screen LLM traffic, check licences, keep evidence.
//!
//! PLACEHOLDER main from the proxy branch (the lead owns this file): only `proxy` and `demo`.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "glassbox", version, about)]
enum Cli {
    /// Screen LLM traffic between clients and model servers.
    Proxy(glassbox::proxy::ProxyArgs),
    /// Mock model server + proxy + sample traffic + summary.
    Demo(glassbox::demo::DemoArgs),
}

fn main() -> std::process::ExitCode {
    let code = match Cli::parse() {
        Cli::Proxy(a) => glassbox::proxy::run(a),
        Cli::Demo(a) => glassbox::demo::run(a),
    };
    match code {
        Ok(c) => std::process::ExitCode::from(c.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
