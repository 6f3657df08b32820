//! Category names (`family.kind`) and the closed set of families.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The family of a category: the part before the first `.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Credentials: `secret.<format>`.
    Secret,
    /// Personal data: `pii.<kind>`.
    Pii,
    /// Licence texts, notices and tags: `license.<SPDX-ID>` or `license.LicenseRef-*`.
    License,
    /// Operator keyword lists: `keyword.<list>`.
    Keyword,
    /// Classifier: prompt injection / jailbreak.
    PromptInjection,
    /// Classifier: toxicity, optionally `toxicity.<label>`.
    Toxicity,
    /// The served model's own licence check: `model_license.<verdict>`.
    ModelLicense,
}

impl Family {
    /// Every family, in documentation order.
    pub const ALL: [Family; 7] = [
        Family::Secret,
        Family::Pii,
        Family::License,
        Family::Keyword,
        Family::PromptInjection,
        Family::Toxicity,
        Family::ModelLicense,
    ];

    /// The family's name as written in category strings and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Secret => "secret",
            Family::Pii => "pii",
            Family::License => "license",
            Family::Keyword => "keyword",
            Family::PromptInjection => "prompt_injection",
            Family::Toxicity => "toxicity",
            Family::ModelLicense => "model_license",
        }
    }

    /// Parses a family name.
    pub fn parse(s: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// A category such as `secret.github_token`, `pii.email`, `license.GPL-3.0-only`,
/// `keyword.blocked_terms`, `prompt_injection` or `toxicity.insult`.
///
/// The string is validated on construction: a known family, then optionally `.` and a kind made
/// of ASCII letters, digits and `_ - . +` (SPDX identifiers need the last three).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Category(String);

/// Why a category string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryError {
    /// The family before the first `.` is not one glassbox knows.
    #[error("unknown category family `{family}` (known: secret, pii, license, keyword, prompt_injection, toxicity, model_license){hint}")]
    UnknownFamily {
        /// The family as written.
        family: String,
        /// A "did you mean" suffix, possibly empty.
        hint: String,
    },
    /// The kind after the family has a character outside `[A-Za-z0-9_.+-]` or is empty.
    #[error("invalid category kind `{0}`: use ASCII letters, digits and `_ - . +`")]
    BadKind(String),
}

impl Category {
    /// Parses and validates a category.
    ///
    /// # Errors
    /// [`CategoryError`] when the family is unknown or the kind has other characters.
    pub fn new(s: impl Into<String>) -> Result<Self, CategoryError> {
        let s = s.into();
        let (family, kind) = match s.split_once('.') {
            Some((f, k)) => (f, Some(k)),
            None => (s.as_str(), None),
        };
        if Family::parse(family).is_none() {
            let hint = Family::ALL
                .iter()
                .map(|f| f.as_str())
                .find(|f| edit_distance(f, family) <= 2)
                .map(|f| format!("; did you mean `{f}`?"))
                .unwrap_or_default();
            return Err(CategoryError::UnknownFamily {
                family: family.to_string(),
                hint,
            });
        }
        if let Some(kind) = kind {
            let ok = !kind.is_empty()
                && kind
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.+".contains(&b));
            if !ok {
                return Err(CategoryError::BadKind(kind.to_string()));
            }
        }
        Ok(Category(s))
    }

    /// Builds `family.kind` from parts known to be valid (detector tables).
    ///
    /// # Panics
    /// When `kind` has characters outside `[A-Za-z0-9_.+-]`; detector tables are tested for this.
    pub fn of(family: Family, kind: &str) -> Self {
        let s = if kind.is_empty() {
            family.as_str().to_string()
        } else {
            format!("{}.{kind}", family.as_str())
        };
        #[allow(clippy::expect_used)]
        Category::new(s).expect("detector tables use valid category kinds")
    }

    /// The category string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The family.
    pub fn family(&self) -> Family {
        let f = self.0.split_once('.').map_or(self.0.as_str(), |(f, _)| f);
        #[allow(clippy::expect_used)]
        Family::parse(f).expect("validated on construction")
    }

    /// The kind after the family, if any.
    pub fn kind(&self) -> Option<&str> {
        self.0.split_once('.').map(|(_, k)| k)
    }

    /// Whether `self` is `prefix` or lies under it (`secret` covers `secret.github_token`).
    pub fn is_under(&self, prefix: &str) -> bool {
        self.0 == prefix
            || (self.0.len() > prefix.len()
                && self.0.starts_with(prefix)
                && self.0.as_bytes()[prefix.len()] == b'.')
    }
}

impl TryFrom<String> for Category {
    type Error = CategoryError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Category::new(s)
    }
}

impl From<Category> for String {
    fn from(c: Category) -> String {
        c.0
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Levenshtein distance for "did you mean" hints; inputs are short names.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_categories() {
        for s in [
            "secret.github_token",
            "pii.email",
            "license.GPL-3.0-or-later",
            "license.LicenseRef-Llama-3-Community",
            "license.GPL-2.0+",
            "prompt_injection",
            "toxicity.insult",
            "keyword.blocked_terms",
        ] {
            let c = Category::new(s).unwrap();
            assert_eq!(c.as_str(), s);
        }
        assert_eq!(Category::new("pii.email").unwrap().family(), Family::Pii);
        assert_eq!(Category::new("pii.email").unwrap().kind(), Some("email"));
    }

    #[test]
    fn invalid_categories_explain() {
        let e = Category::new("secrets.aws").unwrap_err().to_string();
        assert!(e.contains("unknown category family `secrets`"), "{e}");
        assert!(e.contains("did you mean `secret`"), "{e}");
        assert!(matches!(
            Category::new("pii."),
            Err(CategoryError::BadKind(_))
        ));
        assert!(matches!(
            Category::new("pii.e mail"),
            Err(CategoryError::BadKind(_))
        ));
    }

    #[test]
    fn prefix_covering() {
        let c = Category::new("secret.github_token").unwrap();
        assert!(c.is_under("secret"));
        assert!(c.is_under("secret.github_token"));
        assert!(!c.is_under("secret.github"));
        assert!(!c.is_under("pii"));
    }
}
