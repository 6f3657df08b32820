//! The served-model licence registry and the check the proxy / tower layer runs before
//! forwarding a request.
//!
//! A model name resolves to a licence from, in order: the operator's `licenses.models.entries`;
//! what the upstream declares (Ollama `/api/show` `license`, GGUF `general.license`, a model
//! card's `license:` front matter — see [`upstream`]); the built-in table [`BUILTIN_MODELS`].
//! The licence's class then gives a [`ModelRule`]: the tenant's `model_classes`, else
//! `models.overrides` by licence, else `models.classes`, else the default (permissive: allow;
//! everything else: annotate — the `licence-compliance` policy is where blocking and
//! approvals are switched on). `require_approval` passes only with a recorded, unexpired
//! approval for the model, tenant and licence.
//!
//! Every check returns a [`ModelCheck`] that converts to an audit [`DecisionEvent`].

use glassbox_core::audit::{Coverage, DecisionEvent, Direction, FindingRecord, Outcome};
use glassbox_core::policy::{LicenseClass, LicenseConfig, ModelApproval, ModelRule};
use glassbox_core::{Action, Category, Family};
use serde::Serialize;

use crate::class;

pub mod upstream;

pub use upstream::UpstreamLicence;

/// A model licence that is not on the SPDX list, with what it restricts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLicenceTerms {
    /// `LicenseRef-…` id.
    pub id: &'static str,
    /// Its name.
    pub name: &'static str,
    /// Where the terms are published.
    pub source: &'static str,
    /// The use restrictions that matter for a deployment.
    pub restrictions: &'static [&'static str],
}

