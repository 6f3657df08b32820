//! Policy section for licences (`licenses:`): what to detect in text, which action each licence
//! class gets (globally, per tenant, per route), and the served-model licence registry with its
//! approvals.
//!
//! The classes of SPDX licences are derived from SPDX metadata by `glassbox-license`; this module
//! only holds the operator's settings and checks their syntax.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Action, Category};

/// A licence class: what using text or a model under the licence obliges or forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseClass {
    /// MIT, BSD, Apache-2.0, ISC, Zlib, public-domain dedications: attribution at most.
    Permissive,
    /// LGPL, MPL, EPL, CDDL: file- or library-level copyleft.
    WeakCopyleft,
    /// GPL and other program-wide copyleft.
    StrongCopyleft,
    /// AGPL, OSL, EUPL-style copyleft triggered by network use.
    NetworkCopyleft,
    /// Licences that forbid commercial use (CC BY-NC, research-only model licences).
    NonCommercial,
    /// Source-available / restricted-use: SSPL, BUSL, Elastic, and model licences with
    /// user-count thresholds or acceptable-use policies (Llama, DBRX).
    SourceAvailable,
    /// Proprietary terms (closed model APIs, commercial EULAs).
    Proprietary,
    /// Not recognised, or an invalid SPDX expression.
    Unknown,
}

impl LicenseClass {
    /// Every class, least restrictive first.
    pub const ALL: [LicenseClass; 8] = [
        LicenseClass::Permissive,
        LicenseClass::WeakCopyleft,
        LicenseClass::StrongCopyleft,
        LicenseClass::NetworkCopyleft,
        LicenseClass::NonCommercial,
        LicenseClass::SourceAvailable,
        LicenseClass::Proprietary,
        LicenseClass::Unknown,
    ];

    /// The class's name as written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseClass::Permissive => "permissive",
            LicenseClass::WeakCopyleft => "weak_copyleft",
            LicenseClass::StrongCopyleft => "strong_copyleft",
            LicenseClass::NetworkCopyleft => "network_copyleft",
            LicenseClass::NonCommercial => "non_commercial",
            LicenseClass::SourceAvailable => "source_available",
            LicenseClass::Proprietary => "proprietary",
            LicenseClass::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for LicenseClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the model check does for a licence class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelRule {
    /// Forward the request.
    Allow,
    /// Forward and record the licence's obligations.
    Annotate,
    /// Refuse, with an explanation.
    Block,
    /// Forward only when an approval under `licenses.models.approvals` covers the model and
    /// tenant; refuse otherwise.
    RequireApproval,
}

/// Per-tenant or per-route licence settings; what is set here beats the global settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseScopeConfig {
    /// Class → action for licences found in text.
    #[serde(default)]
    pub classes: BTreeMap<LicenseClass, Action>,
    /// Licence id (`GPL-2.0-only`, `LicenseRef-…`) → action; beats `classes`.
    #[serde(default)]
    pub overrides: BTreeMap<String, Action>,
    /// Class → rule for the served model's licence.
    #[serde(default)]
    pub model_classes: BTreeMap<LicenseClass, ModelRule>,
}

/// One served-model entry: model names matching `match` are under `licence`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Model name or glob (`*` any run, `?` one character), matched case-insensitively against
    /// the requested model name and its last `/`-separated part.
    #[serde(rename = "match")]
    pub pattern: String,
    /// SPDX id or expression, or `LicenseRef-…`.
    pub licence: String,
    /// Where the licence statement comes from (a URL, a model card), for the audit report.
    #[serde(default)]
    pub source: Option<String>,
}

/// An approval to use a model whose licence class requires one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelApproval {
    /// Model name or glob, as in [`ModelEntry::pattern`].
    pub model: String,
    /// Tenant it applies to; every tenant when absent.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The licence approved; the approval lapses if the model resolves to another licence.
    #[serde(default)]
    pub licence: Option<String>,
    /// Who approved it.
    pub approved_by: String,
    /// Ticket, contract or decision reference.
    #[serde(default)]
    pub reference: Option<String>,
    /// Last day the approval holds (`YYYY-MM-DD`, UTC), if limited.
    #[serde(default)]
    pub until: Option<String>,
}

