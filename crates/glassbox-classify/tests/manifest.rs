//! Bundle verification: digests pinned in the manifest or recorded at build time, tampering,
//! missing files, invalid manifests, tokenizer mismatch.

mod common;

use common::{sha256_hex, temp_dir, write_test_bundle};
use glassbox_classify::{
    verify_bundle, ClassifyError, ModelClassifier, RuntimeConfig, TestBackend,
};

#[test]
fn a_bundle_with_matching_digests_verifies() {
    let dir = temp_dir("manifest");
    write_test_bundle(&dir, "tiny", 8, 2);
    let b = verify_bundle(&dir, "tiny").expect("verifies");
    assert_eq!(b.manifest.labels, ["prompt_injection"]);
    assert_eq!(b.model_sha256.len(), 64);
}

#[test]
fn a_modified_file_is_refused_naming_file_and_digests() {
    for file in ["model.onnx", "tokenizer.json"] {
        let dir = temp_dir("tamper");
        let b = write_test_bundle(&dir, "tiny", 8, 2);
        let mut bytes = std::fs::read(b.join(file)).expect("read");
        bytes[3] ^= 1;
        std::fs::write(b.join(file), &bytes).expect("write");
        let e = verify_bundle(&dir, "tiny").expect_err("tampered");
        match &e {
            ClassifyError::Tampered {
                file: f,
                actual,
                source_of_truth,
                ..
            } => {
                assert_eq!(f, file);
                assert_eq!(*actual, sha256_hex(&bytes));
                assert_eq!(source_of_truth, "manifest.yaml");
            }
            other => panic!("want Tampered, got {other:?}"),
        }
        assert!(e.to_string().contains("refusing to load"), "{e}");
    }
}

#[test]
fn build_recorded_digests_are_checked_against_build_sha256() {
    let dir = temp_dir("lock");
    let b = write_test_bundle(&dir, "tiny", 8, 2);
    let manifest = std::fs::read_to_string(b.join("manifest.yaml")).expect("read");
    let model_sha = sha256_hex(&std::fs::read(b.join("model.onnx")).expect("read"));
    let m = manifest.replace(&format!("sha256: {model_sha}"), "sha256: build");
    std::fs::write(b.join("manifest.yaml"), m).expect("write");

    let e = verify_bundle(&dir, "tiny").expect_err("no build.sha256 yet");
    assert!(
        matches!(&e, ClassifyError::MissingFile { path, .. } if path.ends_with("build.sha256")),
        "{e}"
    );

    std::fs::write(b.join("build.sha256"), format!("{model_sha}  model.onnx\n")).expect("write");
    verify_bundle(&dir, "tiny").expect("verifies against the build record");

    std::fs::write(
        b.join("build.sha256"),
        format!("{}  model.onnx\n", "0".repeat(64)),
    )
    .expect("write");
    let e = verify_bundle(&dir, "tiny").expect_err("record differs");
    assert!(
        matches!(&e, ClassifyError::Tampered { source_of_truth, .. } if source_of_truth == "build.sha256"),
        "{e}"
    );
}

#[test]
fn missing_bundle_and_missing_file_say_how_to_fix() {
    let dir = temp_dir("missing");
    let e = verify_bundle(&dir, "nope").expect_err("no bundle");
    assert!(e.to_string().contains("scripts/setup.sh 40-models"), "{e}");
    let b = write_test_bundle(&dir, "tiny", 8, 2);
    std::fs::remove_file(b.join("model.onnx")).expect("rm");
    let e = verify_bundle(&dir, "tiny").expect_err("no model");
    assert!(
        matches!(&e, ClassifyError::MissingFile { path, .. } if path.ends_with("model.onnx")),
        "{e}"
    );
}

#[test]
fn invalid_manifests_name_the_field() {
    // (edit to the manifest, text the error must contain)
    let cases: &[(&str, &str, &str)] = &[
        (
            "upstream_model: test",
            "upstream_model: test\nweights_url: x",
            "unknown field `weights_url`",
        ),
        ("labels: [prompt_injection]", "labels: []", "field `labels`"),
        (
            "labels: [prompt_injection]",
            "labels: [\"bad label\"]",
            "label `bad label`",
        ),
        (
            "inputs: [input_ids, attention_mask]",
            "inputs: [attention_mask]",
            "`input_ids` is required",
        ),
        (
            "inputs: [input_ids, attention_mask]",
            "inputs: [input_ids, pixels]",
            "unknown variant `pixels`",
        ),
        (
            "window_overlap_tokens: 2",
            "window_overlap_tokens: 5",
            "field `window_overlap_tokens`",
        ),
        (
            "prompt_injection: 0.5",
            "prompt_injection: 1.5",
            "field `thresholds.prompt_injection`",
        ),
        ("name: tiny", "name: other", "does not match the directory"),
    ];
    for (from, to, want) in cases {
        let dir = temp_dir("invalid");
        let b = write_test_bundle(&dir, "tiny", 8, 2);
        let m = std::fs::read_to_string(b.join("manifest.yaml")).expect("read");
        assert!(m.contains(from), "fixture has {from}");
        std::fs::write(b.join("manifest.yaml"), m.replacen(from, to, 1)).expect("write");
        let e = verify_bundle(&dir, "tiny").expect_err(to);
        assert!(matches!(e, ClassifyError::Manifest { .. }), "{to}: {e:?}");
        assert!(e.to_string().contains(want), "{to}: {e}");
        assert!(e.to_string().contains("manifest.yaml"), "{to}: {e}");
    }
}

#[test]
fn a_tokenizer_of_another_vocabulary_is_refused_at_start_up() {
    let dir = temp_dir("tokmismatch");
    let b = write_test_bundle(&dir, "tiny", 8, 2);
    let m = std::fs::read_to_string(b.join("manifest.yaml")).expect("read");
    std::fs::write(
        b.join("manifest.yaml"),
        m.replace("vocab_size: 16", "vocab_size: 30522"),
    )
    .expect("write");
    let bundle = verify_bundle(&dir, "tiny").expect("digests still match");
    let e =
        ModelClassifier::with_backend(&bundle, TestBackend::new([], 1), &RuntimeConfig::default())
            .expect_err("vocabulary differs");
    assert!(matches!(e, ClassifyError::Tokenizer { .. }), "{e:?}");
    assert!(
        e.to_string().contains("16 tokens, the manifest says 30522"),
        "{e}"
    );
}
