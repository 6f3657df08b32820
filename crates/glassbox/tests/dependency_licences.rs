//! glassbox's own dependencies must be under licences on the allow-list in `deny.toml`:
//! a compliance product passes its own licence check. Runs `cargo metadata` (offline, from
//! the lock file) and checks every package's SPDX expression: an `OR` needs one allowed side,
//! an `AND` needs both.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::process::Command;

fn allowed() -> BTreeSet<String> {
    let deny =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deny.toml")).unwrap();
    let start = deny.find("allow = [").expect("deny.toml has an allow list");
    let end = start + deny[start..].find(']').unwrap();
    deny[start..end]
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"').and_then(|l| l.split('"').next()))
        .map(String::from)
        .collect()
}

/// Evaluates an SPDX expression against the allow-list (`/` is the legacy spelling of OR).
fn satisfied(expr: &str, allow: &BTreeSet<String>) -> bool {
    let expr = expr.replace('/', " OR ");
    expr.split(" OR ").any(|alt| {
        alt.split(" AND ").all(|term| {
            let t = term
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .trim();
            allow.contains(t) || allow.iter().any(|a| a == t)
        })
    })
}

#[test]
fn satisfied_truth_table() {
    let allow: BTreeSet<String> = ["MIT", "Apache-2.0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(satisfied("MIT", &allow));
    assert!(satisfied("MIT OR GPL-3.0-only", &allow));
    assert!(satisfied("MIT/Apache-2.0", &allow));
    assert!(!satisfied("GPL-3.0-only", &allow));
    assert!(!satisfied("MIT AND GPL-3.0-only", &allow));
    assert!(satisfied("MIT AND Apache-2.0", &allow));
}

#[test]
fn every_dependency_has_an_allowed_licence() {
    // Only what this platform builds (Windows-only crates are never compiled here).
    let platform = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            &platform,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let allow = allowed();
    let mut bad = Vec::new();
    for p in meta["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        if p["source"].is_null() {
            continue; // our own crates
        }
        match p["license"].as_str() {
            Some(l) if satisfied(l, &allow) => {}
            Some(l) => bad.push(format!("{name} {}: {l}", p["version"])),
            None => bad.push(format!("{name} {}: no licence field", p["version"])),
        }
    }
    assert!(
        bad.is_empty(),
        "dependencies outside the allow-list in deny.toml:\n{}",
        bad.join("\n")
    );
}
