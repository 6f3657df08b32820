//! `glassbox models check`: the licences of the models glassbox runs itself (its classifiers,
//! from `models/*/manifest.yaml`) and of the models configured upstream, with the policy's
//! verdict on each. glassbox's own bundle must also pass the built-in default policy with a
//! known licence for every model; the command says why when it does not.
//!
//! Exit status from [`run`]: 0 when everything passes, 1 when a model is blocked or the bundle
//! fails; errors (unreadable or invalid files) are `Err`, which the binary reports with status 2.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use glassbox_core::policy::LicenseClass;
use glassbox_core::{Action, Policy};
use serde::Serialize;
use serde_norway::Value;

use crate::models::{check_model, ModelCheck, ModelRegistry};

/// `glassbox models …`
#[derive(Debug, clap::Args)]
pub struct ModelsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ModelsCommand,
}

/// `glassbox models` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ModelsCommand {
    /// List glassbox's own models and the upstream models with their licences and verdicts.
    Check(CheckArgs),
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Text,
    /// One JSON document.
    Json,
}

/// `glassbox models check` arguments.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// glassbox configuration (YAML). Its `policy:` (a path) and its upstream model names
    /// (`models:`, `upstream.models:` or `upstreams[].models:`) are used.
    #[arg(long, env = "GLASSBOX_CONFIG")]
    pub config: Option<PathBuf>,
    /// Policy file; default: the configuration's, else the built-in default policy.
    #[arg(long, env = "GLASSBOX_POLICY")]
    pub policy: Option<PathBuf>,
    /// Directory of glassbox's own models (`<name>/manifest.yaml`).
    #[arg(long, env = "GLASSBOX_MODELS_DIR", default_value = "models")]
    pub models_dir: PathBuf,
    /// More upstream model names to check (repeatable).
    #[arg(long = "model")]
    pub models: Vec<String>,
    /// Tenant to check the upstream models for.
    #[arg(long, env = "GLASSBOX_TENANT")]
    pub tenant: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// One of glassbox's own models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnModel {
    /// Name (manifest `name`, else the directory name).
    pub name: String,
    /// Licence from the manifest (`licence` or `license`), if any.
    pub licence: Option<String>,
    /// The manifest file.
    pub manifest: String,
}

/// Reads `dir/*/manifest.yaml`. A missing directory means none installed.
///
/// # Errors
/// When a manifest cannot be read or is not YAML.
pub fn own_models(dir: &Path) -> anyhow::Result<Vec<OwnModel>> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let manifest = d.join("manifest.yaml");
        if !manifest.exists() {
            continue;
        }
        let src = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        let v: Value = serde_norway::from_str(&src)
            .with_context(|| format!("{}: not YAML", manifest.display()))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let dir_name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(OwnModel {
            name: s("name").unwrap_or(dir_name),
            licence: s("licence").or_else(|| s("license")),
            manifest: manifest.display().to_string(),
        });
    }
    Ok(out)
}

