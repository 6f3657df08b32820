//! The classifiers a policy enables, loaded from the model bundles directory.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use glassbox_core::audit::FailOpen;
use glassbox_core::{Classifier, OnError, Policy};

use crate::config::RuntimeConfig;
use crate::manifest::verify_bundle;
use crate::model::ModelClassifier;
use crate::ClassifyError;

/// The model bundles directory: `GLASSBOX_MODELS`, else `models` under the current directory.
pub fn default_models_dir() -> PathBuf {
    std::env::var_os("GLASSBOX_MODELS")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("models"), PathBuf::from)
}

/// The classifiers of one policy, ready to use.
#[derive(Debug, Default)]
pub struct ClassifierSet {
    classifiers: Vec<Arc<ModelClassifier>>,
    degraded: Vec<FailOpen>,
}

impl ClassifierSet {
    /// Loads every classifier under the policy's `classifiers:` section: verifies each bundle
    /// against its manifest, loads the ONNX Runtime library and the model, and starts the
    /// model's queue and worker threads.
    ///
    /// # Errors
    /// The first [`ClassifyError`]: no runtime library, a missing or tampered bundle, a tokenizer
    /// or graph that does not match the manifest, a bundle serving another classifier, CUDA
    /// requested but unavailable.
    pub fn load(
        models_dir: &Path,
        policy: &Policy,
        config: &RuntimeConfig,
    ) -> Result<ClassifierSet, ClassifyError> {
        let mut set = ClassifierSet::default();
        for (name, c) in &policy.classifiers.0 {
            set.classifiers
                .push(load_one(models_dir, name, &c.model, config)?);
        }
        Ok(set)
    }

    /// Like [`ClassifierSet::load`], but when the policy says `on_error: open` a classifier that
    /// fails to load is left out and reported in [`ClassifierSet::degraded`] (the caller audits
    /// it as a fail-open) and logged as an error: screening degrades to patterns only.
    ///
    /// # Errors
    /// With `on_error: closed`, the first [`ClassifyError`].
    pub fn load_or_degrade(
        models_dir: &Path,
        policy: &Policy,
        config: &RuntimeConfig,
    ) -> Result<ClassifierSet, ClassifyError> {
        let mut set = ClassifierSet::default();
        for (name, c) in &policy.classifiers.0 {
            match load_one(models_dir, name, &c.model, config) {
                Ok(m) => set.classifiers.push(m),
                Err(e) if policy.on_error == OnError::Open => {
                    tracing::error!(classifier = %name, error = %e, "classifier unavailable; policy on_error is open: screening without it");
                    set.degraded.push(FailOpen {
                        detector: name.clone(),
                        reason: e.to_string(),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(set)
    }

    /// The loaded classifiers, as the engine's seam.
    pub fn classifiers(&self) -> Vec<Arc<dyn Classifier>> {
        self.classifiers
            .iter()
            .map(|c| c.clone() as Arc<dyn Classifier>)
            .collect()
    }

    /// A loaded classifier by name (`prompt_injection`, `toxicity`).
    pub fn get(&self, name: &str) -> Option<Arc<ModelClassifier>> {
        self.classifiers.iter().find(|c| c.name() == name).cloned()
    }

    /// Classifiers left out under `on_error: open`, with why (audit them as fail-open events).
    pub fn degraded(&self) -> &[FailOpen] {
        &self.degraded
    }

    /// Whether no classifier is loaded.
    pub fn is_empty(&self) -> bool {
        self.classifiers.is_empty()
    }
}

/// A loaded model: the bundle's directory and model digest, and the runtime settings.
type LoadedKey = (PathBuf, String, RuntimeConfig);

/// Models loaded in this process. Policies (and a reloaded policy set) that name the same
/// bundle with the same runtime settings share one instance, hence one queue: their windows
/// batch together and the weights are in memory once. Entries are weak, so a model no engine
/// uses any more is freed; a bundle whose `model.onnx` changed is loaded anew.
static LOADED: Mutex<Vec<(LoadedKey, Weak<ModelClassifier>)>> = Mutex::new(Vec::new());

fn load_one(
    models_dir: &Path,
    name: &str,
    bundle: &str,
    config: &RuntimeConfig,
) -> Result<Arc<ModelClassifier>, ClassifyError> {
    let config = &config.for_bundle(bundle);
    let verified = verify_bundle(models_dir, bundle)?;
    if verified.manifest.classifier != name {
        return Err(ClassifyError::Policy {
            classifier: name.to_string(),
            reason: format!(
                "model bundle `{bundle}` serves `{}`, not `{name}`",
                verified.manifest.classifier
            ),
        });
    }
    let dir = verified
        .dir
        .canonicalize()
        .unwrap_or_else(|_| verified.dir.clone());
    let key: LoadedKey = (dir, verified.model_sha256.clone(), config.clone());
    let mut loaded = LOADED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loaded.retain(|(_, w)| w.strong_count() > 0);
    if let Some(m) = loaded
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, w)| w.upgrade())
    {
        return Ok(m);
    }
    let m = Arc::new(ModelClassifier::load(&verified, config)?);
    loaded.push((key, Arc::downgrade(&m)));
    Ok(m)
}
