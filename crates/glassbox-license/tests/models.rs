//! The served-model licence registry and check: resolution (operator entries, upstream
//! declarations, built-in table), rules per class and tenant, approvals, audit records, and
//! the upstream readers (GGUF, model card, Ollama `/api/show`).

#![allow(clippy::unwrap_used, clippy::type_complexity)]

use std::path::PathBuf;

use glassbox_core::audit::{Direction, Outcome};
use glassbox_core::policy::{LicenseClass, ModelRule};
use glassbox_core::{Action, Policy};
use glassbox_license::models::{check_resolved, upstream, Origin};
use glassbox_license::{check_model, detector, ModelRegistry, UpstreamLicence};

const COMPLIANCE: &str = include_str!("../../../policies/licence-compliance.yaml");

fn compliance() -> Policy {
    Policy::from_yaml(COMPLIANCE, "policies/licence-compliance.yaml").unwrap()
}

#[test]
fn builtin_resolution() {
    let reg = ModelRegistry::new(&Policy::default_policy().licenses);
    let cases = [
        (
            "meta-llama/Llama-2-7b-chat-hf",
            "LicenseRef-Llama-2-Community",
            LicenseClass::SourceAvailable,
        ),
        (
            "codellama:13b",
            "LicenseRef-Llama-2-Community",
            LicenseClass::SourceAvailable,
        ),
        (
            "meta-llama/Meta-Llama-3-8B-Instruct",
            "LicenseRef-Llama-3-Community",
            LicenseClass::SourceAvailable,
        ),
        (
            "llama3:70b",
            "LicenseRef-Llama-3-Community",
            LicenseClass::SourceAvailable,
        ),
        (
            "meta-llama/Llama-3.1-8B-Instruct",
            "LicenseRef-Llama-3.1-Community",
            LicenseClass::SourceAvailable,
        ),
        (
            "llama3.3",
            "LicenseRef-Llama-3.3-Community",
            LicenseClass::SourceAvailable,
        ),
        (
            "databricks/dbrx-instruct",
            "LicenseRef-Databricks-Open-Model",
            LicenseClass::SourceAvailable,
        ),
        (
            "mistralai/Mistral-7B-Instruct-v0.3",
            "Apache-2.0",
            LicenseClass::Permissive,
        ),
        (
            "mistral-large-2407",
            "LicenseRef-Mistral-Research",
            LicenseClass::NonCommercial,
        ),
        (
            "codestral-22b",
            "LicenseRef-Mistral-Non-Production",
            LicenseClass::NonCommercial,
        ),
        (
            "Qwen/Qwen2.5-7B-Instruct",
            "Apache-2.0",
            LicenseClass::Permissive,
        ),
        (
            "Qwen/Qwen2.5-72B-Instruct",
            "LicenseRef-Qwen",
            LicenseClass::SourceAvailable,
        ),
        (
            "qwen2.5:3b",
            "LicenseRef-Qwen-Research",
            LicenseClass::NonCommercial,
        ),
        (
            "google/gemma-2-9b-it",
            "LicenseRef-Gemma",
            LicenseClass::SourceAvailable,
        ),
        ("allenai/OLMo-7B", "Apache-2.0", LicenseClass::Permissive),
        (
            "gpt-4o",
            "LicenseRef-Proprietary-API",
            LicenseClass::Proprietary,
        ),
        (
            "claude-3-5-sonnet",
            "LicenseRef-Proprietary-API",
            LicenseClass::Proprietary,
        ),
    ];
    for (model, licence, class) in cases {
        let l = reg
            .resolve(model)
            .unwrap_or_else(|| panic!("{model} unresolved"));
        assert_eq!(
            (l.licence.as_str(), l.class, &l.origin),
            (licence, class, &Origin::Builtin),
            "{model}"
        );
        if licence.starts_with("LicenseRef-") {
            assert!(!l.restrictions.is_empty(), "{model}: restrictions recorded");
            assert!(l.source.is_some(), "{model}: source recorded");
        }
    }
    assert!(reg.resolve("my-own-model").is_none());
    let llama = reg.resolve("llama3:8b").unwrap();
    assert!(
        llama.restrictions.iter().any(|r| r.contains("700 million")),
        "{:?}",
        llama.restrictions
    );
}

