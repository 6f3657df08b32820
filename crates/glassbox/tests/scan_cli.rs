//! `glassbox scan` and `glassbox policy check` as a user runs them: the real binary, real files,
//! stdin, exit codes and messages.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn fixture(name: &str) -> String {
    format!(
        "{}/../../tests/fixtures/scan/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn glassbox(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(args)
        .env_remove("GLASSBOX_POLICY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The binary may exit before reading stdin (usage errors): a broken pipe is fine then.
    let _ = input.write_all(stdin.unwrap_or("").as_bytes());
    drop(input);
    child.wait_with_output().unwrap()
}

fn rows(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn clean_text_exits_zero_with_allow() {
    let out = glassbox(&["scan", &fixture("clean.txt")], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = rows(&out);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["verdict"], "allow");
    assert_eq!(r[0]["findings"].as_array().unwrap().len(), 0);
    assert!(r[0].get("masked").is_none());
    assert!(r[0]["id"].as_str().unwrap().ends_with("clean.txt"));
}

#[test]
fn jsonl_rows_bad_lines_named_and_others_processed() {
    let policy = fixture("keywords.yaml");
    let out = glassbox(
        &[
            "scan",
            "--jsonl",
            "--stream",
            "--policy",
            &policy,
            &fixture("rows.jsonl"),
        ],
        None,
    );
    // Input errors make the exit code 2 even though findings were found.
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("rows.jsonl:3: invalid row"), "{err}");
    assert!(
        err.contains("rows.jsonl:6: chunks[0] = 2 is past the end of the text (1 bytes)"),
        "{err}"
    );
    assert!(
        err.contains("rows.jsonl:7: invalid row: missing field `id`"),
        "{err}"
    );
    let r = rows(&out);
    let ids: Vec<&str> = r.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b", "d"]);
}

#[test]
fn keyword_policy_masks_and_fail_on_controls_exit() {
    let policy = fixture("keywords.yaml");
    let text = "alpha and beta and gamma";
    let out = glassbox(&["scan", "--policy", &policy], Some(text));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = rows(&out);
    assert_eq!(r[0]["id"], "-");
    assert_eq!(r[0]["verdict"], "mask");
    assert_eq!(
        r[0]["masked"],
        "[REDACTED:keyword.words] and [REDACTED:keyword.words] and gamma"
    );
    let f = &r[0]["findings"][0];
    assert_eq!((f["start"].as_u64(), f["end"].as_u64()), (Some(0), Some(5)));
    assert_eq!(f["category"], "keyword.words");
    assert_eq!(f["action"], "mask");
    // Below the --fail-on threshold: exit 0 with the same output.
    let out = glassbox(
        &["scan", "--policy", &policy, "--fail-on", "block"],
        Some(text),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(rows(&out)[0]["verdict"], "mask");
}

#[test]
fn streamed_rows_equal_whole_text_rows() {
    let policy = fixture("keywords.yaml");
    let text = "alpha, then beta — ünïcödé alpha";
    let mut whole = String::new();
    let mut streamed = String::new();
    for cut in 0..=text.len() {
        whole.push_str(&format!(
            "{}\n",
            serde_json::json!({"id": cut, "text": text})
        ));
        streamed.push_str(&format!(
            "{}\n",
            serde_json::json!({"id": cut, "text": text, "chunks": [cut]})
        ));
    }
    let a = glassbox(&["scan", "--jsonl", "--policy", &policy], Some(&whole));
    let b = glassbox(
        &["scan", "--jsonl", "--stream", "--policy", &policy],
        Some(&streamed),
    );
    assert_eq!(a.status.code(), Some(1));
    assert_eq!(b.status.code(), Some(1), "{}", stderr(&b));
    let (ra, rb) = (rows(&a), rows(&b));
    assert_eq!(ra.len(), text.len() + 1);
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x["findings"], y["findings"]);
        assert_eq!(x["masked"], y["masked"]);
    }
}

#[test]
fn invalid_utf8_file_is_named_with_offset() {
    let out = glassbox(
        &["scan", &fixture("invalid-utf8.txt"), &fixture("clean.txt")],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("invalid-utf8.txt: invalid UTF-8 at byte 6"),
        "{err}"
    );
    assert_eq!(rows(&out).len(), 1, "the good file is still screened");
}

