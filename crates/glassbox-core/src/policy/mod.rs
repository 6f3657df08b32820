//! Policies: which categories get which action, detector settings, failure handling.
//!
//! A policy is YAML with unknown fields refused everywhere. [`Policy::from_yaml`] parses and
//! validates one and, when something is wrong, says which file, line, column and field, and why.
//! The reference for every field is the README's "Policy reference"; `policies/` holds examples.

mod classifiers;
mod license;
mod patterns;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use classifiers::{ClassifierMode, ClassifierPolicy, ClassifiersConfig};
pub use license::{
    LicenseClass, LicenseConfig, LicenseScopeConfig, ModelApproval, ModelEntry, ModelRule,
    ModelsLicenseConfig,
};
pub use patterns::{CustomPattern, KeywordList, PiiConfig, SecretsConfig};

use crate::{Action, Category, Family};

/// What happens when a detector fails (model missing, queue overloaded, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Refuse the request/response with a clear error. The default.
    #[default]
    Closed,
    /// Let the text through unscreened by that detector, and audit the fail-open.
    Open,
}

/// Streaming settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamingConfig {
    /// Cap on bytes held back in a stream. Patterns are bounded, so the computed hold-back is
    /// normally below this; a detector whose matches could be longer is capped here and the cap
    /// is reported in coverage. Default 65536.
    #[serde(default = "default_max_holdback")]
    pub max_holdback: usize,
}

fn default_max_holdback() -> usize {
    65_536
}

impl Default for StreamingConfig {
    fn default() -> Self {
        StreamingConfig {
            max_holdback: default_max_holdback(),
        }
    }
}

/// A parsed, validated policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Identifier recorded with every decision (`default`, `strict`, …).
    pub id: String,
    /// Free text for humans.
    #[serde(default)]
    pub description: String,
    /// Detector failure handling: `closed` (default) or `open`.
    #[serde(default)]
    pub on_error: OnError,
    /// Action for categories no rule in `actions` covers. Default `annotate`.
    #[serde(default = "default_action")]
    pub default_action: Action,
    /// Category (or family, or any `.`-prefix of a category) → action. The longest matching key
    /// wins: `secret: mask` with `secret.private_key: block`.
    #[serde(default)]
    pub actions: BTreeMap<String, Action>,
    /// Category prefix → minimum score for a finding to count (classifiers; patterns score 1).
    #[serde(default)]
    pub thresholds: BTreeMap<String, f32>,
    /// Secret detectors.
    #[serde(default)]
    pub secrets: SecretsConfig,
    /// PII detectors.
    #[serde(default)]
    pub pii: PiiConfig,
    /// Keyword lists: name → list. Findings are `keyword.<name>`.
    #[serde(default)]
    pub keywords: BTreeMap<String, KeywordList>,
    /// Licence detection and licence policy.
    #[serde(default)]
    pub licenses: LicenseConfig,
    /// Classifiers (prompt injection, toxicity).
    #[serde(default)]
    pub classifiers: ClassifiersConfig,
    /// Streaming limits.
    #[serde(default)]
    pub streaming: StreamingConfig,
    /// SHA-256 of the YAML source, recorded with every decision.
    #[serde(skip)]
    pub sha256: String,
}

fn default_action() -> Action {
    Action::Annotate
}

/// A policy that failed to parse or validate, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    /// The file (or `<builtin:default>`, `<stdin>`).
    pub origin: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Dotted path of the field (`actions.secrets`), when known.
    pub field: Option<String>,
    /// What is wrong and what to do.
    pub reason: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The policy used when none is given (`policies/default.yaml`, compiled in).
pub const DEFAULT_POLICY_YAML: &str = include_str!("../../../../policies/default.yaml");

impl Policy {
    /// The built-in default policy.
    ///
    /// # Panics
    /// Never in a released build: a test parses the embedded file.
    pub fn default_policy() -> Policy {
        #[allow(clippy::expect_used)]
        Policy::from_yaml(DEFAULT_POLICY_YAML, "<builtin:default>")
            .expect("the embedded default policy is valid (tested)")
    }