/// The model licences glassbox knows (their classes are in [`crate::class::LICENSE_REFS`]).
pub const MODEL_LICENCES: &[ModelLicenceTerms] = &[
    ModelLicenceTerms {
        id: "LicenseRef-Llama-2-Community",
        name: "Llama 2 Community License Agreement (2023-07-18)",
        source: "https://ai.meta.com/llama/license/",
        restrictions: &[
            "a licensee whose products had over 700 million monthly active users on the release date needs a separate licence from Meta",
            "use must follow the Llama 2 Acceptable Use Policy",
            "outputs must not be used to improve any other large language model (Llama 2 derivatives excepted)",
            "redistribution must carry the licence and the notice \"Llama 2 is licensed under the LLAMA 2 Community License\"",
        ],
    },
    ModelLicenceTerms {
        id: "LicenseRef-Llama-3-Community",
        name: "Meta Llama 3 Community License Agreement (2024-04-18)",
        source: "https://llama.meta.com/llama3/license/",
        restrictions: &[
            "over 700 million monthly active users on the release date: a separate licence from Meta is required",
            "use must follow the Meta Llama 3 Acceptable Use Policy",
            "products built with it must display \"Built with Meta Llama 3\"; derived model names must begin with \"Llama 3\"",
            "outputs must not be used to improve any other large language model (Llama 3 derivatives excepted)",
        ],
    },
    ModelLicenceTerms {
        id: "LicenseRef-Llama-3.1-Community",
        name: "Llama 3.1 Community License Agreement (2024-07-23)",
        source: "https://llama.meta.com/llama3_1/license/",
        restrictions: &[
            "over 700 million monthly active users on the release date: a separate licence from Meta is required",
            "use must follow the Llama 3.1 Acceptable Use Policy",
            "products built with it must display \"Built with Llama\"; derived model names must begin with \"Llama\"",
        ],
    },
    ModelLicenceTerms {
        id: "LicenseRef-Llama-3.2-Community",
        name: "Llama 3.2 Community License Agreement (2024-09-25)",
        source: "https://www.llama.com/llama3_2/license/",
        restrictions: &[
            "over 700 million monthly active users on the release date: a separate licence from Meta is required",
            "use must follow the Llama 3.2 Acceptable Use Policy",
            "the rights for the multimodal (vision) models are not granted to individuals or companies domiciled in the EU",
            "products built with it must display \"Built with Llama\"",
        ],
    },
    ModelLicenceTerms {
        id: "LicenseRef-Llama-3.3-Community",
        name: "Llama 3.3 Community License Agreement (2024-12-06)",
        source: "https://www.llama.com/llama3_3/license/",
        restrictions: &[
            "over 700 million monthly active users on the release date: a separate licence from Meta is required",
            "use must follow the Llama 3.3 Acceptable Use Policy",
            "products built with it must display \"Built with Llama\"",
        ],
    },
    ModelLicenceTerms {
        id: "LicenseRef-Databricks-Open-Model",
        name: "Databricks Open Model License",
        source: "https://www.databricks.com/legal/open-model-license",
        restrictions: &[
            "over 700 million monthly active users: a separate licence from Databricks is required",
            "use must follow the Databricks Open Model Acceptable Use Policy",
            "DBRX and its outputs must not be used to improve any other large language model (DBRX derivatives excepted)",
            "redistribution must carry the notice \"DBRX is provided under and subject to the Databricks Open Model License\"",
        ],
    },
    ModelLicenceTerms {
        id: "LicenseRef-Mistral-Research",
        name: "Mistral AI Research License (MRL-0.1)",
        source: "https://mistral.ai/licenses/MRL-0.1.md",
        restrictions: &[
            "research and personal, non-commercial use only; commercial use needs a licence from Mistral AI",
        ],
    },
    ModelLicenceTerms {
        id: "LicenseRef-Mistral-Non-Production",
        name: "Mistral AI Non-Production License (MNPL-0.1)",
        source: "https://mistral.ai/licenses/MNPL-0.1.md",
        restrictions: &["non-production use only (research, testing, evaluation); no commercial or production use"],
    },
    ModelLicenceTerms {
        id: "LicenseRef-Qwen",
        name: "Qwen License Agreement",
        source: "https://huggingface.co/Qwen/Qwen2.5-72B-Instruct/blob/main/LICENSE",
        restrictions: &[
            "over 100 million monthly active users: a licence from Alibaba Cloud must be requested",
            "products built with it must display \"Built with Qwen\" or \"Improved using Qwen\"",
        ],
    },
    ModelLicenceTerms {
        id: "LicenseRef-Qwen-Research",
        name: "Qwen Research License Agreement",
        source: "https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main/LICENSE",
        restrictions: &["non-commercial research use only; commercial use needs a licence from Alibaba Cloud"],
    },
    ModelLicenceTerms {
        id: "LicenseRef-Gemma",
        name: "Gemma Terms of Use",
        source: "https://ai.google.dev/gemma/terms",
        restrictions: &[
            "use must follow the Gemma Prohibited Use Policy, and the restrictions flow down to derivatives",
            "Google may restrict (remotely or otherwise) usage it reasonably believes violates the terms",
        ],
    },
    ModelLicenceTerms {
        id: "LicenseRef-OpenRAIL",
        name: "Open RAIL licences (BigScience / CreativeML OpenRAIL-M)",
        source: "https://www.licenses.ai/",
        restrictions: &["use-based restrictions listed in the licence's attachment flow down to derivatives and outputs"],
    },
    ModelLicenceTerms {
        id: "LicenseRef-Proprietary-API",
        name: "Proprietary model API terms of service",
        source: "the provider's terms of service",
        restrictions: &["use only under the provider's agreement; outputs typically may not be used to develop competing models"],
    },
];

/// One built-in registry row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinModel {
    /// Glob over the model name (see [`glob_match`]).
    pub pattern: &'static str,
    /// Licence (SPDX id or `LicenseRef-…`).
    pub licence: &'static str,
}