/// `licenses.models:` — the served-model licence registry and check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsLicenseConfig {
    /// Check the requested model's licence before forwarding. Default on.
    #[serde(default = "yes")]
    pub check: bool,
    /// Operator entries, searched first, in order; the built-in table comes after them.
    #[serde(default)]
    pub entries: Vec<ModelEntry>,
    /// Use the built-in table of well-known models. Default on.
    #[serde(default = "yes")]
    pub builtin: bool,
    /// Trust a licence the upstream declares (Ollama `/api/show`, GGUF `general.license`, a
    /// model card) when no operator entry matches. Default on.
    #[serde(default = "yes")]
    pub upstream: bool,
    /// Class → rule. Unset classes: permissive/weak copyleft allow, strong/network copyleft
    /// annotate, non-commercial and source-available require approval, proprietary and unknown
    /// block.
    #[serde(default)]
    pub classes: BTreeMap<LicenseClass, ModelRule>,
    /// Licence id → rule; beats `classes`.
    #[serde(default)]
    pub overrides: BTreeMap<String, ModelRule>,
    /// Recorded approvals.
    #[serde(default)]
    pub approvals: Vec<ModelApproval>,
}

impl Default for ModelsLicenseConfig {
    fn default() -> Self {
        ModelsLicenseConfig {
            check: true,
            entries: Vec::new(),
            builtin: true,
            upstream: true,
            classes: BTreeMap::new(),
            overrides: BTreeMap::new(),
            approvals: Vec::new(),
        }
    }
}

/// `licenses:` — licence texts, notices and SPDX tags in text, and the served model's licence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseConfig {
    /// Detect licences in text. Default on.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Find `SPDX-License-Identifier:` tags. Default on.
    #[serde(default = "yes")]
    pub tags: bool,
    /// Find licence notices/headers and sentences of full licence texts. Default on.
    #[serde(default = "yes")]
    pub texts: bool,
    /// Find prose references ("released under the GPLv3"), at lower confidence. Default on.
    #[serde(default = "yes")]
    pub references: bool,
    /// Score of a prose reference, in `[0, 1]`. Default 0.6.
    #[serde(default = "default_reference_score")]
    pub reference_score: f32,
    /// Class → action for licences found in text. When a class is not listed here (nor for
    /// the tenant/route), the policy's `actions:` decide (`license.<ID>`, then `license`).
    #[serde(default)]
    pub classes: BTreeMap<LicenseClass, Action>,
    /// Licence id → action; beats `classes`.
    #[serde(default)]
    pub overrides: BTreeMap<String, Action>,
    /// Licence id (typically `LicenseRef-…`) → class, extending or correcting the built-in table.
    #[serde(default)]
    pub class_of: BTreeMap<String, LicenseClass>,
    /// Tenant name → settings that beat the route's and the global ones.
    #[serde(default)]
    pub tenants: BTreeMap<String, LicenseScopeConfig>,
    /// Route (`/v1/chat/completions`) → settings that beat the global ones.
    #[serde(default)]
    pub routes: BTreeMap<String, LicenseScopeConfig>,
    /// Served-model licences.
    #[serde(default)]
    pub models: ModelsLicenseConfig,
}

fn yes() -> bool {
    true
}

fn default_reference_score() -> f32 {
    0.6
}

impl Default for LicenseConfig {
    fn default() -> Self {
        LicenseConfig {
            enabled: true,
            tags: true,
            texts: true,
            references: true,
            reference_score: default_reference_score(),
            classes: BTreeMap::new(),
            overrides: BTreeMap::new(),
            class_of: BTreeMap::new(),
            tenants: BTreeMap::new(),
            routes: BTreeMap::new(),
            models: ModelsLicenseConfig::default(),
        }
    }
}

/// Checks that `id` can be a licence category kind (`license.<id>`).
fn check_licence_id(id: &str) -> Result<(), String> {
    Category::new(format!("license.{id}"))
        .map(|_| ())
        .map_err(|_| format!("`{id}` is not a licence id: use an SPDX id or `LicenseRef-<name>` (ASCII letters, digits, `.`, `-`, `+`)"))
}

/// Checks that `expr` is plausibly an SPDX expression (ids, `AND`/`OR`/`WITH`, parentheses);
/// `glassbox-license` parses it properly when it builds the registry.
fn check_licence_expr(expr: &str) -> Result<(), String> {
    let ok = !expr.trim().is_empty()
        && expr
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" .-+():".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("`{expr}` is not an SPDX licence expression"))
    }
}

fn check_pattern(p: &str) -> Result<(), String> {
    if p.trim().is_empty() {
        Err("model pattern must not be empty".into())
    } else {
        Ok(())
    }
}

fn check_date(d: &str) -> Result<(), String> {
    let b = d.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    let month = d.get(5..7).and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
    let day = d
        .get(8..10)
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    if shape && (1..=12).contains(&month) && (1..=31).contains(&day) {
        Ok(())
    } else {
        Err(format!("`{d}` is not a date: write YYYY-MM-DD"))
    }
}