    /// Parses and validates a policy from YAML source. `origin` names it in errors.
    ///
    /// # Errors
    /// [`PolicyError`] naming the line, column and field that is wrong, and why.
    pub fn from_yaml(src: &str, origin: &str) -> Result<Policy, PolicyError> {
        let mut policy: Policy = serde_norway::from_str(src).map_err(|e| {
            let loc = e.location();
            let msg = e.to_string();
            // serde_norway appends " at line L column C"; keep the message short.
            let reason = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            PolicyError {
                origin: origin.to_string(),
                line: loc.as_ref().map(|l| l.line()),
                column: loc.as_ref().map(|l| l.column()),
                field: None,
                reason: improve_serde_reason(&reason),
            }
        })?;
        policy.sha256 = hex::encode(Sha256::digest(src.as_bytes()));
        policy.validate(src, origin)?;
        Ok(policy)
    }

    fn validate(&self, src: &str, origin: &str) -> Result<(), PolicyError> {
        let err = |section: &str, key: &str, reason: String| PolicyError {
            origin: origin.to_string(),
            line: find_key_line(src, section, key),
            column: None,
            field: Some(if section.is_empty() {
                key.to_string()
            } else {
                format!("{section}.{key}")
            }),
            reason,
        };
        if self.id.trim().is_empty() {
            return Err(err("", "id", "must not be empty".into()));
        }
        for key in self.actions.keys() {
            Category::new(key.as_str()).map_err(|e| err("actions", key, e.to_string()))?;
        }
        for (key, t) in &self.thresholds {
            Category::new(key.as_str()).map_err(|e| err("thresholds", key, e.to_string()))?;
            if !(0.0..=1.0).contains(t) || t.is_nan() {
                return Err(err(
                    "thresholds",
                    key,
                    format!("threshold {t} is outside [0, 1]"),
                ));
            }
        }
        for (name, list) in &self.keywords {
            Category::new(format!("keyword.{name}"))
                .map_err(|e| err("keywords", name, e.to_string()))?;
            list.validate()
                .map_err(|reason| err("keywords", name, reason))?;
        }
        for key in self.actions.keys() {
            if let Some(list) = key.strip_prefix("keyword.") {
                if !self.keywords.contains_key(list) {
                    return Err(err(
                        "actions",
                        key,
                        format!("no keyword list `{list}` is defined under `keywords:`"),
                    ));
                }
            }
        }
        self.secrets
            .validate()
            .map_err(|(k, reason)| err("secrets", &k, reason))?;
        self.pii
            .validate()
            .map_err(|(k, reason)| err("pii", &k, reason))?;
        self.licenses
            .validate()
            .map_err(|(k, reason)| err("licenses", &k, reason))?;
        self.classifiers
            .validate()
            .map_err(|(k, reason)| err("classifiers", &k, reason))?;
        if self.streaming.max_holdback < 64 {
            return Err(err(
                "streaming",
                "max_holdback",
                "must be at least 64 bytes".into(),
            ));
        }
        Ok(())
    }

    /// The action for a category: the longest `actions` key covering it, else `default_action`.
    pub fn action_for(&self, category: &Category) -> Action {
        self.actions
            .iter()
            .filter(|(k, _)| category.is_under(k))
            .max_by_key(|(k, _)| k.len())
            .map_or(self.default_action, |(_, a)| *a)
    }

    /// The score threshold for a category (longest covering key; 0.5 when none).
    pub fn threshold_for(&self, category: &Category) -> f32 {
        self.thresholds
            .iter()
            .filter(|(k, _)| category.is_under(k))
            .max_by_key(|(k, _)| k.len())
            .map_or(0.5, |(_, t)| *t)
    }

