//! The shipped policies that name classifiers parse, and name bundles that exist with the
//! classifier each bundle serves.

use std::path::Path;

use glassbox_classify::Manifest;
use glassbox_core::Policy;

#[test]
fn policies_name_existing_bundles_of_the_right_classifier() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("policies")).expect("policies dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("read");
        let policy =
            Policy::from_yaml(&src, &path.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
        for (name, c) in &policy.classifiers.0 {
            let mpath = root.join("models").join(&c.model).join("manifest.yaml");
            let msrc = std::fs::read_to_string(&mpath).unwrap_or_else(|_| {
                panic!(
                    "{}: classifier `{name}` names missing bundle `{}`",
                    path.display(),
                    c.model
                )
            });
            let m = Manifest::from_yaml(&msrc, &mpath).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                &m.classifier,
                name,
                "{}: bundle `{}`",
                path.display(),
                c.model
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "the misuse-risks policy names both classifiers"
    );
}