impl LicenseScopeConfig {
    fn validate(&self) -> Result<(), (String, String)> {
        for id in self.overrides.keys() {
            check_licence_id(id).map_err(|r| (format!("overrides.{id}"), r))?;
        }
        Ok(())
    }
}

impl LicenseConfig {
    /// Checks the section; the error is `(dotted key under licenses, reason)`.
    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        if !(0.0..=1.0).contains(&self.reference_score) || self.reference_score.is_nan() {
            return Err((
                "reference_score".into(),
                format!("score {} is outside [0, 1]", self.reference_score),
            ));
        }
        for id in self.overrides.keys() {
            check_licence_id(id).map_err(|r| (format!("overrides.{id}"), r))?;
        }
        for id in self.class_of.keys() {
            check_licence_id(id).map_err(|r| (format!("class_of.{id}"), r))?;
        }
        for (name, t) in &self.tenants {
            t.validate()
                .map_err(|(k, r)| (format!("tenants.{name}.{k}"), r))?;
        }
        for (name, t) in &self.routes {
            t.validate()
                .map_err(|(k, r)| (format!("routes.{name}.{k}"), r))?;
        }
        let m = &self.models;
        for (i, e) in m.entries.iter().enumerate() {
            check_pattern(&e.pattern).map_err(|r| (format!("models.entries[{i}].match"), r))?;
            check_licence_expr(&e.licence)
                .map_err(|r| (format!("models.entries[{i}].licence"), r))?;
        }
        for id in m.overrides.keys() {
            check_licence_id(id).map_err(|r| (format!("models.overrides.{id}"), r))?;
        }
        for (i, a) in m.approvals.iter().enumerate() {
            let key = |f: &str| format!("models.approvals[{i}].{f}");
            check_pattern(&a.model).map_err(|r| (key("model"), r))?;
            if a.approved_by.trim().is_empty() {
                return Err((key("approved_by"), "must name who approved".into()));
            }
            if let Some(l) = &a.licence {
                check_licence_expr(l).map_err(|r| (key("licence"), r))?;
            }
            if let Some(d) = &a.until {
                check_date(d).map_err(|r| (key("until"), r))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Policy;

    #[test]
    fn full_section_parses() {
        let p = Policy::from_yaml(
            r#"
id: t
licenses:
  classes: {permissive: allow, strong_copyleft: block}
  overrides: {LGPL-2.1-only: annotate}
  class_of: {LicenseRef-Acme: proprietary}
  tenants:
    research: {classes: {non_commercial: allow}, model_classes: {non_commercial: allow}}
  models:
    entries:
      - {match: "acme-*", licence: LicenseRef-Acme, source: "contract 12"}
    approvals:
      - {model: "llama3*", tenant: research, approved_by: legal, until: 2027-01-31}
"#,
            "p.yaml",
        )
        .unwrap();
        assert_eq!(p.licenses.models.entries.len(), 1);
        assert_eq!(p.licenses.tenants.len(), 1);
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("licenses:\n  overrides: {\"GPL 2\": block}\n", "overrides.GPL 2", "not a licence id"),
            ("licenses:\n  reference_score: 2\n", "reference_score", "outside [0, 1]"),
            (
                "licenses:\n  models:\n    approvals:\n      - {model: x, approved_by: a, until: 2027-13-01}\n",
                "models.approvals[0].until",
                "YYYY-MM-DD",
            ),
            (
                "licenses:\n  models:\n    approvals:\n      - {model: x, approved_by: ' '}\n",
                "models.approvals[0].approved_by",
                "who approved",
            ),
            (
                "licenses:\n  models:\n    entries:\n      - {match: '', licence: MIT}\n",
                "models.entries[0].match",
                "empty",
            ),
            (
                "licenses:\n  tenants:\n    a: {overrides: {'x y': allow}}\n",
                "tenants.a.overrides.x y",
                "not a licence id",
            ),
        ];
        for (yaml, field, reason) in cases {
            let e = Policy::from_yaml(&format!("id: t\n{yaml}"), "p.yaml").unwrap_err();
            assert_eq!(
                e.field.as_deref(),
                Some(format!("licenses.{field}").as_str()),
                "{e}"
            );
            assert!(e.reason.contains(reason), "{e}");
        }
        let e = Policy::from_yaml("id: t\nlicenses:\n  classes: {copyleft: block}\n", "p.yaml")
            .unwrap_err();
        assert!(e.reason.contains("unknown variant `copyleft`"), "{e}");
        let e = Policy::from_yaml("id: t\nlicenses:\n  model: {}\n", "p.yaml").unwrap_err();
        assert!(e.reason.contains("unknown field `model`"), "{e}");
    }
}
