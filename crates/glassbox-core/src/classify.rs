//! The classifier seam: batched, asynchronous detectors (ONNX models) that score a whole text or
//! window. `glassbox-classify` implements it; the engine and the layer call it without knowing
//! about ONNX. No async runtime is assumed: futures are plain `std` futures.

use std::future::Future;
use std::pin::Pin;

use crate::{DetectorError, Match};

/// A boxed future of a classification.
pub type ClassifyFuture = Pin<Box<dyn Future<Output = Result<Vec<Match>, DetectorError>> + Send>>;

/// A classifier over whole texts (long texts are windowed inside; the row score is the max).
pub trait Classifier: Send + Sync + 'static {
    /// The classifier's name (`prompt_injection`, `toxicity`), also its category family.
    fn name(&self) -> &str;

    /// Model identity for the audit trail (bundle name and sha256 of the weights).
    fn model_digest(&self) -> String;

    /// Classifies `text`, returning matches (categories such as `prompt_injection` or
    /// `toxicity.insult`) with their scores. Spans cover the window(s) that scored; a match is
    /// returned for every label whatever its score, and policy thresholds decide.
    fn classify(&self, text: String) -> ClassifyFuture;
}
