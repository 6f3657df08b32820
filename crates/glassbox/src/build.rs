//! Engine construction: a policy's detectors and classifiers wired together.
//!
//! A policy without `classifiers:` needs nothing beyond the binary (no ONNX Runtime at run
//! time). A policy with classifiers loads their model bundles from the models directory
//! (`--models-dir`, else `$GLASSBOX_MODELS`, else `./models`) with the ONNX Runtime library of
//! the [`RuntimeConfig`] (`ORT_DYLIB_PATH` by default). When that fails:
//! - under `on_error: closed`, start-up fails with an error naming what is missing and how to
//!   set it up;
//! - under `on_error: open`, the failure is logged, the classifier is replaced by a stand-in
//!   that fails every call with the start-up reason, and so every decision the policy makes is
//!   audited with a fail-open record for it (screening degrades to patterns only).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use glassbox_classify::{ClassifierSet, RuntimeConfig};
use glassbox_core::audit::FailOpen;
use glassbox_core::classify::ClassifyFuture;
use glassbox_core::{Classifier, Detector, DetectorError, Engine, Family, Policy};

/// Loads a policy file, or the built-in default policy when `path` is `None`.
pub fn load_policy(path: Option<&std::path::Path>) -> anyhow::Result<Policy> {
    match path {
        None => Ok(Policy::default_policy()),
        Some(p) => {
            let src = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read policy file {}", p.display()))?;
            Ok(Policy::from_yaml(&src, &p.display().to_string())?)
        }
    }
}

/// `--device` values (`GLASSBOX_DEVICE`): where the classifiers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceArg {
    /// ONNX Runtime's CPU provider.
    Cpu,
    /// ONNX Runtime's CUDA provider: needs a build with `--features glassbox-classify/cuda`,
    /// the onnxruntime-gpu library (`GLASSBOX_ORT_FLAVOUR=cuda scripts/setup.sh 40-models`) and
    /// CUDA 13 / cuDNN 9 on the library path.
    Cuda,
}

impl From<DeviceArg> for glassbox_classify::Device {
    fn from(d: DeviceArg) -> Self {
        match d {
            DeviceArg::Cpu => glassbox_classify::Device::Cpu,
            DeviceArg::Cuda => glassbox_classify::Device::Cuda,
        }
    }
}

/// Parses a `--bundle-device BUNDLE=DEVICE` value (`toxicity=cpu`).
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_bundle_device(s: &str) -> Result<(String, DeviceArg), String> {
    let (bundle, device) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: want BUNDLE=DEVICE, e.g. toxicity=cpu"))?;
    let device = match device {
        "cpu" => DeviceArg::Cpu,
        "cuda" => DeviceArg::Cuda,
        other => return Err(format!("`{s}`: device `{other}` is not cpu or cuda")),
    };
    if bundle.is_empty() {
        return Err(format!("`{s}`: no bundle name before `=`"));
    }
    Ok((bundle.to_string(), device))
}

/// `--device` and `--bundle-device`, shared by `glassbox proxy`, `scan` and `demo`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DeviceArgs {
    /// Where the classifiers run: cpu (default) or cuda. For the proxy it overrides
    /// `classifiers.runtime.device`.
    #[arg(long, env = "GLASSBOX_DEVICE", value_enum)]
    pub device: Option<DeviceArg>,
    /// Run one model bundle elsewhere than `--device` (repeatable or comma-separated;
    /// `toxicity=cpu` beside `--device cuda` keeps the BiLSTM on the CPU, where it is faster).
    #[arg(long = "bundle-device", env = "GLASSBOX_BUNDLE_DEVICES", value_name = "BUNDLE=DEVICE",
          value_delimiter = ',', value_parser = parse_bundle_device)]
    pub bundle_devices: Vec<(String, DeviceArg)>,
}

impl DeviceArgs {
    /// Applies the flags to `runtime`: `--device` when given, each `--bundle-device` added to
    /// its per-bundle devices.
    pub fn apply(&self, runtime: &mut glassbox_classify::RuntimeConfig) {
        if let Some(d) = self.device {
            runtime.device = d.into();
        }
        runtime.devices.extend(
            self.bundle_devices
                .iter()
                .map(|(b, d)| (b.clone(), (*d).into())),
        );
    }

