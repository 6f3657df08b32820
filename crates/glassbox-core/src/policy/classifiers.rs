//! Policy section for classifiers (`classifiers:`). Extended by the classifier work.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a classifier screens a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClassifierMode {
    /// Text is released only after its window is classified (bounded delay).
    #[default]
    Hold,
    /// Text is released first; a later verdict may stop the stream.
    Observe,
}

/// One classifier's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierPolicy {
    /// Model bundle name under `models/` (e.g. `prompt-injection-minilm`).
    pub model: String,
    /// Streaming mode. Default `hold`.
    #[serde(default)]
    pub mode: ClassifierMode,
    /// Screen requests (prompts). Default true.
    #[serde(default = "yes")]
    pub requests: bool,
    /// Screen responses (model output). Default true.
    #[serde(default = "yes")]
    pub responses: bool,
    /// Streams: bytes of new text per classifier window. Default 512.
    #[serde(default = "default_window_bytes")]
    pub window_bytes: usize,
    /// Streams: bytes of earlier text repeated at the start of each window, so a phrase cut by
    /// a window boundary is seen whole. Default 128.
    #[serde(default = "default_window_overlap_bytes")]
    pub window_overlap_bytes: usize,
    /// Streams: the longest a byte may wait for its window before a shorter window is sent
    /// (bounds the classifier lag on slow streams). Default 200 ms.
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
}

fn yes() -> bool {
    true
}

fn default_window_bytes() -> usize {
    512
}

fn default_window_overlap_bytes() -> usize {
    128
}

fn default_max_wait_ms() -> u64 {
    200
}

/// `classifiers:` — classifier name (`prompt_injection`, `toxicity`) → settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct ClassifiersConfig(pub BTreeMap<String, ClassifierPolicy>);

impl ClassifiersConfig {
    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        for (name, c) in &self.0 {
            crate::Category::new(name.as_str()).map_err(|e| (name.clone(), e.to_string()))?;
            if c.model.is_empty() {
                return Err((name.clone(), "`model` must name a model bundle".into()));
            }
            if c.window_bytes < 16 {
                return Err((name.clone(), "`window_bytes` must be at least 16".into()));
            }
            if c.window_overlap_bytes >= c.window_bytes {
                return Err((
                    name.clone(),
                    "`window_overlap_bytes` must be less than `window_bytes`".into(),
                ));
            }
        }
        Ok(())
    }
}