/// Well-known served models, most specific first. Sources are in `LICENSES.md`.
pub const BUILTIN_MODELS: &[BuiltinModel] = &[
    BuiltinModel {
        pattern: "*codellama*",
        licence: "LicenseRef-Llama-2-Community",
    },
    BuiltinModel {
        pattern: "*code-llama*",
        licence: "LicenseRef-Llama-2-Community",
    },
    BuiltinModel {
        pattern: "*llama-2*",
        licence: "LicenseRef-Llama-2-Community",
    },
    BuiltinModel {
        pattern: "*llama2*",
        licence: "LicenseRef-Llama-2-Community",
    },
    BuiltinModel {
        pattern: "*llama-3.1*",
        licence: "LicenseRef-Llama-3.1-Community",
    },
    BuiltinModel {
        pattern: "*llama3.1*",
        licence: "LicenseRef-Llama-3.1-Community",
    },
    BuiltinModel {
        pattern: "*llama-3.2*",
        licence: "LicenseRef-Llama-3.2-Community",
    },
    BuiltinModel {
        pattern: "*llama3.2*",
        licence: "LicenseRef-Llama-3.2-Community",
    },
    BuiltinModel {
        pattern: "*llama-3.3*",
        licence: "LicenseRef-Llama-3.3-Community",
    },
    BuiltinModel {
        pattern: "*llama3.3*",
        licence: "LicenseRef-Llama-3.3-Community",
    },
    BuiltinModel {
        pattern: "*llama-3*",
        licence: "LicenseRef-Llama-3-Community",
    },
    BuiltinModel {
        pattern: "*llama3*",
        licence: "LicenseRef-Llama-3-Community",
    },
    BuiltinModel {
        pattern: "*dbrx*",
        licence: "LicenseRef-Databricks-Open-Model",
    },
    BuiltinModel {
        pattern: "*mistral-large*",
        licence: "LicenseRef-Mistral-Research",
    },
    BuiltinModel {
        pattern: "*ministral*",
        licence: "LicenseRef-Mistral-Research",
    },
    BuiltinModel {
        pattern: "*pixtral-large*",
        licence: "LicenseRef-Mistral-Research",
    },
    BuiltinModel {
        pattern: "*codestral*",
        licence: "LicenseRef-Mistral-Non-Production",
    },
    BuiltinModel {
        pattern: "*mistral*",
        licence: "Apache-2.0",
    },
    BuiltinModel {
        pattern: "*mixtral*",
        licence: "Apache-2.0",
    },
    BuiltinModel {
        pattern: "*qwen2.5?72b*",
        licence: "LicenseRef-Qwen",
    },
    BuiltinModel {
        pattern: "*qwen2.5?3b*",
        licence: "LicenseRef-Qwen-Research",
    },
    BuiltinModel {
        pattern: "*qwen2.5*",
        licence: "Apache-2.0",
    },
    BuiltinModel {
        pattern: "*gemma*",
        licence: "LicenseRef-Gemma",
    },
    BuiltinModel {
        pattern: "*olmo*",
        licence: "Apache-2.0",
    },
    BuiltinModel {
        pattern: "*phi-3*",
        licence: "MIT",
    },
    BuiltinModel {
        pattern: "*phi3*",
        licence: "MIT",
    },
    BuiltinModel {
        pattern: "gpt-*",
        licence: "LicenseRef-Proprietary-API",
    },
    BuiltinModel {
        pattern: "chatgpt*",
        licence: "LicenseRef-Proprietary-API",
    },
    BuiltinModel {
        pattern: "o1*",
        licence: "LicenseRef-Proprietary-API",
    },
    BuiltinModel {
        pattern: "o3*",
        licence: "LicenseRef-Proprietary-API",
    },
    BuiltinModel {
        pattern: "o4-*",
        licence: "LicenseRef-Proprietary-API",
    },
    BuiltinModel {
        pattern: "claude-*",
        licence: "LicenseRef-Proprietary-API",
    },
    BuiltinModel {
        pattern: "gemini-*",
        licence: "LicenseRef-Proprietary-API",
    },
];

/// Case-insensitive glob: `*` matches any run (also empty), `?` one character.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether `pattern` matches the model name or its last `/`-separated part.
fn model_matches(pattern: &str, model: &str) -> bool {
    glob_match(pattern, model)
        || model
            .rsplit('/')
            .next()
            .is_some_and(|last| glob_match(pattern, last))
}

/// Where a model's licence came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `licenses.models.entries` in the policy.
    Config,
    /// Declared by the upstream / model files.
    Upstream,
    /// glassbox's built-in table.
    Builtin,
}

