//! Policy sections for the pattern detectors: secrets, PII and keyword lists.

use serde::{Deserialize, Serialize};

/// `secrets:` — credential detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// Turn the built-in rules on or off as a whole. Default on.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Built-in rule ids (`secret` kinds, e.g. `generic_password`) to switch off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Extra operator-defined patterns.
    #[serde(default)]
    pub custom: Vec<CustomPattern>,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            enabled: true,
            disable: Vec::new(),
            custom: Vec::new(),
        }
    }
}

impl SecretsConfig {
    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        for (i, c) in self.custom.iter().enumerate() {
            c.validate().map_err(|r| (format!("custom[{i}]"), r))?;
        }
        Ok(())
    }
}

/// An operator-defined secret pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    /// Kind: the finding is `secret.<id>`.
    pub id: String,
    /// A Rust `regex` pattern. Must be bounded (no unbounded `+`/`*`): use `{1,64}` instead, or
    /// the streaming cap applies.
    pub regex: String,
    /// Minimum Shannon entropy (bits per byte) of the match, if set.
    #[serde(default)]
    pub min_entropy: Option<f32>,
}

impl CustomPattern {
    fn validate(&self) -> Result<(), String> {
        if self.id.is_empty()
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
        {
            return Err(format!(
                "custom pattern id `{}` must be ASCII letters, digits, `_`, `-`",
                self.id
            ));
        }
        if self.regex.is_empty() {
            return Err(format!("custom pattern `{}` has an empty regex", self.id));
        }
        Ok(())
    }
}

/// `pii:` — personal data detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiConfig {
    /// Turn PII detection on or off as a whole. Default on.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// PII kinds to switch off (`phone`, `ip_address`, …).
    #[serde(default)]
    pub disable: Vec<String>,
    /// Phone numbers without a `+country` prefix are parsed as numbers of these regions (ISO
    /// 3166 alpha-2). Default `[US, GB, DE, FR, IN]`.
    #[serde(default = "default_regions")]
    pub phone_regions: Vec<String>,
    /// Also report private, loopback, link-local and documentation IP addresses
    /// (`pii.ip_address_private`). Default false: public addresses only.
    #[serde(default)]
    pub private_ip: bool,
}

fn yes() -> bool {
    true
}

fn default_regions() -> Vec<String> {
    ["US", "GB", "DE", "FR", "IN"]
        .into_iter()
        .map(String::from)
        .collect()
}

impl Default for PiiConfig {
    fn default() -> Self {
        PiiConfig {
            enabled: true,
            disable: Vec::new(),
            phone_regions: default_regions(),
            private_ip: false,
        }
    }
}

impl PiiConfig {
    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        for r in &self.phone_regions {
            if r.len() != 2 || !r.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err((
                    "phone_regions".into(),
                    format!("`{r}` is not an ISO 3166 alpha-2 region code such as US or DE"),
                ));
            }
        }
        Ok(())
    }
}

/// A keyword list: whole words or phrases, case-insensitive, matched on normalised text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeywordList {
    /// Just the terms.
    Terms(Vec<String>),
    /// Terms with options.
    Detailed {
        /// The words or phrases.
        terms: Vec<String>,
        /// Match inside words too (default false: whole words only).
        #[serde(default)]
        substring: bool,
    },
}

impl KeywordList {
    /// The terms.
    pub fn terms(&self) -> &[String] {
        match self {
            KeywordList::Terms(t) | KeywordList::Detailed { terms: t, .. } => t,
        }
    }

    /// Whether terms match inside words.
    pub fn substring(&self) -> bool {
        matches!(
            self,
            KeywordList::Detailed {
                substring: true,
                ..
            }
        )
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.terms().is_empty() {
            return Err("a keyword list needs at least one term".into());
        }
        for t in self.terms() {
            if t.trim().is_empty() {
                return Err("a keyword list has an empty term".into());
            }
            if t.len() > 256 {
                return Err(format!(
                    "term `{}…` is longer than 256 bytes",
                    &t[..t.floor_char_boundary(32)]
                ));
            }
        }
        Ok(())
    }
}
