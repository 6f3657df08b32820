//! Findings, actions and verdicts: what detectors report and what policy decides.

use serde::{Deserialize, Serialize};

use crate::Category;

/// What policy does about a finding. Ordered from weakest to strongest, so the verdict over a
/// text is the maximum over its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing happens; such findings are not reported.
    Allow,
    /// Recorded in the audit trail and the response metadata; text passes unchanged.
    Annotate,
    /// The span is replaced by `[REDACTED:<category>]` in what the client receives.
    Mask,
    /// The request or response is refused.
    Block,
}

impl Action {
    /// The action's name as written in policies and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Annotate => "annotate",
            Action::Mask => "mask",
            Action::Block => "block",
        }
    }

    /// Parses `allow | annotate | mask | block`.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "allow" => Some(Action::Allow),
            "annotate" => Some(Action::Annotate),
            "mask" => Some(Action::Mask),
            "block" => Some(Action::Block),
            _ => None,
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome over a whole text: the strongest action over all findings (`allow` when none).
pub type Verdict = Action;

/// One thing found in a text.
///
/// `start`/`end` are UTF-8 byte offsets into the text *as received* (before normalisation),
/// half-open, and always on character boundaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// What was found.
    pub category: Category,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// Confidence in `[0, 1]`; pattern detectors with validators report 1.0.
    pub score: f32,
    /// Which detector found it (`secrets`, `pii`, `keywords`, `license`, a model name, …).
    pub detector: String,
    /// What the policy decided for it.
    pub action: Action,
}

impl Finding {
    /// The span length in bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the span is empty (classifier findings over a whole text are not).
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// The strongest action over `findings`.
pub fn verdict_of(findings: &[Finding]) -> Verdict {
    findings
        .iter()
        .map(|f| f.action)
        .max()
        .unwrap_or(Action::Allow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_ordered() {
        assert!(Action::Allow < Action::Annotate);
        assert!(Action::Annotate < Action::Mask);
        assert!(Action::Mask < Action::Block);
        for a in [Action::Allow, Action::Annotate, Action::Mask, Action::Block] {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        assert_eq!(Action::parse("deny"), None);
    }

    #[test]
    fn verdict_is_max() {
        let f = |a| Finding {
            category: Category::new("pii.email").unwrap(),
            start: 0,
            end: 1,
            score: 1.0,
            detector: "t".into(),
            action: a,
        };
        assert_eq!(verdict_of(&[]), Action::Allow);
        assert_eq!(
            verdict_of(&[f(Action::Annotate), f(Action::Mask)]),
            Action::Mask
        );
        assert_eq!(
            verdict_of(&[f(Action::Block), f(Action::Mask)]),
            Action::Block
        );
    }
}
