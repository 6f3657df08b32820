//! Engine construction: a policy's detectors wired together.

use std::sync::Arc;

use anyhow::Context;
use glassbox_core::{Detector, Engine, Policy};

/// Loads a policy file, or the built-in default policy when `path` is `None`.
pub fn load_policy(path: Option<&std::path::Path>) -> anyhow::Result<Policy> {
    match path {
        None => Ok(Policy::default_policy()),
        Some(p) => {
            let src = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read policy file {}", p.display()))?;
            Ok(Policy::from_yaml(&src, &p.display().to_string())?)
        }
    }
}

/// Builds the engine for a policy: the compiled pattern rules, then the other detectors.
pub fn engine(policy: Policy) -> anyhow::Result<Engine> {
    let detectors: Vec<Arc<dyn Detector>> = glassbox_patterns::detectors(&policy)
        .with_context(|| format!("policy `{}`: cannot build pattern detectors", policy.id))?;
    Ok(Engine::new(Arc::new(policy), detectors))
}
