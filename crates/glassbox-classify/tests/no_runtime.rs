//! Without an ONNX Runtime library, loading a classifier is a clear error, not a panic. (Its own
//! test binary: a process that has loaded the library keeps it.)

mod common;

use glassbox_classify::{ClassifierSet, ClassifyError, RuntimeConfig};
use glassbox_core::Policy;

#[test]
fn a_missing_runtime_library_is_a_clear_start_up_error() {
    let dir = common::temp_dir("noruntime");
    common::write_test_bundle(&dir, "tiny", 8, 2);
    let policy = Policy::from_yaml(
        "id: t\nclassifiers:\n  prompt_injection:\n    model: tiny\n",
        "t.yaml",
    )
    .expect("policy");
    let config = RuntimeConfig {
        ort_library: Some(dir.join("libonnxruntime.so.missing")),
        ..RuntimeConfig::default()
    };
    let e = ClassifierSet::load(&dir, &policy, &config).expect_err("no library");
    assert!(matches!(e, ClassifyError::Runtime { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("libonnxruntime.so.missing"), "{msg}");
    assert!(msg.contains("no such file"), "{msg}");
    assert!(msg.contains("scripts/setup.sh 40-models"), "{msg}");

    // A file that is not a shared library fails to load with the loader's reason.
    let bogus = dir.join("libonnxruntime.so.bogus");
    std::fs::write(&bogus, b"not a library").expect("write");
    let config = RuntimeConfig {
        ort_library: Some(bogus),
        ..RuntimeConfig::default()
    };
    let e = ClassifierSet::load(&dir, &policy, &config).expect_err("not a library");
    assert!(matches!(e, ClassifyError::Runtime { .. }), "{e:?}");

    // With on_error: open the classifier is left out and reported for the audit trail.
    let open = Policy::from_yaml(
        "id: t\non_error: open\nclassifiers:\n  prompt_injection:\n    model: tiny\n",
        "t.yaml",
    )
    .expect("policy");
    let config = RuntimeConfig {
        ort_library: Some(dir.join("missing.so")),
        ..RuntimeConfig::default()
    };
    let set = ClassifierSet::load_or_degrade(&dir, &open, &config).expect("degrades");
    assert!(set.is_empty());
    assert_eq!(set.degraded()[0].detector, "prompt_injection");
}
