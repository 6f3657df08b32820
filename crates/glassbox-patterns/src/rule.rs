//! A pattern rule: one regex, its category, and the checks a match must pass.
//!
//! Secrets, PII and keyword tables are lists of [`Rule`]s; [`crate::RuleSet`] compiles a
//! policy's rules into one automaton and implements `glassbox_core::Detector`.
//!
//! Rules for tables must be *bounded*: every repetition has an upper bound (`{20,64}`, not `+`),
//! so the longest match is known and the streaming hold-back is finite. Use ASCII word
//! boundaries `(?-u:\b)` (Unicode `\b` makes the lazy DFA give up on non-ASCII text).

use std::sync::Arc;

use glassbox_core::Family;

/// A check on the reported span text; `true` keeps the match.
pub type Validator = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// One detection rule.
#[derive(Clone)]
pub struct Rule {
    /// Category family (`Secret`, `Pii`, `Keyword`, `License`).
    pub family: Family,
    /// Category kind: the finding is `<family>.<kind>`.
    pub kind: String,
    /// A Rust `regex` pattern (bounded). If it has a capture group named `s`, the finding's
    /// span is that group (e.g. only the value of `password = "…"`); otherwise the whole match.
    pub pattern: String,
    /// Minimum Shannon entropy, bits per byte, of the reported span.
    pub min_entropy: Option<f32>,
    /// Reject obvious placeholders in the reported span (`YOUR_API_KEY`, `${VAR}`, `xxxx`,
    /// `EXAMPLE`, `<token>`, `...`, one repeated character).
    pub reject_placeholders: bool,
    /// Extra validation (checksums, Luhn, mod-97, ranges).
    pub validate: Option<Validator>,
    /// Score reported for a match that passes (1.0 for validated formats; lower for heuristics
    /// such as generic assignments).
    pub score: f32,
}

impl Rule {
    /// A rule with no checks and score 1.0.
    pub fn new(family: Family, kind: impl Into<String>, pattern: impl Into<String>) -> Self {
        Rule {
            family,
            kind: kind.into(),
            pattern: pattern.into(),
            min_entropy: None,
            reject_placeholders: false,
            validate: None,
            score: 1.0,
        }
    }

    /// Sets a minimum entropy.
    pub fn min_entropy(mut self, bits: f32) -> Self {
        self.min_entropy = Some(bits);
        self
    }

    /// Rejects placeholders.
    pub fn reject_placeholders(mut self) -> Self {
        self.reject_placeholders = true;
        self
    }

    /// Adds a validator.
    pub fn validate(mut self, f: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.validate = Some(Arc::new(f));
        self
    }

    /// Sets the score.
    pub fn score(mut self, score: f32) -> Self {
        self.score = score;
        self
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("family", &self.family)
            .field("kind", &self.kind)
            .field("pattern", &self.pattern)
            .field("min_entropy", &self.min_entropy)
            .field("reject_placeholders", &self.reject_placeholders)
            .field("validate", &self.validate.is_some())
            .field("score", &self.score)
            .finish()
    }
}

/// Shannon entropy of `s` in bits per byte.
pub fn shannon_entropy(s: &str) -> f32 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / n;
            -p * p.log2()
        })
        .sum()
}
