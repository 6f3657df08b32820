//! The official `openai` and `anthropic` Python SDKs against the proxy (tests/sdk/check_sdks.py):
//! streamed and not, masked text arrives masked, blocks surface as each SDK's normal outcome.
//!
//! Needs the `.venv-sdk` made by `scripts/setup.d/50-proxy.sh` (or `GLASSBOX_SDK_PYTHON`).
//! Without it the test fails when `CI` is set and is skipped with a message otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proxy_support;

use std::path::PathBuf;
use std::process::Command;

use glassbox::proxy::Config;
use proxy_support::*;

/// Masks the mock's two secrets as keyword lists (the secret detectors are a separate crate;
/// the streaming contract is the same), and blocks the default blocked terms.
const POLICY: &str = r#"id: sdk
actions:
  keyword.secrets: mask
  keyword.blocked_terms: block
keywords:
  secrets:
    - AKIA2OGYBAH6TKXB3XLM
    - ghp_R8xKq2mZ7vT4nW9pL3sY6bC1dF5gH0jE2aQk
  blocked_terms:
    - project nightingale
    - internal use only
"#;

fn python() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = std::env::var_os("GLASSBOX_SDK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv-sdk/bin/python"));
    p.is_file().then_some(p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdks_parse_every_answer_masked_and_blocked() {
    let Some(py) = python() else {
        let msg =
            "skipped: no .venv-sdk with the openai/anthropic SDKs; run scripts/setup.d/50-proxy.sh";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("{msg}");
        return;
    };
    let dir = std::env::temp_dir().join(format!("glassbox-sdk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sdk.yaml"), POLICY).unwrap();
    let mock = glassbox::demo::mock::MockUpstream::start().await.unwrap();
    let yaml = format!(
        "default_policy: sdk\npolicies:\n  sdk: sdk.yaml\nupstreams:\n  mock:\n    url: {}\n",
        mock.url()
    );
    std::fs::write(dir.join("g.yaml"), yaml).unwrap();
    let mut config = Config::load(&dir.join("g.yaml")).unwrap();
    config.listen = ([127, 0, 0, 1], 0).into();
    let h = start_with(mock, config).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk/check_sdks.py");
    let url = format!("http://{}", h.proxy.addr);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(py)
            .arg(script)
            .arg(url)
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
