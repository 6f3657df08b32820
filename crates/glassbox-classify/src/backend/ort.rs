//! The ONNX Runtime backend: one `ort` session per worker thread, CPU by default, CUDA behind the
//! `cuda` feature and `device: cuda`.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use ort::environment::Environment;
use ort::session::{Session, SessionInputValue};
use ort::value::{Tensor, ValueType};

use super::{Backend, Batch};
use crate::config::{Device, RuntimeConfig};
use crate::manifest::{ModelInput, VerifiedBundle};
use crate::{BackendError, ClassifyError};

static RUNTIME: Mutex<Option<Arc<Environment>>> = Mutex::new(None);

/// Loads the ONNX Runtime library (once per process) and returns its environment.
///
/// The library is `config.ort_library`, else `ORT_DYLIB_PATH`; it is loaded with
/// `ort::init_from`, so a missing or unusable library is an error, never a panic.
///
/// # Errors
/// [`ClassifyError::Runtime`] naming the path and the reason.
pub fn init_runtime(config: &RuntimeConfig) -> Result<Arc<Environment>, ClassifyError> {
    let mut guard = RUNTIME.lock().map_err(|_| ClassifyError::Runtime {
        path: None,
        reason: "runtime lock poisoned by an earlier panic".into(),
    })?;
    if let Some(env) = guard.as_ref() {
        return Ok(env.clone());
    }
    let path = config
        .library_path()
        .ok_or_else(|| ClassifyError::Runtime {
            path: None,
            reason: "ORT_DYLIB_PATH is not set".into(),
        })?;
    if !path.is_file() {
        return Err(ClassifyError::Runtime {
            path: Some(path),
            reason: "no such file".into(),
        });
    }
    let builder = ort::init_from(&path).map_err(|e| ClassifyError::Runtime {
        path: Some(path.clone()),
        reason: e.to_string(),
    })?;
    let env = builder
        .with_name("glassbox")
        .with_telemetry(false)
        .build()
        .map_err(|e| ClassifyError::Runtime {
            path: Some(path.clone()),
            reason: e.to_string(),
        })?;
    let env = Arc::new(env);
    *guard = Some(env.clone());
    Ok(env)
}

/// Runs a bundle's `model.onnx` with ONNX Runtime.
pub struct OrtBackend {
    session: Session,
    inputs: Vec<ModelInput>,
    labels: usize,
    has_embedding: bool,
}

impl std::fmt::Debug for OrtBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtBackend")
            .field("inputs", &self.inputs)
            .field("labels", &self.labels)
            .finish()
    }
}

impl OrtBackend {
    /// Opens a session on the bundle's `model.onnx` and checks that the graph has the inputs the
    /// manifest declares and a `scores` output with one column per label.
    ///
    /// # Errors
    /// [`ClassifyError::Runtime`] without a usable library, [`ClassifyError::CudaUnavailable`]
    /// when CUDA is asked for and cannot be used, [`ClassifyError::Model`] when the graph does
    /// not load or does not match the manifest.
    pub fn new(
        bundle: &VerifiedBundle,
        config: &RuntimeConfig,
    ) -> Result<OrtBackend, ClassifyError> {
        let env = init_runtime(config)?;
        let name = bundle.manifest.name.clone();
        let model_err = |reason: String| ClassifyError::Model {
            bundle: name.clone(),
            reason,
        };
        let mut builder = Session::builder(&env).map_err(|e| model_err(e.to_string()))?;
        let b = |r: Result<_, ort::Error<ort::session::builder::SessionBuilder>>| {
            r.map_err(|e| model_err(e.to_string()))
        };
        if config.intra_threads > 0 {
            builder = b(builder.with_intra_threads(config.intra_threads))?;
        }
        builder = b(builder.with_inter_threads(config.inter_threads.max(1)))?;
        let spin = if config.spin_wait { "1" } else { "0" };
        builder = b(builder.with_config_entry("session.intra_op.allow_spinning", spin))?;
        builder = b(builder.with_config_entry("session.inter_op.allow_spinning", spin))?;
        if config.device == Device::Cuda {
            builder = with_cuda(builder, config)?;
        }
        let model_path = bundle.file("model.onnx");
        let session = builder
            .commit_from_file(&model_path)
            .map_err(|e| model_err(e.to_string()))?;

        let graph_inputs: Vec<String> = session
            .inputs()
            .iter()
            .map(|i| i.name().to_string())
            .collect();
        let declared: Vec<&str> = bundle.manifest.inputs.iter().map(|i| i.as_str()).collect();
        let mut sorted_graph = graph_inputs.clone();
        sorted_graph.sort();
        let mut sorted_declared: Vec<String> = declared.iter().map(|s| s.to_string()).collect();
        sorted_declared.sort();
        if sorted_graph != sorted_declared {
            return Err(model_err(format!(
                "graph inputs {graph_inputs:?} do not match the manifest's inputs {declared:?}"
            )));
        }
        let labels = bundle.manifest.labels.len();
        let scores = session
            .outputs()
            .iter()
            .find(|o| o.name() == "scores")
            .ok_or_else(|| model_err("no `scores` output".into()))?;
        if let ValueType::Tensor { shape, .. } = scores.dtype() {
            let cols = shape.last().copied().unwrap_or(-1);
            if cols >= 0 && cols as usize != labels {
                return Err(model_err(format!(
                    "`scores` has {cols} columns but the manifest lists {labels} labels"
                )));
            }
        }
        let has_embedding = session
            .outputs()
            .iter()
            .any(|o| o.name() == "sentence_embedding");
        Ok(OrtBackend {
            session,
            inputs: bundle.manifest.inputs.clone(),
            labels,
            has_embedding,
        })
    }

