//! Licence policy truth tables (in the style of the `spdx` crate's `tests/check.rs`): SPDX
//! expressions evaluated under `policies/licence-compliance.yaml` per tenant and route, and
//! the detector's `action_for` hook.

#![allow(clippy::unwrap_used, clippy::type_complexity)]

use glassbox_core::policy::LicenseConfig;
use glassbox_core::{Action, Category, Detector, Policy, Scope};
use glassbox_license::{class, detector, tag};

const COMPLIANCE: &str = include_str!("../../../policies/licence-compliance.yaml");

fn compliance() -> Policy {
    Policy::from_yaml(COMPLIANCE, "policies/licence-compliance.yaml").unwrap()
}

/// `(tenant, route, expression, action)` rows, one truth table per macro call.
macro_rules! truth_table {
    ($name:ident, $cfg:expr, [$(($tenant:expr, $route:expr, $expr:expr, $want:ident)),* $(,)?]) => {
        #[test]
        fn $name() {
            let cfg: LicenseConfig = $cfg;
            $(
                let expr = tag::parse_expression($expr).unwrap();
                let (tenant, route): (Option<&str>, Option<&str>) = ($tenant, $route);
                let scope = Scope { tenant, route };
                let got = class::evaluate(&expr, &cfg, scope, Action::Annotate);
                assert_eq!(got, Action::$want, "{} for tenant {:?} route {:?}", $expr, tenant, route);
            )*
        }
    };
}

truth_table!(
    compliance_global,
    compliance().licenses,
    [
        (None, None, "MIT", Annotate),
        (None, None, "Apache-2.0", Annotate),
        (None, None, "CC0-1.0", Allow),
        (None, None, "LGPL-2.1-only", Annotate),
        (None, None, "GPL-2.0-only", Block),
        (None, None, "GPL-3.0-or-later", Block),
        (None, None, "GPL-2.0+", Block),
        (None, None, "AGPL-3.0-only", Block),
        (None, None, "CC-BY-NC-4.0", Block),
        (None, None, "SSPL-1.0", Block),
        (None, None, "BUSL-1.1", Block),
        (None, None, "LicenseRef-Llama-3-Community", Block),
        (None, None, "LicenseRef-Acme-Internal", Block),
        (None, None, "LicenseRef-Never-Heard-Of", Annotate),
        (None, None, "MIT OR GPL-3.0-only", Annotate),
        (None, None, "GPL-3.0-only OR MIT", Annotate),
        (None, None, "MIT AND GPL-3.0-only", Block),
        (None, None, "CC0-1.0 OR MIT", Allow),
        (None, None, "CC0-1.0 AND MIT", Annotate),
        (
            None,
            None,
            "(MIT OR GPL-2.0-only) AND LGPL-2.1-only",
            Annotate
        ),
        (None, None, "(GPL-2.0-only OR AGPL-3.0-only) AND MIT", Block),
        (None, None, "Apache-2.0 WITH LLVM-exception", Annotate),
    ]
);

truth_table!(
    compliance_tenants_and_routes,
    compliance().licenses,
    [
        (Some("kernel-team"), None, "GPL-2.0-only", Annotate),
        (Some("kernel-team"), None, "AGPL-3.0-only", Block),
        (Some("kernel-team"), None, "CC-BY-NC-4.0", Block),
        (Some("research-lab"), None, "CC-BY-NC-4.0", Annotate),
        (Some("research-lab"), None, "GPL-2.0-only", Block),
        (Some("unknown-tenant"), None, "GPL-2.0-only", Block),
        (None, Some("/v1/completions"), "GPL-3.0-only", Annotate),
        (None, Some("/v1/completions"), "AGPL-3.0-only", Block),
        (None, Some("/v1/chat/completions"), "GPL-3.0-only", Block),
        // The tenant's settings beat the route's.
        (
            Some("research-lab"),
            Some("/v1/completions"),
            "CC-BY-NC-4.0 AND GPL-3.0-only",
            Annotate
        ),
    ]
);

truth_table!(
    overrides_beat_classes,
    {
        let mut cfg = LicenseConfig::default();
        cfg.classes.insert(
            glassbox_core::policy::LicenseClass::StrongCopyleft,
            Action::Block,
        );
        cfg.overrides.insert("GPL-2.0-only".into(), Action::Allow);
        cfg
    },
    [
        (None, None, "GPL-2.0-only", Allow),
        (None, None, "GPL-3.0-only", Block),
        (None, None, "GPL-2.0-only AND GPL-3.0-only", Block),
        (None, None, "GPL-2.0-only OR GPL-3.0-only", Allow),
        // Nothing configured for permissive: the fallback (the policy's `actions:`) decides.
        (None, None, "MIT", Annotate),
    ]
);

#[test]
fn compliance_policy_parses() {
    let p = compliance();
    assert_eq!(p.id, "licence-compliance");
    assert_eq!(p.licenses.models.entries.len(), 2);
    assert_eq!(p.licenses.models.approvals.len(), 3);
    assert!(p.licenses.tenants.contains_key("research-lab"));
}

#[test]
fn detector_action_hook_follows_scope() {
    let p = compliance();
    let d = detector(&p.licenses).unwrap();
    let gpl = Category::new("license.GPL-3.0-only").unwrap();
    let mit = Category::new("license.MIT").unwrap();
    let bad = Category::new("license.invalid_expression").unwrap();
    let cases = [
        (&gpl, Scope::default(), Some(Action::Block)),
        (
            &gpl,
            Scope {
                tenant: Some("kernel-team"),
                route: None,
            },
            Some(Action::Annotate),
        ),
        (
            &gpl,
            Scope {
                tenant: None,
                route: Some("/v1/completions"),
            },
            Some(Action::Annotate),
        ),
        (&mit, Scope::default(), Some(Action::Annotate)),
        (&bad, Scope::default(), Some(Action::Annotate)),
    ];
    for (cat, scope, want) in cases {
        assert_eq!(d.action_for(cat, scope), want, "{cat} {scope:?}");
    }
    // Other families are left to the policy.
    let secret = Category::new("secret.github_token").unwrap();
    assert_eq!(d.action_for(&secret, Scope::default()), None);
    // With no class table (the default policy) the policy's `actions:` decide.
    let d = detector(&Policy::default_policy().licenses).unwrap();
    assert_eq!(d.action_for(&gpl, Scope::default()), None);
}

#[test]
fn default_policy_annotates_licences() {
    let p = Policy::default_policy();
    assert_eq!(
        p.action_for(&Category::new("license.GPL-3.0-only").unwrap()),
        Action::Annotate
    );
}

#[test]
fn attribution_and_info() {
    let d = detector(&compliance().licenses).unwrap();
    let i = d.info("Apache-2.0");
    assert_eq!(i.class, glassbox_core::policy::LicenseClass::Permissive);
    assert_eq!(i.name, Some("Apache License 2.0"));
    assert!(i.obligations.contains("NOTICE"), "{}", i.obligations);
    let i = d.info("LicenseRef-Acme-Internal");
    assert_eq!(i.class, glassbox_core::policy::LicenseClass::Proprietary);
    assert!(d.info("MIT").obligations.contains("copyright notice"));
}