#[test]
fn resolution_order_config_upstream_builtin() {
    let p = compliance();
    let reg = ModelRegistry::new(&p.licenses);
    let up = UpstreamLicence {
        licence: "MIT".into(),
        source: "test".into(),
    };
    // An operator entry beats what the upstream declares.
    let l = reg.resolve_with("support-bot-7b", Some(&up)).unwrap();
    assert_eq!(
        (l.licence.as_str(), l.origin),
        ("LicenseRef-Llama-3.1-Community", Origin::Config)
    );
    // The upstream beats the built-in table.
    let l = reg.resolve_with("llama3:8b", Some(&up)).unwrap();
    assert_eq!((l.licence.as_str(), l.origin), ("MIT", Origin::Upstream));
    // Unless upstream declarations are switched off.
    let mut cfg = p.licenses.clone();
    cfg.models.upstream = false;
    let l = ModelRegistry::new(&cfg)
        .resolve_with("llama3:8b", Some(&up))
        .unwrap();
    assert_eq!(l.origin, Origin::Builtin);
    cfg.models.builtin = false;
    assert!(ModelRegistry::new(&cfg).resolve("llama3:8b").is_none());
}

#[test]
fn checks_under_the_compliance_policy() {
    let p = compliance();
    let reg = ModelRegistry::new(&p.licenses);
    // (model, tenant, verdict, rule, category kind, reason contains)
    let cases: &[(&str, Option<&str>, Action, ModelRule, &str, &str)] = &[
        (
            "Qwen/Qwen2.5-7B-Instruct",
            None,
            Action::Allow,
            ModelRule::Allow,
            "allowed",
            "allowed",
        ),
        (
            "Qwen/Qwen2.5-72B-Instruct",
            None,
            Action::Block,
            ModelRule::RequireApproval,
            "approval_missing",
            "100 million",
        ),
        (
            "meta-llama/Meta-Llama-3-8B-Instruct",
            None,
            Action::Annotate,
            ModelRule::RequireApproval,
            "approved",
            "LEGAL-2026-031",
        ),
        (
            "support-bot-8b",
            Some("anyone"),
            Action::Annotate,
            ModelRule::RequireApproval,
            "approved",
            "LEGAL-2026-044",
        ),
        (
            "mistral-large-2407",
            None,
            Action::Block,
            ModelRule::Block,
            "blocked",
            "non_commercial",
        ),
        (
            "mistral-large-2407",
            Some("research-lab"),
            Action::Allow,
            ModelRule::Allow,
            "allowed",
            "allowed",
        ),
        (
            "dbrx-instruct",
            Some("analytics"),
            Action::Annotate,
            ModelRule::RequireApproval,
            "approved",
            "ARCH-118",
        ),
        (
            "dbrx-instruct",
            Some("sales"),
            Action::Block,
            ModelRule::RequireApproval,
            "approval_missing",
            "tenant `sales`",
        ),
        (
            "acme-coder-7b",
            None,
            Action::Block,
            ModelRule::RequireApproval,
            "approval_missing",
            "proprietary",
        ),
        (
            "gpt-4o",
            None,
            Action::Block,
            ModelRule::RequireApproval,
            "approval_missing",
            "proprietary",
        ),
        (
            "my-own-model",
            None,
            Action::Block,
            ModelRule::Block,
            "unknown",
            "no licence is known",
        ),
    ];
    for (model, tenant, verdict, rule, kind, reason) in cases {
        let c = check_resolved(
            model,
            reg.resolve(model),
            &p.licenses,
            *tenant,
            "2026-11-25",
        );
        assert_eq!(
            (c.verdict, c.rule),
            (*verdict, *rule),
            "{model} {tenant:?}: {}",
            c.reason
        );
        assert_eq!(
            c.category().as_str(),
            format!("model_license.{kind}"),
            "{model}"
        );
        assert!(c.reason.contains(reason), "{model}: {}", c.reason);
        assert!(c.reason.contains(model), "{model}: {}", c.reason);
    }
}

