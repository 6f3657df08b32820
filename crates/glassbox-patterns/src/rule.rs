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

/// Credentials published in vendor documentation as examples; they grant nothing.
const DOCUMENTED_EXAMPLES: &[&str] = &[
    // Stripe's API reference test keys.
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
    // The signature of jwt.io's example token.
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    // GitHub's documentation token.
    "16C7e42F292c6912E7710c838347Ae178B4a",
];

/// Whether `s` looks like a placeholder rather than a real credential: `YOUR_API_KEY`,
/// `<token>`, `${VAR}`, `$VAR`, `{name}`, `{{ secret }}`, `%s`, `xxxxxxxx`, `********`, `...`,
/// `EXAMPLE`, `changeme`, one character repeated, or a key published in vendor documentation.
///
/// Word markers (`example`, `todo`, `fake`, …) count only when written in one case or
/// capitalised, so a random token that happens to contain `tOdO` is still reported.
pub fn is_placeholder(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    const MARKERS: &[&str] = &[
        "example",
        "your_",
        "your-",
        "yourkey",
        "placeholder",
        "changeme",
        "change_me",
        "dummy",
        "sample",
        "redacted",
        "<",
        ">",
        "${",
        "{{",
        "%(",
        "xxxx",
        "****",
        "...",
        "…",
        "insert",
        "replace_me",
        "replaceme",
        "todo",
        "fixme",
        "fake",
        "test_key",
        "not_a_real",
        "notreal",
    ];
    // A marker counts when written like a word (`todo`, `TODO`, `Todo`), not when random
    // mixed-case characters spell it by chance (`tOdO` inside a real token).
    let word_cased = |w: &[u8]| {
        let letters: Vec<u8> = w.iter().copied().filter(u8::is_ascii_alphabetic).collect();
        letters.iter().all(u8::is_ascii_lowercase)
            || letters.iter().all(u8::is_ascii_uppercase)
            || letters.first().is_some_and(u8::is_ascii_uppercase)
                && letters[1..].iter().all(u8::is_ascii_lowercase)
    };
    if MARKERS.iter().any(|m| {
        lower
            .match_indices(m)
            .any(|(i, _)| word_cased(&s.as_bytes()[i..i + m.len()]))
    }) {
        return true;
    }
    if DOCUMENTED_EXAMPLES.iter().any(|e| s.contains(e)) {
        return true;
    }
    // A whole-value reference: `$DB_PASSWORD`, `{password}`, `%s`.
    let ident = |t: &str| {
        t.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    if s.strip_prefix('$').is_some_and(ident)
        || s.strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .is_some_and(|t| ident(t.trim()))
        || s == "%s"
    {
        return true;
    }
    // One character repeated (after the first few, which may be a fixed prefix like `sk_live_`).
    let tail: Vec<u8> = s.bytes().skip(8).collect();
    if tail.len() >= 8 && tail.iter().all(|&b| b == tail[0]) {
        return true;
    }
    // Sequential alphabets / digits such as `abcdefgh…` or `0123456789…`.
    lower.contains("abcdefghij") || lower.contains("0123456789") || lower.contains("1234567890")
}

impl Rule {
    /// Compiles the rule's pattern alone.
    ///
    /// # Errors
    /// The `regex` crate's error for an invalid pattern.
    pub fn compile(&self) -> Result<regex::Regex, regex::Error> {
        regex::RegexBuilder::new(&self.pattern)
            .size_limit(64 << 20)
            .dfa_size_limit(64 << 20)
            .build()
    }

    /// Whether a reported span passes the rule's checks (entropy, placeholders, validator).
    pub fn accepts(&self, span: &str) -> bool {
        if let Some(min) = self.min_entropy {
            if shannon_entropy(span) < min {
                return false;
            }
        }
        if self.reject_placeholders && is_placeholder(span) {
            return false;
        }
        self.validate.as_ref().is_none_or(|v| v(span))
    }

    /// Reference semantics of a rule over a whole text, as spans of the reported part: search
    /// leftmost-first; an accepted match resumes the search after its end, a rejected one at the
    /// next character after its start. [`crate::RuleSet`] must agree with this (tested).
    pub fn find_all(&self, re: &regex::Regex, text: &str) -> Vec<(usize, usize)> {
        let group = re.capture_names().position(|n| n == Some("s"));
        let mut out = Vec::new();
        let mut at = 0;
        while at <= text.len() {
            let Some(caps) = re.captures_at(text, at) else {
                break;
            };
            #[allow(clippy::unwrap_used)] // group 0 always participates
            let whole = caps.get(0).unwrap();
            let span = group.and_then(|g| caps.get(g)).unwrap_or(whole);
            if self.accepts(span.as_str()) {
                out.push((span.start(), span.end()));
                at = if whole.end() > whole.start() {
                    whole.end()
                } else {
                    next_char(text, whole.end())
                };
            } else {
                at = next_char(text, whole.start());
            }
        }
        out
    }
}

/// The char boundary after `i` (or `len + 1` at the end, to stop loops).
pub(crate) fn next_char(text: &str, i: usize) -> usize {
    text[i..]
        .chars()
        .next()
        .map_or(text.len() + 1, |c| i + c.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        for p in [
            "YOUR_API_KEY",
            "sk_live_xxxxxxxxxxxxxxxx",
            "${GITHUB_TOKEN}",
            "<token>",
            "AKIAIOSFODNN7EXAMPLE",
            "aaaaaaaaaaaaaaaaaaaa",
            "$DB_PASSWORD",
            "{password}",
            "%s",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "my-Fake-token-1",
            "TODO_SET_ME",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for r in [
            "ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9x2LkQpT",
            "$2b$12$R9h",
            "{a}b",
            "R7x9tOdOq2LmfAkEW4vB8nT1cZ5yH3jP",
        ] {
            assert!(!is_placeholder(r), "{r}");
        }
    }

    #[test]
    fn reference_semantics_resume_rules() {
        // A rejected match resumes at the next character, so the inner valid one is found.
        let rule = Rule::new(Family::Secret, "t", r"k[a-z]{3}").validate(|s| s != "kkab");
        let re = rule.compile().unwrap();
        assert_eq!(rule.find_all(&re, "kkabc"), vec![(1, 5)]);
        // Named group narrows the span.
        let rule = Rule::new(Family::Secret, "t", r"pw=(?P<s>[a-z]{2,8})");
        let re = rule.compile().unwrap();
        assert_eq!(rule.find_all(&re, "x pw=hunter y"), vec![(5, 11)]);
    }

    #[test]
    fn entropy() {
        assert!(shannon_entropy("aaaa") < 0.01);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-5);
    }
}
