#![doc = include_str!("../README.md")]

pub mod audit;
pub mod category;
pub mod classify;
pub mod detector;
pub mod finding;
pub mod normalize;
pub mod policy;

pub use audit::{AuditSink, DecisionEvent};
pub use category::{Category, CategoryError, Family};
pub use classify::Classifier;
pub use detector::{Detector, DetectorError, Match, Scope};
pub use finding::{verdict_of, Action, Finding, Verdict};
pub use policy::{OnError, Policy, PolicyError};
