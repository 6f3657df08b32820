//! Licence classes: derived from SPDX metadata (copyleft, OSI, FSF flags) plus documented
//! tables for what the metadata does not say (weak vs strong vs network copyleft,
//! non-commercial, source-available) and for `LicenseRef-*` ids; then class → action policy
//! per tenant and route, and SPDX expressions evaluated against it (`OR` takes the weakest
//! alternative, `AND` the strongest requirement).
//!
//! The tables are documented in `LICENSES.md`.

use glassbox_core::policy::{LicenseClass, LicenseConfig, LicenseScopeConfig};
use glassbox_core::{Action, Scope};

use LicenseClass::*;

/// Copyleft licences whose obligations stop at the file or library (`id` prefixes).
const WEAK_COPYLEFT: &[&str] = &[
    "LGPL-", "LGPLLR", "MPL-", "EPL-", "CDDL-", "CPL-", "Ms-RL", "APSL-2.0", "ErlPL-", "IPL-",
    "CECILL-C", "SPL-", "NPL-", "LPL-", "ODbL-", "OSET-PL-", "Motosoto", "SISSL", "gSOAP-",
];

/// Copyleft licences triggered by network use (`id` prefixes).
const NETWORK_COPYLEFT: &[&str] = &["AGPL-", "OSL-", "RPL-", "CPAL-", "EUPL-"];

/// Source-available / restricted-use licences on the SPDX list.
const SOURCE_AVAILABLE: &[&str] = &[
    "SSPL-1.0",
    "BUSL-1.1",
    "Elastic-2.0",
    "PolyForm-Small-Business-1.0.0",
    "Commons-Clause",
    "Sun-PPP",
    "Hippocratic-2.1",
];

/// Strong copyleft licences whose SPDX metadata lacks the copyleft flag.
const STRONG_COPYLEFT: &[&str] = &["CC-BY-SA-", "GPL-", "Sleepycat", "QPL-", "CECILL-2"];

/// The built-in table for `LicenseRef-*` ids (see `LICENSES.md`).
pub const LICENSE_REFS: &[(&str, LicenseClass)] = &[
    ("LicenseRef-Llama-2-Community", SourceAvailable),
    ("LicenseRef-Llama-3-Community", SourceAvailable),
    ("LicenseRef-Llama-3.1-Community", SourceAvailable),
    ("LicenseRef-Llama-3.2-Community", SourceAvailable),
    ("LicenseRef-Llama-3.3-Community", SourceAvailable),
    ("LicenseRef-Databricks-Open-Model", SourceAvailable),
    ("LicenseRef-Qwen", SourceAvailable),
    ("LicenseRef-Qwen-Research", NonCommercial),
    ("LicenseRef-Mistral-Research", NonCommercial),
    ("LicenseRef-Mistral-Non-Production", NonCommercial),
    ("LicenseRef-Gemma", SourceAvailable),
    ("LicenseRef-OpenRAIL", SourceAvailable),
    ("LicenseRef-Proprietary-API", Proprietary),
    ("LicenseRef-Proprietary", Proprietary),
];

/// The class of a licence id (`MIT`, `GPL-2.0-or-later`, `LicenseRef-Llama-3-Community`), with
/// the operator's `class_of` table consulted first.
pub fn class_of(id: &str, cfg: &LicenseConfig) -> LicenseClass {
    if let Some(c) = cfg.class_of.get(id) {
        return *c;
    }
    builtin_class(id)
}