/// A resolved model licence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelLicence {
    /// Licence (SPDX expression or `LicenseRef-…`).
    pub licence: String,
    /// Its class under the configuration.
    pub class: LicenseClass,
    /// Where it came from.
    pub origin: Origin,
    /// The matching pattern, or what the upstream said it from.
    pub matched: String,
    /// Where the terms are published or the statement was found.
    pub source: Option<String>,
    /// Use restrictions recorded for the licence.
    pub restrictions: Vec<String>,
}

#[derive(Debug, Clone)]
struct Entry {
    pattern: String,
    licence: String,
    source: Option<String>,
    origin: Origin,
}

/// Model name → licence, from configuration and the built-in table.
#[derive(Debug, Clone)]
pub struct ModelRegistry {
    entries: Vec<Entry>,
    cfg: LicenseConfig,
}

/// The class of a licence expression: `OR` the least restrictive alternative, `AND` the most;
/// unparsable → unknown.
pub fn expression_class(expr: &str, cfg: &LicenseConfig) -> LicenseClass {
    let Ok(e) = crate::tag::parse_expression(expr) else {
        return LicenseClass::Unknown;
    };
    let mut stack: Vec<usize> = Vec::new();
    for node in e.iter() {
        match node {
            spdx::expression::ExprNode::Req(r) => {
                stack.push(class::restrictiveness(class::class_of(
                    &class::req_id(&r.req),
                    cfg,
                )));
            }
            spdx::expression::ExprNode::Op(op) => {
                let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                    break;
                };
                stack.push(match op {
                    spdx::expression::Operator::And => a.max(b),
                    spdx::expression::Operator::Or => a.min(b),
                });
            }
        }
    }
    stack
        .pop()
        .and_then(|r| LicenseClass::ALL.get(r).copied())
        .unwrap_or(LicenseClass::Unknown)
}

impl ModelRegistry {
    /// The registry for a policy's `licenses:` section.
    pub fn new(cfg: &LicenseConfig) -> Self {
        let mut entries: Vec<Entry> = cfg
            .models
            .entries
            .iter()
            .map(|e| Entry {
                pattern: e.pattern.clone(),
                licence: e.licence.clone(),
                source: e.source.clone(),
                origin: Origin::Config,
            })
            .collect();
        if cfg.models.builtin {
            entries.extend(BUILTIN_MODELS.iter().map(|b| Entry {
                pattern: b.pattern.to_string(),
                licence: b.licence.to_string(),
                source: terms(b.licence).map(|t| t.source.to_string()),
                origin: Origin::Builtin,
            }));
        }
        ModelRegistry {
            entries,
            cfg: cfg.clone(),
        }
    }

    fn licence(
        &self,
        licence: &str,
        origin: Origin,
        matched: String,
        source: Option<String>,
    ) -> ModelLicence {
        let restrictions = licence
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .filter_map(terms)
            .flat_map(|t| t.restrictions.iter().map(|r| (*r).to_string()))
            .collect();
        ModelLicence {
            licence: licence.to_string(),
            class: expression_class(licence, &self.cfg),
            origin,
            matched,
            source,
            restrictions,
        }
    }

    /// The licence of `model` from configuration or the built-in table.
    pub fn resolve(&self, model: &str) -> Option<ModelLicence> {
        self.resolve_with(model, None)
    }

    /// Like [`ModelRegistry::resolve`], with what the upstream declared for the model
    /// (consulted after the operator's entries and before the built-in table, when
    /// `licenses.models.upstream` is on).
    pub fn resolve_with(
        &self,
        model: &str,
        upstream: Option<&UpstreamLicence>,
    ) -> Option<ModelLicence> {
        let found = |origin: Origin| {
            self.entries
                .iter()
                .filter(|e| e.origin == origin)
                .find(|e| model_matches(&e.pattern, model))
                .map(|e| self.licence(&e.licence, origin, e.pattern.clone(), e.source.clone()))
        };
        found(Origin::Config)
            .or_else(|| {
                upstream.filter(|_| self.cfg.models.upstream).map(|u| {
                    let source = terms(&u.licence).map(|t| t.source.to_string());
                    self.licence(&u.licence, Origin::Upstream, u.source.clone(), source)
                })
            })
            .or_else(|| found(Origin::Builtin))
    }
}

