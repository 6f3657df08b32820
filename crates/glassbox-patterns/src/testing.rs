//! Fixtures for glassbox's own tests and benches (not a stable API): a few real rules with the
//! shapes that matter for streaming (prefixed secrets, an unprefixed e-mail, a long private
//! key), and a rule set built from them plus keyword lists.

use std::collections::BTreeMap;
use std::sync::Arc;

use glassbox_core::policy::KeywordList;
use glassbox_core::Family;

use crate::{keywords, Rule, RuleSet};

/// `github_token` and `aws_access_key_id` (prefixed: prose is never held for them), `email`
/// (no prefix) and `private_key` (up to ~4 KiB), in that order.
pub fn sample_rules() -> Vec<Rule> {
    vec![
        Rule::new(
            Family::Secret,
            "github_token",
            r"(?-u:\b)ghp_[A-Za-z0-9]{36}(?-u:\b)",
        ),
        Rule::new(
            Family::Secret,
            "aws_access_key_id",
            r"(?-u:\b)(?:AKIA|ASIA)[A-Z2-7]{16}(?-u:\b)",
        )
        .reject_placeholders(),
        Rule::new(
            Family::Pii,
            "email",
            r"(?-u:\b)[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}(?-u:\b)",
        ),
        Rule::new(
            Family::Secret,
            "private_key",
            r"-----BEGIN [A-Z ]{0,20}PRIVATE KEY-----[A-Za-z0-9+/=\s:,-]{16,4096}?-----END [A-Z ]{0,20}PRIVATE KEY-----",
        ),
    ]
}

/// `rules` plus one keyword rule per list, compiled as the detector `patterns`.
///
/// # Panics
/// When a rule does not compile (a fixture bug).
pub fn rule_set(mut rules: Vec<Rule>, lists: &BTreeMap<String, KeywordList>) -> Arc<RuleSet> {
    rules.extend(keywords::rules(lists));
    Arc::new(RuleSet::compile("patterns", rules).expect("fixture rules compile"))
}

/// Keyword lists of plain terms, `(name, terms)`.
pub fn term_lists(lists: &[(&str, &[&str])]) -> BTreeMap<String, KeywordList> {
    lists
        .iter()
        .map(|(name, terms)| {
            let terms = terms.iter().map(|t| (*t).to_string()).collect();
            ((*name).to_string(), KeywordList::Terms(terms))
        })
        .collect()
}
