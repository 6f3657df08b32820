//! `glassbox demo` (being built).

pub mod mock;

/// `glassbox demo`: a mock model server, the proxy in front of it, sample traffic, a summary.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {}

/// Runs the demo.
///
/// # Errors
/// When a part fails to start.
pub fn run(_args: DemoArgs) -> anyhow::Result<i32> {
    Ok(0)
}
