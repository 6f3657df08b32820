//! Builds a policy's pattern detector: every enabled rule (secrets, PII, keyword lists) in one
//! compiled [`RuleSet`]. Rules whose category the policy allows are left out, so they cost
//! nothing.

use std::sync::Arc;

use glassbox_core::{Action, Category, Detector, Policy};

use crate::{keywords, Base64Detector, Rule, RuleSet, RuleSetError};

/// Why a policy's patterns could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A policy section is inconsistent (unknown rule id in `disable`, bad custom pattern…).
    #[error("policy section `{section}`: {reason}")]
    Section {
        /// `secrets`, `pii` or `keywords`.
        section: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The rules failed to compile.
    #[error(transparent)]
    Compile(#[from] RuleSetError),
}

/// The rules a policy enables, before compilation.
///
/// # Errors
/// [`BuildError::Section`] naming the section and the problem.
pub fn policy_rules(policy: &Policy) -> Result<Vec<Rule>, BuildError> {
    let mut rules: Vec<Rule> = Vec::new();
    rules.extend(keywords::rules(&policy.keywords));
    rules.extend(
        crate::secrets::rules(&policy.secrets).map_err(|reason| BuildError::Section {
            section: "secrets",
            reason,
        })?,
    );
    rules.extend(
        crate::pii::rules(&policy.pii).map_err(|reason| BuildError::Section {
            section: "pii",
            reason,
        })?,
    );
    rules.retain(|r| {
        Category::new(format!("{}.{}", r.family.as_str(), r.kind))
            .map(|c| policy.action_for(&c) != Action::Allow)
            .unwrap_or(true)
    });
    Ok(rules)
}

/// Compiles a policy's pattern detector (named `patterns`).
///
/// # Errors
/// [`BuildError`] when a section is inconsistent or a rule does not compile.
pub fn build(policy: &Policy) -> Result<RuleSet, BuildError> {
    Ok(RuleSet::compile("patterns", policy_rules(policy)?)?)
}

/// A policy's pattern detectors: the compiled rules, and the base64 decoder that screens encoded
/// tokens with the same rules.
///
/// # Errors
/// [`BuildError`] when a section is inconsistent or a rule does not compile.
pub fn detectors(policy: &Policy) -> Result<Vec<Arc<dyn Detector>>, BuildError> {
    let rules = Arc::new(build(policy)?);
    if rules.rules().is_empty() {
        return Ok(vec![rules]);
    }
    let b64 = Base64Detector::new(Arc::clone(&rules))?;
    Ok(vec![rules, Arc::new(b64)])
}
