//! glassbox pattern detectors: secrets, PII with validators and keyword lists, compiled once per
//! policy into one automaton.

pub mod rule;
pub mod secrets;

pub use rule::{shannon_entropy, Rule, Validator};