/// Upstream model names listed in a glassbox configuration value.
pub fn configured_models(config: &Value) -> Vec<String> {
    fn names(v: Option<&Value>, out: &mut Vec<String>) {
        let Some(Value::Sequence(items)) = v else {
            return;
        };
        for it in items {
            match it {
                Value::String(s) => out.push(s.clone()),
                Value::Mapping(_) => {
                    if let Some(n) = it
                        .get("name")
                        .or_else(|| it.get("model"))
                        .and_then(Value::as_str)
                    {
                        out.push(n.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    names(config.get("models"), &mut out);
    names(
        config.get("upstream").and_then(|u| u.get("models")),
        &mut out,
    );
    if let Some(Value::Sequence(ups)) = config.get("upstreams") {
        for u in ups {
            names(u.get("models"), &mut out);
        }
    }
    out
}

/// The report `glassbox models check` prints.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Policy id used.
    pub policy: String,
    /// Tenant checked for.
    pub tenant: Option<String>,
    /// glassbox's own models, checked against the policy.
    pub own: Vec<ModelCheck>,
    /// Why the own bundle fails the default policy; empty when it passes.
    pub bundle_problems: Vec<String>,
    /// Upstream models, checked against the policy.
    pub upstream: Vec<ModelCheck>,
    /// Whether no model is blocked and the bundle passes.
    pub pass: bool,
}

fn own_check(registry: &ModelRegistry, m: &OwnModel, policy: &Policy) -> ModelCheck {
    let licence = m.licence.as_deref().map(|l| {
        let upstream = crate::UpstreamLicence {
            licence: l.to_string(),
            source: m.manifest.clone(),
        };
        registry.resolve_with(&m.name, Some(&upstream))
    });
    let licence = licence.flatten();
    let today = crate::models::today_utc();
    crate::models::check_resolved(&m.name, licence, &policy.licenses, None, &today)
}

/// Builds the report.
///
/// # Errors
/// When the configuration, the policy or a manifest cannot be read or is invalid.
pub fn report(args: &CheckArgs) -> anyhow::Result<Report> {
    let mut upstream_names = args.models.clone();
    let mut policy_path = args.policy.clone();
    if let Some(cfg) = &args.config {
        let src =
            std::fs::read_to_string(cfg).with_context(|| format!("reading {}", cfg.display()))?;
        let v: Value =
            serde_norway::from_str(&src).with_context(|| format!("{}: not YAML", cfg.display()))?;
        upstream_names.extend(configured_models(&v));
        if policy_path.is_none() {
            if let Some(p) = v.get("policy").and_then(Value::as_str) {
                let base = cfg.parent().unwrap_or(Path::new("."));
                policy_path = Some(base.join(p));
            }
        }
    }
    let policy = match &policy_path {
        Some(p) => {
            let src =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Policy::from_yaml(&src, &p.display().to_string())?
        }
        None => Policy::default_policy(),
    };
    let default = Policy::default_policy();
    let registry = ModelRegistry::new(&policy.licenses);
    let default_registry = ModelRegistry::new(&default.licenses);

    let own_models = own_models(&args.models_dir)?;
    let own: Vec<ModelCheck> = own_models
        .iter()
        .map(|m| own_check(&registry, m, &policy))
        .collect();
    let mut bundle_problems = Vec::new();
    for m in &own_models {
        let c = own_check(&default_registry, m, &default);
        match &c.licence {
            None => bundle_problems.push(format!("{}: {} has no licence", m.name, m.manifest)),
            Some(l) if l.class == LicenseClass::Unknown => bundle_problems.push(format!(
                "{}: licence `{}` is not recognised",
                m.name, l.licence
            )),
            Some(_) if c.verdict == Action::Block => {
                bundle_problems.push(format!("{}: {}", m.name, c.reason));
            }
            Some(_) => {}
        }
    }
    upstream_names.sort();
    upstream_names.dedup();
    let upstream: Vec<ModelCheck> = upstream_names
        .iter()
        .map(|n| check_model(&registry, n, &policy.licenses, args.tenant.as_deref()))
        .collect();
    let pass = bundle_problems.is_empty()
        && own
            .iter()
            .chain(&upstream)
            .all(|c| c.verdict != Action::Block);
    Ok(Report {
        policy: policy.id.clone(),
        tenant: args.tenant.clone(),
        own,
        bundle_problems,
        upstream,
        pass,
    })
}

fn table(out: &mut String, checks: &[ModelCheck]) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "  {:<28} {:<34} {:<16} {:<8} REASON",
        "MODEL", "LICENCE", "CLASS", "VERDICT"
    );
    for c in checks {
        let (lic, class) = c
            .licence
            .as_ref()
            .map_or(("-".to_string(), "unknown".to_string()), |l| {
                (l.licence.clone(), l.class.to_string())
            });
        let _ = writeln!(
            out,
            "  {:<28} {:<34} {:<16} {:<8} {}",
            c.model, lic, class, c.verdict, c.reason
        );
    }
}

/// Renders the report as text.
pub fn render(r: &Report, models_dir: &Path) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "policy: {}{}",
        r.policy,
        r.tenant
            .as_ref()
            .map(|t| format!(", tenant: {t}"))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "\nglassbox's own models ({}):", models_dir.display());
    if r.own.is_empty() {
        let _ = writeln!(
            out,
            "  none installed (no {}/*/manifest.yaml)",
            models_dir.display()
        );
    } else {
        table(&mut out, &r.own);
    }
    if r.bundle_problems.is_empty() {
        let _ = writeln!(out, "  bundle: passes the default policy");
    } else {
        let _ = writeln!(out, "  bundle: FAILS the default policy:");
        for p in &r.bundle_problems {
            let _ = writeln!(out, "    - {p}");
        }
    }
    let _ = writeln!(out, "\nupstream models:");
    if r.upstream.is_empty() {
        let _ = writeln!(
            out,
            "  none configured (give --model NAME or --config FILE with `models:`)"
        );
    } else {
        table(&mut out, &r.upstream);
    }
    let _ = writeln!(
        out,
        "\n{}",
        if r.pass {
            "result: pass"
        } else {
            "result: FAIL"
        }
    );
    out
}

/// Runs `glassbox models …`; returns the exit status.
///
/// # Errors
/// When an input file cannot be read or is invalid (the message names it and why).
pub fn run(args: ModelsArgs) -> anyhow::Result<i32> {
    match args.command {
        ModelsCommand::Check(a) => {
            if let Some(p) = &a.policy {
                if !p.exists() {
                    bail!("{}: policy file not found", p.display());
                }
            }
            let r = report(&a)?;
            match a.format {
                Format::Text => print!("{}", render(&r, &a.models_dir)),
                Format::Json => println!("{}", serde_json::to_string_pretty(&r)?),
            }
            Ok(if r.pass { 0 } else { 1 })
        }
    }
}
