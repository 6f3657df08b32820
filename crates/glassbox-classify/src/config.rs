//! Runtime settings for the classifiers (deployment, not policy): device, threads, batching and
//! queue limits. Part of the proxy's configuration file; `Default` suits a CPU machine.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where models run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// ONNX Runtime's CPU execution provider. The default.
    #[default]
    Cpu,
    /// The CUDA execution provider. Needs the `cuda` cargo feature, the onnxruntime-gpu library
    /// and CUDA 13 / cuDNN 9; start-up fails with a clear message when any is missing.
    Cuda,
}

/// Classifier runtime settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// The ONNX Runtime shared library. Default: `ORT_DYLIB_PATH`.
    pub ort_library: Option<PathBuf>,
    /// `cpu` (default) or `cuda`.
    pub device: Device,
    /// CUDA device ordinal. Default 0.
    pub cuda_device_id: i32,
    /// Threads ONNX Runtime uses inside one operator. Default 0: ONNX Runtime's choice (the
    /// number of physical cores).
    pub intra_threads: usize,
    /// Threads ONNX Runtime uses across operators. Default 1.
    pub inter_threads: usize,
    /// Whether idle ONNX Runtime threads spin-wait. Default false: spinning burns CPU the
    /// pattern detectors and the proxy need.
    pub spin_wait: bool,
    /// Threads per model that tokenise texts and split them into windows. Default 1.
    pub tokenizer_threads: usize,
    /// Whether the queue assembles batches across requests. Default true; false runs every
    /// window alone (for comparison).
    pub batching: bool,
    /// Padded tokens per batch (rows × longest row). Default 8192.
    pub max_batch_tokens: usize,
    /// Rows per batch. Default 64.
    pub max_batch_rows: usize,
    /// Tokens that may wait in one model's queue; more is refused as overload. Default 262144.
    pub max_queued_tokens: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            ort_library: None,
            device: Device::Cpu,
            cuda_device_id: 0,
            intra_threads: 0,
            inter_threads: 1,
            spin_wait: false,
            tokenizer_threads: 1,
            batching: true,
            max_batch_tokens: 8192,
            max_batch_rows: 64,
            max_queued_tokens: 262_144,
        }
    }
}

impl RuntimeConfig {
    /// The library path: `ort_library`, else `ORT_DYLIB_PATH`.
    pub fn library_path(&self) -> Option<PathBuf> {
        self.ort_library.clone().or_else(|| {
            std::env::var_os("ORT_DYLIB_PATH")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }
}