#[test]
fn approvals_lapse() {
    let p = compliance();
    let reg = ModelRegistry::new(&p.licenses);
    let llama = "meta-llama/Meta-Llama-3-8B-Instruct";
    let on = |day: &str| check_resolved(llama, reg.resolve(llama), &p.licenses, None, day).verdict;
    assert_eq!(on("2027-06-30"), Action::Annotate, "the last day holds");
    assert_eq!(on("2027-07-01"), Action::Block, "expired");
    // An approval for one licence does not cover another: Llama 3.1 is not Llama 3.
    let c = check_resolved(
        "llama-3.1-8b",
        reg.resolve("llama-3.1-8b"),
        &p.licenses,
        None,
        "2026-11-25",
    );
    assert_eq!(c.verdict, Action::Block, "{}", c.reason);
}

#[test]
fn default_policy_forwards_with_obligations_and_check_can_be_off() {
    let p = Policy::default_policy();
    let reg = ModelRegistry::new(&p.licenses);
    let c = check_model(&reg, "llama3:8b", &p.licenses, None);
    assert_eq!(c.verdict, Action::Annotate);
    assert!(c.reason.contains("Acceptable Use Policy"), "{}", c.reason);
    assert_eq!(
        check_model(&reg, "qwen2.5:7b", &p.licenses, None).verdict,
        Action::Allow
    );
    let mut cfg = p.licenses.clone();
    cfg.models.check = false;
    cfg.models
        .classes
        .insert(LicenseClass::Unknown, ModelRule::Block);
    assert_eq!(
        check_model(&reg, "nothing-known", &cfg, None).verdict,
        Action::Allow
    );
}

#[test]
fn every_check_is_an_audit_record() {
    let p = compliance();
    let reg = ModelRegistry::new(&p.licenses);
    let c = check_model(&reg, "gpt-4o", &p.licenses, Some("sales"));
    let e = c.audit_event(
        "req-1",
        "/v1/chat/completions",
        Some("sales"),
        &p.id,
        &p.sha256,
    );
    assert_eq!(e.direction, Direction::ModelCheck);
    assert_eq!(e.model.as_deref(), Some("gpt-4o"));
    assert_eq!(
        e.model_licence.as_deref(),
        Some("LicenseRef-Proprietary-API")
    );
    assert_eq!(e.verdict, Action::Block);
    assert_eq!(e.outcome, Outcome::Blocked);
    assert_eq!(e.findings.len(), 1);
    assert_eq!(e.findings[0].category, "model_license.approval_missing");
    assert_eq!(e.policy_sha256, p.sha256);
    let ok =
        check_model(&reg, "qwen2.5:7b", &p.licenses, None).audit_event("r", "/", None, "p", "s");
    assert_eq!(
        (ok.outcome, ok.verdict),
        (Outcome::Completed, Action::Allow)
    );
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glassbox-license-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn gguf_string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

/// A GGUF v3 header with some metadata before `general.license` (arrays of numbers and of
/// strings, to be skipped) and no tensors.
fn gguf(licence: Option<&str>) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend((if licence.is_some() { 4u64 } else { 3 }).to_le_bytes());
    gguf_string(&mut b, "general.architecture");
    b.extend(8u32.to_le_bytes());
    gguf_string(&mut b, "llama");
    gguf_string(&mut b, "llama.rope.dimensions");
    b.extend(9u32.to_le_bytes());
    b.extend(4u32.to_le_bytes());
    b.extend(3u64.to_le_bytes());
    for v in [1u32, 2, 3] {
        b.extend(v.to_le_bytes());
    }
    gguf_string(&mut b, "tokenizer.ggml.tokens");
    b.extend(9u32.to_le_bytes());
    b.extend(8u32.to_le_bytes());
    b.extend(2u64.to_le_bytes());
    gguf_string(&mut b, "<s>");
    gguf_string(&mut b, "hello");
    if let Some(l) = licence {
        gguf_string(&mut b, "general.license");
        b.extend(8u32.to_le_bytes());
        gguf_string(&mut b, l);
    }
    b
}

