//! Base64 of a whole token: a secret or other finding hidden as `Z2hwX1I3eDlL…` is decoded and
//! screened with the same rules; the finding covers the whole encoded token and carries the
//! decoded finding's category.
//!
//! A token is a run of 16–1368 base64 (standard or URL-safe) characters with optional padding,
//! on ASCII word boundaries, whose decoding is UTF-8 text (control characters other than
//! whitespace refused). Hex digests and random binary never decode to text, so they cost one
//! failed decode. Streaming liveness is the token pattern's: a possible token in progress is held.

use std::sync::Arc;

use base64::Engine as _;
use glassbox_core::{Detector, DetectorError, Family, Match};

use crate::{Rule, RuleSet, RuleSetError};

/// The token pattern (bounded: 1368 characters decode to 1026 bytes).
const TOKEN: &str = r"(?-u:\b)[A-Za-z0-9+/_-]{16,1368}={0,2}";

/// Decodes a token that is base64 of UTF-8 text.
pub fn decode_text(token: &str) -> Option<String> {
    let t = token.trim_end_matches('=');
    let bytes = if t.contains(['-', '_']) {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t)
            .ok()?
    } else {
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(t)
            .ok()?
    };
    let s = String::from_utf8(bytes).ok()?;
    let printable = s.chars().all(|c| !c.is_control() || c.is_whitespace());
    printable.then_some(s)
}

/// Screens base64 tokens' decoded text with an inner rule set.
pub struct Base64Detector {
    tokens: RuleSet,
    inner: Arc<RuleSet>,
}

impl std::fmt::Debug for Base64Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Base64Detector")
            .field("inner", &self.inner)
            .finish()
    }
}

fn inner_first(inner: &RuleSet, decoded: &str) -> Option<Match> {
    let mut out = Vec::new();
    inner.detect(decoded, 0, &mut out).ok()?;
    out.into_iter()
        .min_by_key(|m| (m.start, std::cmp::Reverse(m.end)))
}

impl Base64Detector {
    /// Wraps `inner`: tokens whose decoding has an `inner` finding are reported.
    ///
    /// # Errors
    /// Never in practice (the token pattern is fixed); typed for uniformity.
    pub fn new(inner: Arc<RuleSet>) -> Result<Self, RuleSetError> {
        let check = Arc::clone(&inner);
        let rule = Rule::new(Family::Secret, "base64", TOKEN).validate(move |tok| {
            decode_text(tok).is_some_and(|d| inner_first(&check, &d).is_some())
        });
        Ok(Base64Detector {
            tokens: RuleSet::compile("patterns.base64", vec![rule])?,
            inner,
        })
    }
}

impl Detector for Base64Detector {
    fn name(&self) -> &str {
        "patterns.base64"
    }

    fn detect(&self, text: &str, from: usize, out: &mut Vec<Match>) -> Result<(), DetectorError> {
        let mut tokens = Vec::new();
        self.tokens.detect(text, from, &mut tokens)?;
        for t in tokens {
            let decoded = decode_text(&text[t.start..t.end]);
            if let Some(m) = decoded.as_deref().and_then(|d| inner_first(&self.inner, d)) {
                out.push(Match {
                    start: t.start,
                    end: t.end,
                    category: m.category,
                    score: m.score,
                });
            }
        }
        Ok(())
    }

    fn live_from(&self, text: &str, from: usize) -> usize {
        self.tokens.live_from(text, from)
    }

    fn max_match_len(&self) -> usize {
        self.tokens.max_match_len()
    }

    fn digest(&self) -> String {
        self.inner.digest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    fn detector() -> Base64Detector {
        let inner = RuleSet::compile(
            "patterns",
            vec![Rule::new(
                Family::Secret,
                "github_token",
                r"(?-u:\b)ghp_[A-Za-z0-9]{36}(?-u:\b)",
            )],
        )
        .unwrap();
        Base64Detector::new(Arc::new(inner)).unwrap()
    }

    #[test]
    fn encoded_secret_is_found_over_the_whole_token() {
        let d = detector();
        for enc in [
            STANDARD.encode("token=ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw"),
            URL_SAFE_NO_PAD.encode("ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw\n"),
        ] {
            let text = format!("the value is {enc} ok");
            let mut out = Vec::new();
            d.detect(&text, 0, &mut out).unwrap();
            assert_eq!(out.len(), 1, "{text}");
            assert_eq!(out[0].category.as_str(), "secret.github_token");
            assert_eq!(&text[out[0].start..out[0].end], enc);
        }
    }

    #[test]
    fn digests_and_plain_words_are_not_findings() {
        let d = detector();
        let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let text = format!(
            "sha256 {sha} and {} and averyveryverylongidentifiername",
            STANDARD.encode("hello world, nothing to see")
        );
        let mut out = Vec::new();
        d.detect(&text, 0, &mut out).unwrap();
        assert!(out.is_empty(), "{out:?}");
    }
}
