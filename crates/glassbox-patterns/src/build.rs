//! Builds a policy's pattern detector: every enabled rule (secrets, PII, keyword lists) in one
//! compiled [`RuleSet`]. Rules whose category the policy allows are left out, so they cost
//! nothing.

use glassbox_core::{Action, Category, Policy};

use crate::{keywords, Rule, RuleSet, RuleSetError};

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