    /// The default runtime settings with the flags applied.
    pub fn runtime(&self) -> glassbox_classify::RuntimeConfig {
        let mut r = glassbox_classify::RuntimeConfig::default();
        self.apply(&mut r);
        r
    }
}

/// The first bundle with a per-bundle device that is not among `used`, and `used` as a list
/// for the message ("none" when empty): a typo or a stale entry would otherwise do nothing.
pub fn unused_bundle_device<'a>(
    runtime: &'a glassbox_classify::RuntimeConfig,
    used: &std::collections::BTreeSet<&str>,
) -> Option<(&'a str, String)> {
    let bundle = runtime
        .devices
        .keys()
        .find(|b| !used.contains(b.as_str()))?;
    let list = if used.is_empty() {
        "none".to_string()
    } else {
        used.iter().copied().collect::<Vec<_>>().join(", ")
    };
    Some((bundle, list))
}

/// Refuses a per-bundle device for a bundle `policy` does not use.
///
/// # Errors
/// Which bundle, and those the policy uses.
pub fn check_bundle_devices(
    policy: &Policy,
    runtime: &glassbox_classify::RuntimeConfig,
) -> anyhow::Result<()> {
    let used = policy
        .classifiers
        .0
        .values()
        .map(|c| c.model.as_str())
        .collect();
    match unused_bundle_device(runtime, &used) {
        None => Ok(()),
        Some((bundle, used)) => anyhow::bail!(
            "--bundle-device {bundle}=…: policy `{}` uses no model bundle `{bundle}` (it uses: {used})",
            policy.id
        ),
    }
}

/// Where classifiers come from and how they run.
#[derive(Debug, Clone, Default)]
pub struct ClassifierOptions {
    /// The model bundles directory; `None`: `$GLASSBOX_MODELS`, else `./models`.
    pub models_dir: Option<PathBuf>,
    /// ONNX Runtime settings (library, threads, batching).
    pub runtime: RuntimeConfig,
}

impl ClassifierOptions {
    /// The models directory these options resolve to.
    pub fn models_dir(&self) -> PathBuf {
        self.models_dir
            .clone()
            .unwrap_or_else(glassbox_classify::default_models_dir)
    }
}

/// Builds the engine for a policy with default classifier options (models from
/// `$GLASSBOX_MODELS`, ONNX Runtime from `ORT_DYLIB_PATH`).
pub fn engine(policy: Policy) -> anyhow::Result<Engine> {
    engine_with(policy, &ClassifierOptions::default())
}

/// Builds the engine for a policy: the compiled pattern rules, the other detectors, then the
/// policy's classifiers (see the module docs for what happens when they cannot be loaded).
pub fn engine_with(policy: Policy, options: &ClassifierOptions) -> anyhow::Result<Engine> {
    let classifiers = if policy.classifiers.0.is_empty() {
        Vec::new()
    } else {
        classifiers(&policy, options)?
    };
    let engine = patterns_engine(policy)?;
    Ok(if classifiers.is_empty() {
        engine
    } else {
        engine.with_classifiers(classifiers)
    })
}

/// Builds the engine for a policy's detectors only (patterns, licences), leaving its
/// classifiers out: for checks that must not need ONNX Runtime.
pub fn patterns_engine(policy: Policy) -> anyhow::Result<Engine> {
    let mut detectors: Vec<Arc<dyn Detector>> = glassbox_patterns::detectors(&policy)
        .with_context(|| format!("policy `{}`: cannot build pattern detectors", policy.id))?;
    if policy.licenses.enabled && policy.family_enabled(Family::License) {
        let licence = glassbox_license::detector(&policy.licenses).with_context(|| {
            format!("policy `{}`: cannot build the licence detector", policy.id)
        })?;
        detectors.push(Arc::new(licence));
    }
    Ok(Engine::new(Arc::new(policy), detectors))
}

