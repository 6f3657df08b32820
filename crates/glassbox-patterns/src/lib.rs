//! glassbox pattern detectors: secrets, PII with validators and keyword lists, compiled once per
//! policy into one automaton.

pub mod pii;
pub mod rule;

pub use rule::{shannon_entropy, Rule, Validator};