/// The class from the built-in tables and SPDX metadata alone.
pub fn builtin_class(id: &str) -> LicenseClass {
    if id == "invalid_expression" {
        return Unknown;
    }
    if let Some((_, c)) = LICENSE_REFS
        .iter()
        .find(|(r, _)| r.eq_ignore_ascii_case(id))
    {
        return *c;
    }
    if id.starts_with("LicenseRef-") || id.starts_with("DocumentRef-") {
        return Unknown;
    }
    let base = id.trim_end_matches('+');
    let Some(lid) = spdx::license_id(base) else {
        return Unknown;
    };
    let name = lid.name;
    let full = lid.full_name.to_ascii_lowercase();
    let has = |list: &[&str]| list.iter().any(|p| name.starts_with(p));
    if name.contains("-NC") || full.contains("noncommercial") || full.contains("non-commercial") {
        return NonCommercial;
    }
    if SOURCE_AVAILABLE.contains(&name) {
        return SourceAvailable;
    }
    if has(NETWORK_COPYLEFT) {
        return NetworkCopyleft;
    }
    if has(WEAK_COPYLEFT) {
        return WeakCopyleft;
    }
    if lid.is_copyleft() || has(STRONG_COPYLEFT) {
        return StrongCopyleft;
    }
    if lid.is_osi_approved() || lid.is_fsf_free_libre() || name.starts_with("CC-BY-") {
        return Permissive;
    }
    Unknown
}

/// The obligation to record when a licence's finding is annotated.
pub fn obligations(id: &str, class: LicenseClass) -> &'static str {
    if id.starts_with("Apache-") {
        return "keep the copyright notice, the licence text and any NOTICE file; state changes made";
    }
    if id.starts_with("CC-BY-") && class == Permissive {
        return "credit the author, link the licence, indicate changes";
    }
    match class {
        Permissive => "keep the copyright notice and the licence text with copies",
        WeakCopyleft => "keep notices; modified files or the library stay under the licence, with source",
        StrongCopyleft => "distributed derivative works must be under the same licence, with source",
        NetworkCopyleft => "derivative works, also when offered over a network, must be under the same licence, with source",
        NonCommercial => "no commercial use",
        SourceAvailable => "use is restricted by the licence (field of use, competing services, user thresholds, acceptable-use policy)",
        Proprietary => "proprietary terms: use only under the provider's agreement",
        Unknown => "licence not recognised: review before use",
    }
}

/// Rank for `OR` choices: least restrictive first (the order of [`LicenseClass::ALL`]).
pub fn restrictiveness(class: LicenseClass) -> usize {
    LicenseClass::ALL
        .iter()
        .position(|c| *c == class)
        .unwrap_or(LicenseClass::ALL.len())
}

fn scope_action(s: &LicenseScopeConfig, id: &str, class: LicenseClass) -> Option<Action> {
    s.overrides
        .get(id)
        .or_else(|| s.classes.get(&class))
        .copied()
}

/// The action `cfg` gives licence `id` in `scope`: the tenant's settings, then the route's,
/// then the global ones; at each level an override by id beats the class. `None` when nothing
/// is configured for it (the policy's `actions:` decide).
pub fn action_for_id(cfg: &LicenseConfig, id: &str, scope: Scope<'_>) -> Option<Action> {
    let class = class_of(id, cfg);
    let tenant = scope.tenant.and_then(|t| cfg.tenants.get(t));
    let route = scope.route.and_then(|r| cfg.routes.get(r));
    tenant
        .and_then(|s| scope_action(s, id, class))
        .or_else(|| route.and_then(|s| scope_action(s, id, class)))
        .or_else(|| {
            cfg.overrides
                .get(id)
                .or_else(|| cfg.classes.get(&class))
                .copied()
        })
}

/// The licence id a requirement names, as used in categories (`GPL-2.0+` for `GPL-2.0+`,
/// `LicenseRef-x` for `LicenseRef-x`).
pub fn req_id(req: &spdx::LicenseReq) -> String {
    match &req.license {
        spdx::LicenseItem::Spdx { id, or_later } => {
            if *or_later {
                format!("{}+", id.name)
            } else {
                id.name.to_string()
            }
        }
        spdx::LicenseItem::Other(r) => format!("LicenseRef-{}", r.lic_ref),
    }
}

