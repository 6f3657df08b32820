//! `glassbox models check` (feature `cli`): own models from manifests, upstream models from
//! the configuration, verdicts, the bundle check against the default policy, exit status.

#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use glassbox_license::cli::{report, run, CheckArgs, Format, ModelsArgs, ModelsCommand};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "glassbox-license-cli-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn manifest(dir: &Path, name: &str, body: &str) {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    std::fs::write(dir.join(name).join("manifest.yaml"), body).unwrap();
}

fn args(models_dir: PathBuf) -> CheckArgs {
    CheckArgs {
        config: None,
        policy: None,
        models_dir,
        models: Vec::new(),
        tenant: None,
        format: Format::Text,
    }
}

#[test]
fn no_models_installed_passes_and_says_so() {
    let d = tmp("none");
    let a = args(d.join("models"));
    let r = report(&a).unwrap();
    assert!(r.pass);
    let text = glassbox_license::cli::render(&r, &a.models_dir);
    assert!(text.contains("none installed"), "{text}");
    assert!(text.contains("none configured"), "{text}");
}

#[test]
fn own_bundle_and_upstream_models() {
    let d = tmp("bundle");
    let models = d.join("models");
    manifest(
        &models,
        "prompt-injection",
        "name: deberta-v3-prompt-injection\nlicence: Apache-2.0\nsource: hf\n",
    );
    manifest(&models, "toxicity", "name: toxic-bert\nlicense: MIT\n");
    let policy = d.join("policy.yaml");
    std::fs::write(
        &policy,
        include_str!("../../../policies/licence-compliance.yaml"),
    )
    .unwrap();
    let cfg = d.join("glassbox.yaml");
    std::fs::write(&cfg, "policy: policy.yaml\nupstream:\n  url: http://127.0.0.1:8000\n  models: [qwen2.5:7b, {name: gpt-4o}]\n").unwrap();
    let mut a = args(models.clone());
    a.config = Some(cfg.clone());
    let r = report(&a).unwrap();
    assert_eq!(r.policy, "licence-compliance");
    assert!(r.bundle_problems.is_empty(), "{:?}", r.bundle_problems);
    assert_eq!(r.own.len(), 2);
    let up: Vec<(&str, glassbox_core::Action)> = r
        .upstream
        .iter()
        .map(|c| (c.model.as_str(), c.verdict))
        .collect();
    assert_eq!(
        up,
        [
            ("gpt-4o", glassbox_core::Action::Block),
            ("qwen2.5:7b", glassbox_core::Action::Allow)
        ]
    );
    assert!(!r.pass, "gpt-4o needs an approval under this policy");
    let text = glassbox_license::cli::render(&r, &models);
    assert!(
        text.contains("deberta-v3-prompt-injection") && text.contains("LicenseRef-Proprietary-API"),
        "{text}"
    );
    assert!(text.contains("bundle: passes the default policy"), "{text}");
    // The same through `run`: exit status 1.
    let code = run(ModelsArgs {
        command: ModelsCommand::Check(a),
    })
    .unwrap();
    assert_eq!(code, 1);
}

#[test]
fn bundle_fails_when_a_model_has_no_licence() {
    let d = tmp("nolicence");
    let models = d.join("models");
    manifest(&models, "toxicity", "name: toxic-bert\nsha256: abc\n");
    manifest(&models, "odd", "name: odd\nlicence: Some Custom Terms\n");
    let r = report(&args(models.clone())).unwrap();
    assert!(!r.pass);
    assert_eq!(r.bundle_problems.len(), 2, "{:?}", r.bundle_problems);
    assert!(r
        .bundle_problems
        .iter()
        .any(|p| p.contains("has no licence")));
    assert!(r
        .bundle_problems
        .iter()
        .any(|p| p.contains("not recognised")));
    let code = run(ModelsArgs {
        command: ModelsCommand::Check(args(models)),
    })
    .unwrap();
    assert_eq!(code, 1);
}

#[test]
fn bad_inputs_are_errors_naming_the_file() {
    let d = tmp("bad");
    let mut a = args(d.join("models"));
    a.policy = Some(d.join("missing.yaml"));
    let e = run(ModelsArgs {
        command: ModelsCommand::Check(a),
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("missing.yaml") && e.contains("not found"), "{e}");
    let bad = d.join("bad.yaml");
    std::fs::write(&bad, "id: x\nlicenses:\n  classes: {copyleft: block}\n").unwrap();
    let mut a = args(d.join("models"));
    a.policy = Some(bad);
    let e = format!("{:#}", report(&a).unwrap_err());
    assert!(e.contains("bad.yaml:3") && e.contains("copyleft"), "{e}");
}
