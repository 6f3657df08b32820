#![doc = include_str!("../README.md")]

pub mod backend;
pub mod config;
mod error;
pub mod manifest;
mod model;
mod queue;
mod reply;
mod set;
pub mod stream;
pub mod window;

pub use backend::{Backend, Batch, OrtBackend, TestBackend};
pub use config::{Device, RuntimeConfig};
pub use error::{BackendError, ClassifyError, QueueError};
pub use manifest::{verify_bundle, Manifest, VerifiedBundle};
pub use model::ModelClassifier;
pub use queue::{BatchLimits, QueueStatsSnapshot};
pub use reply::block_on;
pub use set::{default_models_dir, ClassifierSet};
pub use stream::{StreamWindow, StreamWindowConfig, StreamWindows};