/// Evaluates an SPDX expression under `cfg` in `scope`: each licence gets its action
/// (`fallback` where nothing is configured), `AND` takes the strongest, `OR` the weakest.
pub fn evaluate(
    expr: &spdx::Expression,
    cfg: &LicenseConfig,
    scope: Scope<'_>,
    fallback: Action,
) -> Action {
    let mut stack: Vec<Action> = Vec::new();
    for node in expr.iter() {
        match node {
            spdx::expression::ExprNode::Req(r) => {
                stack.push(action_for_id(cfg, &req_id(&r.req), scope).unwrap_or(fallback));
            }
            spdx::expression::ExprNode::Op(op) => {
                let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                    return fallback;
                };
                stack.push(match op {
                    spdx::expression::Operator::And => a.max(b),
                    spdx::expression::Operator::Or => a.min(b),
                });
            }
        }
    }
    stack.pop().unwrap_or(fallback)
}

/// The licences an expression effectively puts text under: for `OR`, the alternative whose
/// strongest class is least restrictive (the left one on a tie); for `AND`, all of them.
pub fn effective_ids(expr: &spdx::Expression, cfg: &LicenseConfig) -> Vec<String> {
    let mut stack: Vec<(usize, Vec<String>)> = Vec::new();
    for node in expr.iter() {
        match node {
            spdx::expression::ExprNode::Req(r) => {
                let id = req_id(&r.req);
                stack.push((restrictiveness(class_of(&id, cfg)), vec![id]));
            }
            spdx::expression::ExprNode::Op(op) => {
                let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                    break;
                };
                stack.push(match op {
                    spdx::expression::Operator::And => {
                        let mut ids = a.1;
                        ids.extend(b.1);
                        ids.dedup();
                        (a.0.max(b.0), ids)
                    }
                    spdx::expression::Operator::Or => {
                        if b.0 < a.0 {
                            b
                        } else {
                            a
                        }
                    }
                });
            }
        }
    }
    stack.pop().map(|(_, ids)| ids).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_from_metadata_and_tables() {
        let cases: &[(&str, LicenseClass)] = &[
            ("MIT", Permissive),
            ("Apache-2.0", Permissive),
            ("BSD-3-Clause", Permissive),
            ("0BSD", Permissive),
            ("Unlicense", Permissive),
            ("CC0-1.0", Permissive),
            ("CC-BY-4.0", Permissive),
            ("LGPL-2.1-only", WeakCopyleft),
            ("LGPL-3.0-or-later", WeakCopyleft),
            ("MPL-2.0", WeakCopyleft),
            ("EPL-2.0", WeakCopyleft),
            ("CDDL-1.0", WeakCopyleft),
            ("GPL-2.0-only", StrongCopyleft),
            ("GPL-3.0-or-later", StrongCopyleft),
            ("GPL-2.0+", StrongCopyleft),
            ("CC-BY-SA-4.0", StrongCopyleft),
            ("AGPL-3.0-only", NetworkCopyleft),
            ("OSL-3.0", NetworkCopyleft),
            ("CC-BY-NC-4.0", NonCommercial),
            ("CC-BY-NC-SA-4.0", NonCommercial),
            ("PolyForm-Noncommercial-1.0.0", NonCommercial),
            ("SSPL-1.0", SourceAvailable),
            ("BUSL-1.1", SourceAvailable),
            ("Elastic-2.0", SourceAvailable),
            ("LicenseRef-Llama-3-Community", SourceAvailable),
            ("LicenseRef-Mistral-Research", NonCommercial),
            ("LicenseRef-Proprietary-API", Proprietary),
            ("LicenseRef-Whatever", Unknown),
            ("invalid_expression", Unknown),
            ("Not-A-Licence", Unknown),
        ];
        for (id, want) in cases {
            assert_eq!(builtin_class(id), *want, "{id}");
        }
    }

    #[test]
    fn operator_table_beats_builtin() {
        let mut cfg = LicenseConfig::default();
        cfg.class_of.insert("LicenseRef-Acme".into(), Proprietary);
        cfg.class_of.insert("MIT".into(), Unknown);
        assert_eq!(class_of("LicenseRef-Acme", &cfg), Proprietary);
        assert_eq!(class_of("MIT", &cfg), Unknown);
    }
}
