#![doc = include_str!("../README.md")]

pub mod audit;
pub mod category;
pub mod classify;
pub mod detector;
pub mod engine;
pub mod finding;
pub mod normalize;
pub mod policy;
pub mod windows;

pub use audit::{AuditSink, DecisionEvent};
pub use category::{Category, CategoryError, Family};
pub use classify::Classifier;
pub use detector::{Detector, DetectorError, Match, Scope};
pub use engine::{mask, Engine, ScanOutcome, StreamChunk, StreamError, StreamScanner};
pub use finding::{verdict_of, Action, Finding, Verdict};
pub use policy::{OnError, Policy, PolicyError};
