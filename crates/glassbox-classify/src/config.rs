//! Runtime settings for the classifiers (deployment, not policy): device, threads, batching and
//! queue limits. Part of the proxy's configuration file; `Default` suits a CPU machine.

use std::collections::BTreeMap;
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
    /// Per-bundle device, overriding `device` (bundle name → `cpu` | `cuda`). On a CUDA host the
    /// BiLSTM `toxicity` bundle runs ~5× faster on the CPU (100 sequential steps of tiny
    /// kernels on a GPU), while the MiniLM encoder runs ~16× faster on the GPU:
    /// `device: cuda` with `devices: {toxicity: cpu}`.
    pub devices: BTreeMap<String, Device>,
    /// CUDA device ordinal. Default 0.
    pub cuda_device_id: i32,
    /// Sessions per model, each running its own batches from the model's one queue. Default 0:
    /// on CPU one per core divided by `intra_threads` (one per core when that is 0 too), on
    /// CUDA one. Two single-threaded sessions on two cores score one text's two windows side
    /// by side ~30 % sooner than one session splitting each operator over two threads.
    pub workers: usize,
    /// Threads ONNX Runtime uses inside one operator, per session. Default 0: on CPU the cores
    /// left to each of `workers` sessions (1 when `workers` is 0 too), on CUDA ONNX Runtime's
    /// choice.
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
            devices: BTreeMap::new(),
            cuda_device_id: 0,
            workers: 0,
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
    /// The settings one bundle runs with: its entry in `devices`, else `device`; the result has
    /// no `devices` (so bundles with the same effective settings compare equal).
    pub fn for_bundle(&self, bundle: &str) -> RuntimeConfig {
        let mut c = self.clone();
        if let Some(d) = self.devices.get(bundle) {
            c.device = *d;
        }
        c.devices.clear();
        c
    }

    /// Sessions per model and intra-op threads per session once the `0` defaults are resolved
    /// against `cores` (see [`RuntimeConfig::workers`]). `intra_threads` 0 in the result means
    /// ONNX Runtime's choice.
    pub fn sessions(&self, cores: usize) -> (usize, usize) {
        let cores = cores.max(1);
        match (self.device, self.workers, self.intra_threads) {
            (Device::Cuda, w, t) => (w.max(1), t),
            (Device::Cpu, 0, 0) => (cores, 1),
            (Device::Cpu, 0, t) => ((cores / t).max(1), t),
            (Device::Cpu, w, 0) => (w, (cores / w).max(1)),
            (Device::Cpu, w, t) => (w, t),
        }
    }

    /// The library path: `ort_library`, else `ORT_DYLIB_PATH`.
    pub fn library_path(&self) -> Option<PathBuf> {
        self.ort_library.clone().or_else(|| {
            std::env::var_os("ORT_DYLIB_PATH")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_runs_on_its_own_device_else_the_default() {
        let mut cfg = RuntimeConfig {
            device: Device::Cuda,
            ..RuntimeConfig::default()
        };
        cfg.devices.insert("toxicity".into(), Device::Cpu);
        let tox = cfg.for_bundle("toxicity");
        let pi = cfg.for_bundle("prompt-injection");
        assert_eq!((tox.device, pi.device), (Device::Cpu, Device::Cuda));
        assert!(tox.devices.is_empty() && pi.devices.is_empty());
        // Same effective settings, same key for the loaded-model cache.
        assert_eq!(
            pi,
            RuntimeConfig {
                device: Device::Cuda,
                ..RuntimeConfig::default()
            }
        );
    }

    #[test]
    fn sessions_resolve_the_zero_defaults_per_device() {
        let cfg = |device, workers, intra_threads| RuntimeConfig {
            device,
            workers,
            intra_threads,
            ..RuntimeConfig::default()
        };
        let cases = [
            // (device, workers, intra, cores) -> (sessions, threads each)
            ((Device::Cpu, 0, 0, 2), (2, 1)),
            ((Device::Cpu, 0, 0, 0), (1, 1)),
            ((Device::Cpu, 0, 2, 2), (1, 2)),
            ((Device::Cpu, 0, 4, 2), (1, 4)),
            ((Device::Cpu, 1, 0, 2), (1, 2)),
            ((Device::Cpu, 4, 0, 2), (4, 1)),
            ((Device::Cpu, 3, 2, 2), (3, 2)),
            ((Device::Cuda, 0, 0, 16), (1, 0)),
            ((Device::Cuda, 2, 4, 16), (2, 4)),
        ];
        for ((device, workers, intra, cores), want) in cases {
            assert_eq!(
                cfg(device, workers, intra).sessions(cores),
                want,
                "{device:?} workers {workers} intra {intra} on {cores} cores"
            );
        }
    }
}