    /// Whether any category of `family` could get an action other than `allow`: detectors of a
    /// family that is allowed everywhere are not built.
    pub fn family_enabled(&self, family: Family) -> bool {
        let f = family.as_str();
        let family_action = self.actions.get(f).copied().unwrap_or(self.default_action);
        family_action != Action::Allow
            || self.actions.iter().any(|(k, a)| {
                *a != Action::Allow && k.starts_with(f) && k[f.len()..].starts_with('.')
            })
    }
}

fn improve_serde_reason(reason: &str) -> String {
    if reason.contains("unknown variant") && reason.contains("allow") {
        format!("{reason} (an action is one of: allow, annotate, mask, block)")
    } else {
        reason.to_string()
    }
}

/// Finds the 1-based line of `key:` under the top-level `section:` (best effort, for messages).
fn find_key_line(src: &str, section: &str, key: &str) -> Option<usize> {
    let mut in_section = section.is_empty();
    for (i, line) in src.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if !section.is_empty() && indent == 0 && !trimmed.is_empty() && !trimmed.starts_with('#') {
            in_section = trimmed.starts_with(&format!("{section}:"));
            continue;
        }
        if in_section {
            let unquoted = trimmed.trim_start_matches(['"', '\'']);
            if unquoted.starts_with(key)
                && unquoted[key.len()..]
                    .trim_start_matches(['"', '\''])
                    .starts_with(':')
            {
                return Some(i + 1);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_parses() {
        let p = Policy::default_policy();
        assert_eq!(p.id, "default");
        assert_eq!(p.sha256.len(), 64);
        let gh = Category::new("secret.github_token").unwrap();
        assert_eq!(p.action_for(&gh), Action::Mask);
        let pk = Category::new("secret.private_key").unwrap();
        assert_eq!(p.action_for(&pk), Action::Block);
    }

    #[test]
    fn longest_prefix_wins() {
        let p = Policy::from_yaml(
            "id: t\nactions:\n  secret: mask\n  secret.jwt: annotate\n  pii: allow\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(
            p.action_for(&Category::new("secret.jwt").unwrap()),
            Action::Annotate
        );
        assert_eq!(
            p.action_for(&Category::new("secret.jwt_x").unwrap()),
            Action::Mask
        );
        assert_eq!(
            p.action_for(&Category::new("pii.email").unwrap()),
            Action::Allow
        );
        assert_eq!(
            p.action_for(&Category::new("toxicity").unwrap()),
            Action::Annotate
        );
        assert!(!p.family_enabled(Family::Pii));
        assert!(p.family_enabled(Family::Secret));
    }

    #[test]
    fn unknown_field_names_line_and_field() {
        let e = Policy::from_yaml("id: t\nactons:\n  secret: mask\n", "p.yaml").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.reason.contains("unknown field `actons`"), "{e}");
        assert!(e.to_string().starts_with("p.yaml:2:"), "{e}");
    }

    #[test]
    fn bad_action_is_explained() {
        let e = Policy::from_yaml("id: t\nactions:\n  secret: redact\n", "p.yaml").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.reason.contains("redact"), "{e}");
        assert!(e.reason.contains("allow, annotate, mask, block"), "{e}");
    }

    #[test]
    fn bad_category_key_points_at_line() {
        let e = Policy::from_yaml("id: t\nactions:\n  pii: mask\n  secrets: mask\n", "p.yaml")
            .unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert_eq!(e.field.as_deref(), Some("actions.secrets"));
        assert!(e.reason.contains("did you mean `secret`"), "{e}");
    }

    #[test]
    fn threshold_range_checked() {
        let e = Policy::from_yaml("id: t\nthresholds:\n  toxicity: 1.5\n", "p.yaml").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.reason.contains("outside [0, 1]"), "{e}");
    }

    #[test]
    fn keyword_action_needs_list() {
        let e =
            Policy::from_yaml("id: t\nactions:\n  keyword.nope: block\n", "p.yaml").unwrap_err();
        assert!(e.reason.contains("no keyword list `nope`"), "{e}");
    }
}
