//! The `Detector` seam: what a pattern/licence detector implements to take part in whole-text and
//! streaming screening.
//!
//! # The contract that makes streaming equal whole-text
//!
//! A detector sees *normalised* text (see [`crate::normalize`]). [`Detector::detect`] reports the
//! matches whose start is at or after `from`; `text[..from]` is look-behind context only. Whole-text
//! screening calls `detect(text, 0)`. The streaming scanner calls `detect(window, from)` on a
//! window that ends where the stream has got to, and keeps only the matches that start before
//! [`Detector::live_from`]`(window, from)`: the earliest position at which a match could still
//! start *or change* if more text arrived. For that to equal the whole-text answer a detector must:
//!
//! 1. be deterministic given `text[from - lookbehind() ..]`;
//! 2. report the same matches starting before `live_from` whatever text is later appended;
//! 3. iterate "per rule, leftmost-first; an accepted match resumes after its end, a match its
//!    validator rejects resumes at the next character", so that a search started at any position
//!    not inside an accepted match finds what a search from the start would;
//! 4. bound its matches: [`Detector::max_match_len`] is the longest match it can report, which
//!    bounds the hold-back the streaming scanner needs.

use crate::{Action, Category};

/// A match in normalised text, before policy decides an action.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// Byte offset in the normalised text where the reported span starts.
    pub start: usize,
    /// Byte offset one past the reported span.
    pub end: usize,
    /// What was found.
    pub category: Category,
    /// Confidence in `[0, 1]`.
    pub score: f32,
    /// The bytes the detector consumed to find the match: a superset of `start..end` when a
    /// rule matches context it does not report (`password = "…"` reports only the value; a
    /// phone rule consumes the character before the number because regexes have no
    /// look-behind). The streaming scanner never releases text through an extent, so a search
    /// resumed at the release frontier sees the same context the whole-text search saw.
    pub extent: std::ops::Range<usize>,
}

impl Match {
    /// A match whose extent is its span.
    pub fn new(start: usize, end: usize, category: Category, score: f32) -> Self {
        Match {
            start,
            end,
            category,
            score,
            extent: start..end,
        }
    }

    /// Shifts every offset by `by` (window-relative to stream-absolute).
    pub fn shifted(mut self, by: usize) -> Self {
        self.start += by;
        self.end += by;
        self.extent = self.extent.start + by..self.extent.end + by;
        self
    }
}

/// A detector failed to run (not "found nothing"): policy's `on_error` decides what happens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("detector `{detector}` failed: {reason}")]
pub struct DetectorError {
    /// Which detector.
    pub detector: String,
    /// What went wrong, for the operator.
    pub reason: String,
}

impl DetectorError {
    /// Creates an error for `detector`.
    pub fn new(detector: impl Into<String>, reason: impl Into<String>) -> Self {
        DetectorError {
            detector: detector.into(),
            reason: reason.into(),
        }
    }
}

/// A synchronous, inline detector (patterns, keywords, licence texts).
///
/// Adding a detector is one file with a type implementing this trait plus one registration line
/// where detectors are built from a policy.
pub trait Detector: Send + Sync + 'static {
    /// Short stable name reported in findings (`secrets`, `pii`, `keywords`, `license`).
    fn name(&self) -> &str;

    /// Appends to `out` every match that starts at or after `from` (a char boundary of `text`).
    ///
    /// # Errors
    /// [`DetectorError`] when the detector cannot run; never for "no match".
    fn detect(&self, text: &str, from: usize, out: &mut Vec<Match>) -> Result<(), DetectorError>;

    /// The earliest position `p >= from` (a char boundary, at most `text.len()`) at which a match
    /// could still start or change if text were appended. Returning a smaller value is always
    /// safe (it only holds text back longer); returning a larger one leaks.
    fn live_from(&self, text: &str, from: usize) -> usize;

    /// The longest match, in bytes of normalised text, this detector can report.
    fn max_match_len(&self) -> usize;

    /// Bytes of context before `from` that `detect` and `live_from` look at (word boundaries
    /// need 1 UTF-8 character, so at least 4).
    fn lookbehind(&self) -> usize {
        4
    }

    /// Identity of the detector's rules or model for the audit trail (e.g. a sha256 over its
    /// patterns). Empty when unknown.
    fn digest(&self) -> String {
        String::new()
    }

    /// The action this detector's own policy section gives `category` for `scope`, when it has
    /// one; `None` leaves it to the policy's `actions:`. The licence detector uses this to map
    /// licence classes (per tenant and route) to actions.
    fn action_for(&self, category: &Category, scope: Scope<'_>) -> Option<Action> {
        let _ = (category, scope);
        None
    }
}

/// Whom a decision is for: the route and tenant of the text being screened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope<'a> {
    /// The route (`/v1/chat/completions`), or `scan`.
    pub route: Option<&'a str>,
    /// The tenant, when the caller was identified.
    pub tenant: Option<&'a str>,
}
