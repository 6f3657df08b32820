//! Model bundle manifests (`models/<bundle>/manifest.yaml`) and their verification at load.
//!
//! A bundle is a directory with `manifest.yaml`, `model.onnx` and `tokenizer.json`. The manifest
//! names the source packages and licences, the labels, the window length and the sha256 of every
//! file. A file whose digest is pinned in the manifest must match it; a file marked
//! `sha256: build` (trained at set-up with floating-point arithmetic whose last bits may differ
//! between CPUs) must match the digest set-up recorded in `build.sha256`. Anything else is
//! refused with [`ClassifyError::Tampered`].

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::ClassifyError;

/// A parsed `manifest.yaml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Bundle name (the directory name).
    pub name: String,
    /// The classifier (category family) this bundle serves: `prompt_injection`, `toxicity`.
    pub classifier: String,
    /// What the model detects and where it is weak.
    #[serde(default)]
    pub description: String,
    /// The upstream model.
    pub upstream_model: String,
    /// Licences of the package, weights and training data.
    pub licenses: BTreeMap<String, String>,
    /// Source files the bundle is built from, with their packages and sha256.
    #[serde(default)]
    pub sources: Vec<Source>,
    /// How set-up builds the bundle.
    pub build: BuildInfo,
    /// Output labels, in the order of the model's `scores` columns. A label equal to the
    /// classifier name is reported as that category; others as `<classifier>.<label>`.
    pub labels: Vec<String>,
    /// Model inputs, a subset of `input_ids`, `attention_mask`, `token_type_ids`.
    pub inputs: Vec<ModelInput>,
    /// Tokens per window, special tokens included.
    pub max_tokens: usize,
    /// Tokens shared by consecutive windows of a long text.
    pub window_overlap_tokens: usize,
    /// Tokenizer handling.
    pub tokenizer: TokenizerSettings,
    /// Recommended thresholds (category prefix → score), from the bundle's evaluation.
    #[serde(default)]
    pub thresholds: BTreeMap<String, f32>,
    /// Bundle files and their digests.
    pub files: BTreeMap<String, FileEntry>,
}

/// A source file of a bundle.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Short name the build recipe uses.
    pub name: String,
    /// Package and exact version it comes from.
    pub package: String,
    /// `site:<path>` (Python site-packages) or `crate:<path>` (cargo registry).
    pub path: String,
    /// Its sha256.
    pub sha256: String,
    /// Whether the build can go without it (evaluation-only sources).
    #[serde(default)]
    pub optional: bool,
}

/// The build recipe.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildInfo {
    /// Recipe name in `models/tools/build_bundles.py`.
    pub recipe: String,
}

/// One model input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelInput {
    /// Token ids.
    InputIds,
    /// 1 for tokens, 0 for padding.
    AttentionMask,
    /// Segment ids (all 0).
    TokenTypeIds,
}

impl ModelInput {
    /// The tensor name in the ONNX graph.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelInput::InputIds => "input_ids",
            ModelInput::AttentionMask => "attention_mask",
            ModelInput::TokenTypeIds => "token_type_ids",
        }
    }
}

/// Which side padding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaddingSide {
    /// Pad after the tokens (BERT).
    Right,
    /// Pad before the tokens (Keras `pad_sequences` default).
    Left,
}

/// How texts become model inputs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerSettings {
    /// Whether each window gets the tokenizer's special tokens (`[CLS]`, `[SEP]`).
    pub add_special_tokens: bool,
    /// Whether tokens the vocabulary does not know are dropped (Keras' tokenizer skips them).
    pub drop_unknown: bool,
    /// Padding side.
    pub padding: PaddingSide,
    /// Whether every row is padded to `max_tokens` (models trained on fixed-length input).
    pub fixed_length: bool,
    /// Padding token id. Default 0.
    #[serde(default)]
    pub pad_id: u32,
    /// The tokenizer's vocabulary size (added tokens included), checked at load.
    pub vocab_size: usize,
}

/// A bundle file's digest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Hex sha256, or `build` when set-up records it in `build.sha256`.
    pub sha256: String,
}

/// A bundle whose files have been checked against its manifest.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// The bundle directory.
    pub dir: PathBuf,
    /// The manifest.
    pub manifest: Manifest,
    /// The model digest for the audit trail: `model.onnx`'s sha256, or, with external weights,
    /// the sha256 over both files' digests (see `model_digest`).
    pub model_sha256: String,
}

impl VerifiedBundle {
    /// Path of a bundle file.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Manifest {
    /// Parses a manifest; `origin` names it in errors.
    ///
    /// # Errors
    /// [`ClassifyError::Manifest`] with line, column and reason.
    pub fn from_yaml(src: &str, origin: &Path) -> Result<Manifest, ClassifyError> {
        let m: Manifest = serde_norway::from_str(src).map_err(|e| ClassifyError::Manifest {
            path: origin.to_path_buf(),
            reason: e.to_string(),
        })?;
        m.validate().map_err(|reason| ClassifyError::Manifest {
            path: origin.to_path_buf(),
            reason,
        })?;
        Ok(m)
    }