/// Checks a policy's classifier bundles without loading ONNX Runtime: each named bundle must
/// exist in the models directory (its `manifest.yaml`) and serve the classifier it is named
/// for. Returns one note per bundle that exists but cannot be verified yet (files not built:
/// set-up has not run); an unknown bundle or one serving another classifier is an error.
pub fn check_classifier_bundles(
    policy: &Policy,
    options: &ClassifierOptions,
) -> anyhow::Result<Vec<String>> {
    let dir = options.models_dir();
    let mut notes = Vec::new();
    for (name, c) in &policy.classifiers.0 {
        let manifest = dir.join(&c.model).join("manifest.yaml");
        if !manifest.is_file() {
            anyhow::bail!(
                "policy `{}`: classifier `{name}`: no model bundle `{}` in `{}` ({} is missing)",
                policy.id,
                c.model,
                dir.display(),
                manifest.display()
            );
        }
        match glassbox_classify::verify_bundle(&dir, &c.model) {
            Ok(v) if v.manifest.classifier != *name => anyhow::bail!(
                "policy `{}`: classifier `{name}`: model bundle `{}` serves `{}`, not `{name}`",
                policy.id,
                c.model,
                v.manifest.classifier
            ),
            Ok(_) => {}
            Err(e) => notes.push(format!("classifier `{name}`: bundle not verified: {e}")),
        }
    }
    Ok(notes)
}

/// Loads the policy's classifiers; under `on_error: open` the ones that fail become
/// [`Unavailable`] stand-ins.
fn classifiers(
    policy: &Policy,
    options: &ClassifierOptions,
) -> anyhow::Result<Vec<Arc<dyn Classifier>>> {
    let dir = options.models_dir();
    let set = ClassifierSet::load_or_degrade(&dir, policy, &options.runtime)
        .map_err(|e| anyhow::anyhow!(load_error(policy, &dir, &e.to_string())))?;
    let mut out = set.classifiers();
    for d in set.degraded() {
        eprintln!(
            "glassbox: policy `{}`: classifier `{}` unavailable ({}); on_error: open, so texts pass without it and every decision records a fail-open",
            policy.id, d.detector, d.reason
        );
        out.push(Arc::new(Unavailable(d.clone())));
    }
    // Keep the policy's order (names sort in the policy map) whatever failed.
    out.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(out)
}

fn load_error(policy: &Policy, dir: &Path, reason: &str) -> String {
    let names: Vec<&str> = policy.classifiers.0.keys().map(String::as_str).collect();
    let fix = if reason.starts_with("CUDA requested") {
        "To fix it: build with the `cuda` feature (`cargo build --release -p glassbox --features cuda`), \
         set up onnxruntime-gpu and the float encoder with `GLASSBOX_ORT_FLAVOUR=cuda scripts/setup.sh 40-models`, \
         then `GLASSBOX_ORT_FLAVOUR=cuda source scripts/env.sh`, with CUDA 13 and cuDNN 9 on the library path; \
         or run the classifiers on the CPU (`--device cpu`, `classifiers.runtime.device: cpu`)"
    } else {
        "To fix it: run `make setup` (or `scripts/setup.sh 40`) to build the model bundles and unpack ONNX Runtime, \
         then `source scripts/env.sh` (sets ORT_DYLIB_PATH and GLASSBOX_MODELS) or pass --models-dir; \
         or remove `classifiers:` from the policy; or set `on_error: open` to run without them (audited as fail-open)"
    };
    format!(
        "policy `{}` enables classifiers ({}) but they cannot be loaded from the models directory `{}`: {reason}\n{fix}",
        policy.id,
        names.join(", "),
        dir.display()
    )
}

/// A classifier that could not be loaded under `on_error: open`: every call fails with the
/// start-up reason, so the engine records a fail-open for it in each decision.
#[derive(Debug)]
pub struct Unavailable(FailOpen);

impl Classifier for Unavailable {
    fn name(&self) -> &str {
        &self.0.detector
    }

    fn model_digest(&self) -> String {
        "unavailable".to_string()
    }

    fn classify(&self, _text: String) -> ClassifyFuture {
        let error = DetectorError {
            detector: self.0.detector.clone(),
            reason: format!("unavailable since start-up: {}", self.0.reason),
        };
        Box::pin(std::future::ready(Err(error)))
    }
}