/// The recorded terms of a `LicenseRef-…` model licence.
pub fn terms(id: &str) -> Option<&'static ModelLicenceTerms> {
    MODEL_LICENCES
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(id))
}

/// The outcome of a model licence check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelCheck {
    /// The model asked for.
    pub model: String,
    /// Forward (`allow`, `annotate`) or refuse (`block`).
    pub verdict: Action,
    /// The rule the policy gave the licence.
    pub rule: ModelRule,
    /// The resolved licence, if any.
    pub licence: Option<ModelLicence>,
    /// Why, for the operator and the client's error message.
    pub reason: String,
    /// The approval that let it through, if one did.
    pub approval: Option<ModelApproval>,
}

impl ModelCheck {
    /// The outcome as a category: `model_license.allowed`, `.annotated`, `.approved`,
    /// `.approval_missing`, `.blocked` or `.unknown` (no licence known and not allowed).
    pub fn category(&self) -> Category {
        let kind = match (self.verdict, self.rule, &self.approval, &self.licence) {
            (Action::Block, _, _, None) => "unknown",
            (Action::Block, ModelRule::RequireApproval, _, _) => "approval_missing",
            (Action::Block, _, _, _) => "blocked",
            (_, _, Some(_), _) => "approved",
            (Action::Allow, _, _, _) => "allowed",
            _ => "annotated",
        };
        Category::of(Family::ModelLicense, kind)
    }

    /// The audit record of this check.
    pub fn audit_event(
        &self,
        request_id: &str,
        route: &str,
        tenant: Option<&str>,
        policy_id: &str,
        policy_sha256: &str,
    ) -> DecisionEvent {
        DecisionEvent {
            request_id: request_id.to_string(),
            route: route.to_string(),
            direction: Direction::ModelCheck,
            tenant: tenant.map(str::to_string),
            model: Some(self.model.clone()),
            model_licence: self.licence.as_ref().map(|l| l.licence.clone()),
            policy_id: policy_id.to_string(),
            policy_sha256: policy_sha256.to_string(),
            detectors: Vec::new(),
            findings: vec![FindingRecord {
                category: self.category().to_string(),
                action: self.verdict,
                detector: "license".into(),
                start: 0,
                len: 0,
                score: 1.0,
            }],
            verdict: self.verdict,
            content_digests: Vec::new(),
            coverage: Coverage::default(),
            fail_open: Vec::new(),
            outcome: if self.verdict == Action::Block {
                Outcome::Blocked
            } else {
                Outcome::Completed
            },
            raw_content: Vec::new(),
        }
    }
}

/// The default rule for a class when the policy sets none.
pub fn default_rule(class: LicenseClass) -> ModelRule {
    match class {
        LicenseClass::Permissive => ModelRule::Allow,
        _ => ModelRule::Annotate,
    }
}

/// The rule `cfg` gives a model licence for `tenant`.
pub fn rule_for(
    cfg: &LicenseConfig,
    licence: Option<&str>,
    class: LicenseClass,
    tenant: Option<&str>,
) -> ModelRule {
    let m = &cfg.models;
    tenant
        .and_then(|t| cfg.tenants.get(t))
        .and_then(|s| s.model_classes.get(&class).copied())
        .or_else(|| licence.and_then(|l| m.overrides.get(l).copied()))
        .or_else(|| m.classes.get(&class).copied())
        .unwrap_or_else(|| default_rule(class))
}

/// Checks `model` against the policy for `tenant`, today (UTC).
pub fn check_model(
    registry: &ModelRegistry,
    model: &str,
    cfg: &LicenseConfig,
    tenant: Option<&str>,
) -> ModelCheck {
    check_resolved(model, registry.resolve(model), cfg, tenant, &today_utc())
}