#[test]
fn missing_policy_file_is_a_usage_error() {
    let out = glassbox(&["scan", "--policy", "/nonexistent/policy.yaml"], Some("x"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read policy file /nonexistent/policy.yaml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn policy_check_points_at_the_mistake() {
    let out = glassbox(&["policy", "check", &fixture("bad-action.yaml")], None);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad-action.yaml:4:"), "{err}");
    assert!(err.contains("redact"), "{err}");
    assert!(err.contains("allow, annotate, mask, block"), "{err}");

    let out = glassbox(&["policy", "check", &fixture("bad-field.yaml")], None);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad-field.yaml:2:"), "{err}");
    assert!(err.contains("unknown field `actoins`"), "{err}");

    let default = format!("{}/../../policies/default.yaml", env!("CARGO_MANIFEST_DIR"));
    let out = glassbox(&["policy", "check", &default], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: policy `default`"));
}

/// The content digests (`hmac_sha256`) in a file audit store's records.
fn digests(store: &std::path::Path) -> Vec<String> {
    let bytes = glassbox_audit::store::file::read_all_bytes(store).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    text.match_indices("\"hmac_sha256\":\"")
        .map(|(i, m)| text[i + m.len()..i + m.len() + 64].to_string())
        .collect()
}

#[test]
fn scan_audit_digests_are_reproducible_with_the_deployment_hmac_key() {
    let dir = std::env::temp_dir().join(format!("glassbox-scan-hmac-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let keys = dir.join("keys");
    let out = glassbox(&["audit", "keygen", "--out", keys.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hmac = keys.join("audit-hmac.key");
    assert!(hmac.is_file(), "keygen writes {}", hmac.display());
    let policy = fixture("keywords.yaml");
    let text = "The shipment leaves on Tuesday.";
    let run = |store: &str, key: Option<&std::path::Path>| {
        let store = dir.join(store);
        let mut args = vec![
            "scan".to_string(),
            "--policy".into(),
            policy.clone(),
            "--audit".into(),
            store.display().to_string(),
        ];
        if let Some(k) = key {
            args.extend(["--hmac-key".into(), k.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = glassbox(&args, Some(text));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let d = digests(&store);
        assert_eq!(d.len(), 1, "one content digest per screened text: {d:?}");
        d[0].clone()
    };
    let a = run("a", Some(&hmac));
    let b = run("b", Some(&hmac));
    assert_eq!(
        a, b,
        "same key, same text: the same digest, so it can be re-proved"
    );
    let c = run("c", None);
    let d = run("d", None);
    assert_ne!(
        c, d,
        "without the key each session digests with its own key"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--device cuda` on a build without the `cuda` feature: exit 2, saying why and both ways out.
#[cfg(not(feature = "cuda"))]
#[test]
fn device_cuda_without_the_cuda_build_is_a_clear_start_up_error() {
    let out = glassbox(&["scan", "--device", "cuda", &fixture("clean.txt")], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.contains("CUDA requested (`device: cuda`) but unavailable: this glassbox was built without the `cuda` cargo feature"),
        "{e}"
    );
    assert!(
        e.contains("--features cuda") && e.contains("--device cpu"),
        "{e}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing screened without the classifiers"
    );
    // An unknown device is a usage error naming the values.
    let out = glassbox(&["scan", "--device", "gpu", &fixture("clean.txt")], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("[possible values: cpu, cuda]"),
        "{}",
        stderr(&out)
    );
}

/// `--bundle-device` moves single bundles off `--device`: with both default-policy bundles sent
/// to the CPU, `--device cuda` on a CPU build screens normally; a bundle the policy does not use
/// and a value without `=` are refused, naming what is wrong.
#[cfg(not(feature = "cuda"))]
#[test]
fn bundle_devices_override_the_device_and_typos_are_refused() {
    let out = glassbox(
        &[
            "scan",
            "--device",
            "cuda",
            "--bundle-device",
            "prompt-injection=cpu,toxicity=cpu",
            &fixture("clean.txt"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows(&out)[0]["verdict"], "allow");

    let out = glassbox(
        &[
            "scan",
            "--bundle-device",
            "toxicty=cpu",
            &fixture("clean.txt"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "policy `default` uses no model bundle `toxicty` (it uses: prompt-injection, toxicity)"
        ),
        "{}",
        stderr(&out)
    );
    let out = glassbox(
        &["scan", "--bundle-device", "toxicity", &fixture("clean.txt")],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("want BUNDLE=DEVICE"),
        "{}",
        stderr(&out)
    );
}
