//! Engine construction from a policy.
//!
//! PLACEHOLDER written by the proxy branch so it builds before the lead's `build.rs` lands:
//! only the pattern rules `glassbox-patterns` offers today. On merge, take the lead's version.

use std::sync::Arc;

use glassbox_core::{Detector, Engine, Policy};

/// Compiles `policy` into an engine.
///
/// # Errors
/// When the policy's patterns do not compile.
pub fn engine(policy: &Policy) -> anyhow::Result<Engine> {
    let rules = glassbox_patterns::keywords::rules(&policy.keywords);
    let set = glassbox_patterns::RuleSet::compile("patterns", rules)?;
    let detectors: Vec<Arc<dyn Detector>> = vec![Arc::new(set)];
    Ok(Engine::new(Arc::new(policy.clone()), detectors))
}
