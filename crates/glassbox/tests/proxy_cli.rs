//! `glassbox proxy` on the command line: a bad configuration is refused before listening, with
//! the file, line and field; `--check` validates a good one and lists policies and routes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn glassbox() -> Command {
    Command::new(env!("CARGO_BIN_EXE_glassbox"))
}

#[test]
fn bad_config_names_the_field_and_does_not_listen() {
    let dir = std::env::temp_dir().join(format!("glassbox-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.yaml");
    std::fs::write(
        &path,
        "listen: 127.0.0.1:0\nupstreams:\n  local:\n    url: http://127.0.0.1:8000\n    kind: gemini\n",
    )
    .unwrap();
    let out = glassbox()
        .args(["proxy", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("bad.yaml:5"), "{err}");
    assert!(err.contains("field `upstreams.local.kind`"), "{err}");
    assert!(err.contains("unknown variant `gemini`"), "{err}");

    let good = dir.join("good.yaml");
    std::fs::write(
        &good,
        "upstreams:\n  local:\n    url: http://127.0.0.1:8000\n",
    )
    .unwrap();
    let out = glassbox()
        .args(["proxy", "--check", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("policy default: id default"), "{text}");
    assert!(text.contains("route /v1/messages -> local"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_config_or_upstream_it_says_what_to_give() {
    let out = glassbox()
        .arg("proxy")
        .env_remove("GLASSBOX_CONFIG")
        .env_remove("GLASSBOX_UPSTREAM")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("--config FILE") && err.contains("--upstream URL"),
        "{err}"
    );
}

/// `--device cuda` reaches the classifiers: on a build without the `cuda` feature the proxy
/// refuses to start (the default policy's classifiers fail closed), saying how to fix it.
#[cfg(not(feature = "cuda"))]
#[test]
fn device_cuda_on_a_cpu_build_stops_start_up_with_the_fix() {
    let out = glassbox()
        .args([
            "proxy",
            "--upstream",
            "http://127.0.0.1:9",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("GLASSBOX_DEVICE", "cuda")
        .env_remove("GLASSBOX_CONFIG")
        .env_remove("GLASSBOX_POLICY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("built without the `cuda` cargo feature") && err.contains("--device cpu"),
        "{err}"
    );
}