/// Checks a model whose licence is already resolved (e.g. with [`ModelRegistry::resolve_with`])
/// on a given day (`YYYY-MM-DD`, for approvals' `until`).
pub fn check_resolved(
    model: &str,
    licence: Option<ModelLicence>,
    cfg: &LicenseConfig,
    tenant: Option<&str>,
    today: &str,
) -> ModelCheck {
    let class = licence.as_ref().map_or(LicenseClass::Unknown, |l| l.class);
    let id = licence.as_ref().map(|l| l.licence.as_str());
    let mut check = ModelCheck {
        model: model.to_string(),
        verdict: Action::Allow,
        rule: ModelRule::Allow,
        licence: licence.clone(),
        reason: String::new(),
        approval: None,
    };
    if !cfg.models.check {
        check.reason = "the model licence check is off (licenses.models.check: false)".into();
        return check;
    }
    let rule = rule_for(cfg, id, class, tenant);
    check.rule = rule;
    let what = match &licence {
        Some(l) => format!("model `{model}` is under {} ({class})", l.licence),
        None => format!(
            "no licence is known for model `{model}` (add it under licenses.models.entries)"
        ),
    };
    let restrictions = licence
        .as_ref()
        .filter(|l| !l.restrictions.is_empty())
        .map(|l| format!("; restrictions: {}", l.restrictions.join("; ")))
        .unwrap_or_default();
    match rule {
        ModelRule::Allow => {
            check.verdict = Action::Allow;
            check.reason = format!("{what}: allowed");
        }
        ModelRule::Annotate => {
            check.verdict = Action::Annotate;
            check.reason = format!("{what}: allowed with obligations{restrictions}");
        }
        ModelRule::Block => {
            check.verdict = Action::Block;
            check.reason = format!("{what}: the policy blocks {class} model licences");
        }
        ModelRule::RequireApproval => {
            let approval = cfg.models.approvals.iter().find(|a| {
                model_matches(&a.model, model)
                    && a.tenant.as_deref().is_none_or(|t| Some(t) == tenant)
                    && a.licence.as_deref().is_none_or(|l| Some(l) == id)
                    && a.until.as_deref().is_none_or(|u| u >= today)
            });
            match approval {
                Some(a) => {
                    check.verdict = Action::Annotate;
                    check.reason = format!(
                        "{what}: approved by {}{}{}",
                        a.approved_by,
                        a.reference
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default(),
                        a.until
                            .as_deref()
                            .map(|u| format!(" until {u}"))
                            .unwrap_or_default(),
                    );
                    check.approval = Some(a.clone());
                }
                None => {
                    check.verdict = Action::Block;
                    check.reason = format!(
                        "{what}: {class} model licences need an approval under licenses.models.approvals{}, and none covers this model{}",
                        tenant.map(|t| format!(" for tenant `{t}`")).unwrap_or_default(),
                        restrictions,
                    );
                }
            }
        }
    }
    check
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today_utc() -> String {
    civil_date(utc_day() as i64)
}

/// Today in UTC as days since 1970-01-01 (the day [`today_utc`] names; approvals expire by it).
pub fn utc_day() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400)
}

/// Days since 1970-01-01 → `YYYY-MM-DD` (H. Hinnant's civil-from-days).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            ("*llama3*", "meta-llama/Meta-Llama-3-8B-Instruct", false),
            ("*llama-3*", "meta-llama/Meta-Llama-3-8B-Instruct", true),
            ("*llama3*", "llama3:8b", true),
            ("*qwen2.5?72b*", "Qwen/Qwen2.5-72B-Instruct", true),
            ("*qwen2.5?72b*", "qwen2.5:72b", true),
            ("*qwen2.5?72b*", "Qwen2.5-7B", false),
            ("gpt-*", "gpt-4o", true),
            ("gpt-*", "my-gpt-4o", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
        ];
        for (p, n, want) in cases {
            assert_eq!(glob_match(p, n), want, "{p} vs {n}");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
        assert_eq!(civil_date(20_454), "2026-01-01");
    }

    #[test]
    fn every_builtin_licence_has_class_and_terms() {
        for b in BUILTIN_MODELS {
            let class = expression_class(b.licence, &LicenseConfig::default());
            assert_ne!(class, LicenseClass::Unknown, "{}", b.licence);
            if b.licence.starts_with("LicenseRef-") {
                assert!(terms(b.licence).is_some(), "{}", b.licence);
            }
        }
        for t in MODEL_LICENCES {
            assert_ne!(
                class::builtin_class(t.id),
                LicenseClass::Unknown,
                "{}",
                t.id
            );
            assert!(!t.restrictions.is_empty());
        }
    }
}