    fn run(&mut self, batch: &Batch, output: &str) -> Result<(Vec<usize>, Vec<f32>), BackendError> {
        let shape = [batch.rows, batch.seq_len];
        let mut feeds: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
            Vec::with_capacity(self.inputs.len());
        for input in &self.inputs {
            let data = match input {
                ModelInput::InputIds => batch.input_ids.clone(),
                ModelInput::AttentionMask => batch.attention_mask.clone(),
                ModelInput::TokenTypeIds => vec![0i64; batch.input_ids.len()],
            };
            let t = Tensor::from_array((shape, data)).map_err(|e| BackendError(e.to_string()))?;
            feeds.push((Cow::Borrowed(input.as_str()), t.into()));
        }
        let outputs = self
            .session
            .run(feeds)
            .map_err(|e| BackendError(e.to_string()))?;
        let value = outputs
            .get(output)
            .ok_or_else(|| BackendError(format!("the model returned no `{output}` output")))?;
        let (shape, data) = value
            .try_extract_tensor::<f32>()
            .map_err(|e| BackendError(e.to_string()))?;
        let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
        Ok((dims, data.to_vec()))
    }

    /// The `sentence_embedding` output for a batch, when the graph has one (MiniLM bundles).
    ///
    /// # Errors
    /// [`BackendError`] when the graph has no such output or the run fails.
    pub fn embed(&mut self, batch: &Batch) -> Result<Vec<Vec<f32>>, BackendError> {
        if !self.has_embedding {
            return Err(BackendError(
                "this model has no `sentence_embedding` output".into(),
            ));
        }
        let (dims, data) = self.run(batch, "sentence_embedding")?;
        let width = dims.get(1).copied().unwrap_or(0).max(1);
        Ok(data.chunks(width).map(<[f32]>::to_vec).collect())
    }
}

#[cfg(feature = "cuda")]
fn with_cuda(
    builder: ort::session::builder::SessionBuilder,
    config: &RuntimeConfig,
) -> Result<ort::session::builder::SessionBuilder, ClassifyError> {
    use ort::ep::ExecutionProvider;
    let available =
        ort::ep::CUDA::is_available().map_err(|e| ClassifyError::CudaUnavailable(e.to_string()))?;
    if !available {
        return Err(ClassifyError::CudaUnavailable(format!(
            "the ONNX Runtime library{} has no CUDAExecutionProvider; install the onnxruntime-gpu {} library with CUDA 13 and cuDNN 9, or set `device: cpu`",
            config.library_path().map(|p| format!(" at {}", p.display())).unwrap_or_default(),
            "1.31.1"
        )));
    }
    let ep = ort::ep::CUDA::default()
        .with_device_id(config.cuda_device_id)
        .build()
        .error_on_failure();
    builder.with_execution_providers([ep]).map_err(|e| {
        ClassifyError::CudaUnavailable(format!(
            "registering the CUDA execution provider failed: {e} (are the CUDA 13 and cuDNN 9 libraries on the library path?)"
        ))
    })
}

#[cfg(not(feature = "cuda"))]
fn with_cuda(
    _builder: ort::session::builder::SessionBuilder,
    _config: &RuntimeConfig,
) -> Result<ort::session::builder::SessionBuilder, ClassifyError> {
    Err(ClassifyError::CudaUnavailable(
        "this glassbox was built without the `cuda` cargo feature; rebuild with `--features glassbox-classify/cuda` or set `device: cpu`".into(),
    ))
}

impl Backend for OrtBackend {
    fn predict(&mut self, batch: &Batch) -> Result<Vec<Vec<f32>>, BackendError> {
        let (dims, data) = self.run(batch, "scores")?;
        if dims.len() != 2 || dims[0] != batch.rows || dims[1] != self.labels {
            return Err(BackendError(format!(
                "`scores` has shape {dims:?}, want [{}, {}]",
                batch.rows, self.labels
            )));
        }
        Ok(data.chunks(self.labels).map(<[f32]>::to_vec).collect())
    }
}