#[test]
fn gguf_general_license() {
    let d = tmp("gguf");
    let f = d.join("m.gguf");
    std::fs::write(&f, gguf(Some("llama3"))).unwrap();
    let u = upstream::from_gguf(&f).unwrap().unwrap();
    assert_eq!(u.licence, "LicenseRef-Llama-3-Community");
    assert!(u.source.contains("general.license"));
    std::fs::write(&f, gguf(Some("apache-2.0"))).unwrap();
    assert_eq!(
        upstream::from_gguf(&f).unwrap().unwrap().licence,
        "Apache-2.0"
    );
    std::fs::write(&f, gguf(None)).unwrap();
    assert_eq!(upstream::from_gguf(&f).unwrap(), None);
    // Truncated metadata and wrong magic are errors that say where.
    let full = gguf(Some("mit"));
    std::fs::write(&f, &full[..40]).unwrap();
    let e = upstream::from_gguf(&f).unwrap_err().to_string();
    assert!(e.contains("m.gguf") && e.contains("at byte"), "{e}");
    std::fs::write(&f, b"PK\x03\x04 not gguf").unwrap();
    let e = upstream::from_gguf(&f).unwrap_err().to_string();
    assert!(e.contains("not a GGUF file"), "{e}");
    assert!(upstream::from_gguf(&d.join("missing.gguf")).is_err());
}

#[test]
fn model_card_front_matter() {
    let d = tmp("card");
    std::fs::write(
        d.join("README.md"),
        "---\nlanguage: en\nlicense: llama3.1\ntags: [chat]\n---\n# Model\n",
    )
    .unwrap();
    let u = upstream::from_model_dir(&d).unwrap().unwrap();
    assert_eq!(u.licence, "LicenseRef-Llama-3.1-Community");
    std::fs::write(
        d.join("README.md"),
        "---\nlicense: other\nlicense_name: deepseek\n---\n",
    )
    .unwrap();
    assert_eq!(
        upstream::from_model_dir(&d).unwrap().unwrap().licence,
        "LicenseRef-deepseek"
    );
    std::fs::write(d.join("README.md"), "# No front matter\nlicense: mit\n").unwrap();
    assert_eq!(upstream::from_model_dir(&d).unwrap(), None);
    assert_eq!(upstream::from_model_dir(&d.join("nope")).unwrap(), None);
}

#[test]
fn ollama_show_licence_text() {
    let d = detector(&Default::default()).unwrap();
    let llama3 = "META LLAMA 3 COMMUNITY LICENSE AGREEMENT\nMeta Llama 3 Version Release Date: April 18, 2024\n\n\"Agreement\" means the terms and conditions for use, reproduction, distribution and modification of the Llama Materials set forth herein.";
    let body = serde_json::json!({"license": llama3, "modelfile": "FROM llama3", "details": {"family": "llama"}});
    let u = upstream::from_ollama_show(&body.to_string(), &d)
        .unwrap()
        .unwrap();
    assert_eq!(u.licence, "LicenseRef-Llama-3-Community");
    let apache = spdx::license_id("Apache-2.0").unwrap().text();
    let body = serde_json::json!({"license": [apache]});
    assert_eq!(
        upstream::from_ollama_show(&body.to_string(), &d)
            .unwrap()
            .unwrap()
            .licence,
        "Apache-2.0"
    );
    let body = serde_json::json!({"license": "MIT"});
    assert_eq!(
        upstream::from_ollama_show(&body.to_string(), &d)
            .unwrap()
            .unwrap()
            .licence,
        "MIT"
    );
    assert_eq!(upstream::from_ollama_show("{}", &d).unwrap(), None);
    let e = upstream::from_ollama_show("<html>", &d)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not JSON"), "{e}");
}
