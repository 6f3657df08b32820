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
}

fn yes() -> bool {
    true
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
        }
        Ok(())
    }
}
