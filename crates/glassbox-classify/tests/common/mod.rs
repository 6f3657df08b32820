//! Test helpers: temporary bundles with a small WordLevel tokenizer, and where set-up put the
//! real bundles and the ONNX Runtime library.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "glassbox-classify-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

/// Hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Words of the test vocabulary; ids start at 4 after [PAD] [UNK] [CLS] [SEP].
pub const WORDS: &[&str] = &[
    "hello",
    "world",
    "the",
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "ignore",
    "previous",
    "instructions",
];

/// Token id of a test word.
pub fn id(word: &str) -> u32 {
    4 + WORDS.iter().position(|w| *w == word).expect("test word") as u32
}

/// The test WordLevel tokenizer with [CLS]/[SEP] post-processing.
pub fn tokenizer_json() -> String {
    let mut vocab = serde_json::Map::new();
    for (i, w) in ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        .iter()
        .chain(WORDS)
        .enumerate()
    {
        vocab.insert((*w).to_string(), serde_json::json!(i));
    }
    serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}
            }
        },
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    })
    .to_string()
}

/// Writes a bundle `name` with the test tokenizer and a placeholder model file; `max_tokens`
/// includes the two special tokens.
pub fn write_test_bundle(dir: &Path, name: &str, max_tokens: usize, overlap: usize) -> PathBuf {
    let b = dir.join(name);
    std::fs::create_dir_all(&b).expect("bundle dir");
    let tok = tokenizer_json();
    let model = b"placeholder: the test backend does not read model.onnx".to_vec();
    std::fs::write(b.join("tokenizer.json"), &tok).expect("write tokenizer");
    std::fs::write(b.join("model.onnx"), &model).expect("write model");
    let manifest = format!(
        "name: {name}
classifier: prompt_injection
upstream_model: test
licenses:
  weights: none
build:
  recipe: test
labels: [prompt_injection]
inputs: [input_ids, attention_mask]
max_tokens: {max_tokens}
window_overlap_tokens: {overlap}
tokenizer:
  add_special_tokens: true
  drop_unknown: false
  padding: right
  fixed_length: false
  vocab_size: {vocab}
thresholds:
  prompt_injection: 0.5
files:
  model.onnx:
    sha256: {m}
  tokenizer.json:
    sha256: {t}
",
        vocab = 4 + WORDS.len(),
        m = sha256_hex(&model),
        t = sha256_hex(tok.as_bytes()),
    );
    std::fs::write(b.join("manifest.yaml"), manifest).expect("write manifest");
    b
}

/// Where set-up put the bundles and the runtime, or `None` (printing why) when they are not
/// there. Under `CI` a missing piece is a failure, not a skip.
pub fn real_models() -> Option<PathBuf> {
    let models = std::env::var_os("GLASSBOX_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"));
    let lib = std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from);
    let missing = match &lib {
        None => Some("ORT_DYLIB_PATH is not set".to_string()),
        Some(p) if !p.is_file() => Some(format!("ORT_DYLIB_PATH={} does not exist", p.display())),
        _ if !models.join("prompt-injection/model.onnx").is_file()
            || !models.join("toxicity/model.onnx").is_file() =>
        {
            Some(format!(
                "the model bundles are not built under {}",
                models.display()
            ))
        }
        _ => None,
    };
    match missing {
        None => Some(models),
        Some(why) if std::env::var_os("CI").is_some() => {
            panic!("{why}: run `scripts/setup.sh 40-models` and `source scripts/env.sh` (CI must run these tests)")
        }
        Some(why) => {
            eprintln!(
                "skipped: {why} (run `scripts/setup.sh 40-models` and `source scripts/env.sh`)"
            );
            None
        }
    }
}
