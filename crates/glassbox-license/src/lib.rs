#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod class;
pub mod corpus;
mod detector;
pub mod models;
pub mod phrase;
pub mod tag;

#[cfg(feature = "cli")]
pub mod cli;

pub use detector::{
    detector, LicenceInfo, LicenseDetector, LicenseError, INVALID_EXPRESSION, QUESTION_WINDOW,
};

pub use models::{check_model, ModelCheck, ModelLicence, ModelRegistry, UpstreamLicence};
