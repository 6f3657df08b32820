//! glassbox pattern detectors: secrets, PII with validators and keyword lists, compiled once per
//! policy into one automaton.

pub mod base64;
pub mod build;
pub mod keywords;
pub mod pii;
pub mod rule;
pub mod ruleset;
pub mod secrets;
#[doc(hidden)]
pub mod testing;

pub use base64::Base64Detector;
pub use build::{build, detectors, policy_rules, BuildError};
pub use rule::{shannon_entropy, Rule, Validator};
pub use ruleset::{RuleSet, RuleSetError};