    fn validate(&self) -> Result<(), String> {
        if self.labels.is_empty() {
            return Err("field `labels`: at least one label is required".into());
        }
        for l in &self.labels {
            glassbox_core::Category::new(self.category_name(l))
                .map_err(|e| format!("field `labels`: label `{l}`: {e}"))?;
        }
        if !self.inputs.contains(&ModelInput::InputIds) {
            return Err("field `inputs`: `input_ids` is required".into());
        }
        let specials = if self.tokenizer.add_special_tokens {
            2
        } else {
            0
        };
        if self.max_tokens <= specials + 1 {
            return Err(format!(
                "field `max_tokens`: {} is too small",
                self.max_tokens
            ));
        }
        if self.window_overlap_tokens * 2 > self.max_tokens - specials {
            return Err(format!(
                "field `window_overlap_tokens`: {} must be at most half the window ({} tokens)",
                self.window_overlap_tokens,
                self.max_tokens - specials
            ));
        }
        for name in ["model.onnx", "tokenizer.json"] {
            if !self.files.contains_key(name) {
                return Err(format!(
                    "field `files`: `{name}` must be listed with its sha256"
                ));
            }
        }
        for (name, f) in &self.files {
            let ok = f.sha256 == "build"
                || (f.sha256.len() == 64 && f.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
            if !ok {
                return Err(format!(
                    "field `files.{name}.sha256`: want 64 hex digits or `build`, got `{}`",
                    f.sha256
                ));
            }
        }
        for (k, t) in &self.thresholds {
            if !(0.0..=1.0).contains(t) {
                return Err(format!("field `thresholds.{k}`: {t} is outside [0, 1]"));
            }
        }
        Ok(())
    }

    /// The category name a label is reported as.
    pub fn category_name(&self, label: &str) -> String {
        if label == self.classifier {
            label.to_string()
        } else {
            format!("{}.{label}", self.classifier)
        }
    }
}

/// Reads `<models_dir>/<bundle>/manifest.yaml` and checks the sha256 of every listed file.
///
/// # Errors
/// [`ClassifyError::MissingFile`] when the bundle or a file is missing,
/// [`ClassifyError::Manifest`] when the manifest is invalid, [`ClassifyError::Tampered`] when a
/// digest does not match.
pub fn verify_bundle(models_dir: &Path, bundle: &str) -> Result<VerifiedBundle, ClassifyError> {
    let dir = models_dir.join(bundle);
    let manifest_path = dir.join("manifest.yaml");
    let missing = |path: PathBuf| ClassifyError::MissingFile {
        bundle: bundle.to_string(),
        path,
    };
    let src = fs::read_to_string(&manifest_path).map_err(|_| missing(manifest_path.clone()))?;
    let manifest = Manifest::from_yaml(&src, &manifest_path)?;
    if manifest.name != bundle {
        return Err(ClassifyError::Manifest {
            path: manifest_path,
            reason: format!(
                "field `name`: `{}` does not match the directory `{bundle}`",
                manifest.name
            ),
        });
    }
    let mut build_lock: Option<BTreeMap<String, String>> = None;
    let mut digests: BTreeMap<&str, String> = BTreeMap::new();
    for (name, entry) in &manifest.files {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(missing(path));
        }
        let actual = sha256_file(&path).map_err(|e| ClassifyError::Manifest {
            path: path.clone(),
            reason: format!("cannot read: {e}"),
        })?;
        let (expected, source_of_truth) = if entry.sha256 == "build" {
            if build_lock.is_none() {
                build_lock = Some(read_build_lock(&dir, bundle)?);
            }
            let lock = build_lock.as_ref().map(|l| l.get(name).cloned());
            match lock.flatten() {
                Some(d) => (d, "build.sha256"),
                None => {
                    return Err(ClassifyError::Manifest {
                        path: dir.join("build.sha256"),
                        reason: format!(
                            "no digest recorded for `{name}` (run `scripts/setup.sh 40-models` to rebuild the bundle)"
                        ),
                    })
                }
            }
        } else {
            (entry.sha256.to_ascii_lowercase(), "manifest.yaml")
        };
        if actual != expected {
            return Err(ClassifyError::Tampered {
                bundle: bundle.to_string(),
                file: name.clone(),
                expected,
                actual,
                source_of_truth: source_of_truth.to_string(),
            });
        }
        digests.insert(name.as_str(), actual);
    }
    let model_sha256 = model_digest(&digests);
    Ok(VerifiedBundle {
        dir,
        manifest,
        model_sha256,
    })
}

/// The model's digest: `model.onnx`'s sha256, or, when its weights are in `model.data`, the
/// sha256 of `model.onnx <hex>\nmodel.data <hex>\n` (so it changes with either file).
fn model_digest(digests: &BTreeMap<&str, String>) -> String {
    let graph = digests.get("model.onnx").cloned().unwrap_or_default();
    match digests.get("model.data") {
        None => graph,
        Some(data) => {
            let mut h = Sha256::new();
            h.update(format!("model.onnx {graph}\nmodel.data {data}\n").as_bytes());
            hex::encode(h.finalize())
        }
    }
}

fn read_build_lock(dir: &Path, bundle: &str) -> Result<BTreeMap<String, String>, ClassifyError> {
    let path = dir.join("build.sha256");
    let src = fs::read_to_string(&path).map_err(|_| ClassifyError::MissingFile {
        bundle: bundle.to_string(),
        path: path.clone(),
    })?;
    let mut out = BTreeMap::new();
    for (i, line) in src.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(d), Some(name), None) if d.len() == 64 => {
                out.insert(name.to_string(), d.to_ascii_lowercase());
            }
            _ => {
                return Err(ClassifyError::Manifest {
                    path,
                    reason: format!("line {}: want `<sha256>  <file>`", i + 1),
                })
            }
        }
    }
    Ok(out)
}

/// Hex sha256 of a file.
///
/// # Errors
/// The I/O error reading it.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}
