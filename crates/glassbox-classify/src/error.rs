//! Errors: start-up failures ([`ClassifyError`]) and per-request failures ([`QueueError`]).

use std::path::PathBuf;

/// A classifier could not be set up. Each variant says what is missing and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    /// No ONNX Runtime library is configured or it could not be loaded.
    #[error("ONNX Runtime library {}: {reason} (run `scripts/setup.sh 40-models`, which unpacks it into .runtime/onnxruntime/, and set ORT_DYLIB_PATH, or set `ort_library` in the classifier runtime config)", path.as_ref().map_or_else(|| "not configured".to_string(), |p| format!("`{}`", p.display())))]
    Runtime {
        /// The library path tried, if any.
        path: Option<PathBuf>,
        /// What went wrong.
        reason: String,
    },
    /// CUDA was requested but cannot be used.
    #[error("CUDA requested (`device: cuda`) but unavailable: {0}")]
    CudaUnavailable(String),
    /// A model bundle directory or one of its files is missing.
    #[error("model bundle `{bundle}`: {path} is missing (run `scripts/setup.sh 40-models` to build the bundles)")]
    MissingFile {
        /// Bundle name.
        bundle: String,
        /// The missing path.
        path: PathBuf,
    },
    /// The manifest is unreadable or invalid.
    #[error("{path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong (with line and column when known).
        reason: String,
    },
    /// A bundle file does not have the sha256 its manifest (or build record) pins.
    #[error("model bundle `{bundle}`: {file} has sha256 {actual} but {source_of_truth} pins {expected}; the file was modified or is from another build; refusing to load it (rebuild with `scripts/setup.sh 40-models`)")]
    Tampered {
        /// Bundle name.
        bundle: String,
        /// File name inside the bundle.
        file: String,
        /// The digest expected.
        expected: String,
        /// The digest found.
        actual: String,
        /// `manifest.yaml` or `build.sha256`.
        source_of_truth: String,
    },
    /// The tokenizer does not fit the model or manifest.
    #[error("model bundle `{bundle}`: tokenizer mismatch: {reason}")]
    Tokenizer {
        /// Bundle name.
        bundle: String,
        /// What does not match.
        reason: String,
    },
    /// The ONNX graph does not have the inputs/outputs the manifest declares, or failed to load.
    #[error("model bundle `{bundle}`: model.onnx: {reason}")]
    Model {
        /// Bundle name.
        bundle: String,
        /// What is wrong.
        reason: String,
    },
    /// The policy asks for something this crate cannot provide.
    #[error("classifier `{classifier}`: {reason}")]
    Policy {
        /// Classifier name from the policy.
        classifier: String,
        /// What is wrong.
        reason: String,
    },
    /// A worker thread could not be started.
    #[error("classifier `{classifier}`: cannot start worker thread: {reason}")]
    Thread {
        /// Classifier name.
        classifier: String,
        /// The OS error.
        reason: String,
    },
}

/// A backend failed to run a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

/// A classification request failed (the policy's `on_error` decides what happens).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// Too much work is queued: the request was refused rather than delayed without bound.
    #[error("overloaded: {queued_tokens} tokens queued, limit {limit}")]
    Overloaded {
        /// Tokens waiting when the request arrived.
        queued_tokens: usize,
        /// The configured limit (`max_queued_tokens`).
        limit: usize,
    },
    /// The model failed on the batch holding this request.
    #[error("backend failed: {0}")]
    Backend(#[from] BackendError),
    /// The tokenizer failed on the text.
    #[error("tokenizer failed: {0}")]
    Tokenize(String),
    /// The classifier was shut down.
    #[error("classifier shut down")]
    ShutDown,
}
