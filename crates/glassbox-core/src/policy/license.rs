//! Policy section for licence detection (`licenses:`). Extended by the licence work.

use serde::{Deserialize, Serialize};

/// `licenses:` — licence texts, notices and SPDX tags in text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseConfig {
    /// Detect licences in text. Default on.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl Default for LicenseConfig {
    fn default() -> Self {
        LicenseConfig { enabled: true }
    }
}

impl LicenseConfig {
    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        Ok(())
    }
}
