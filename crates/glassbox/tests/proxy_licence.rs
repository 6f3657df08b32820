//! The served model's licence is checked before a request is forwarded: a model whose licence
//! the policy blocks gets 403 in the API's error shape (the upstream never sees it), an allowed
//! one is forwarded, and the licence is recorded with the decision.

mod proxy_support;

use glassbox_core::audit::Direction;
use proxy_support::*;

#[tokio::test]
async fn model_licence_is_checked_before_forwarding() {
    let policy = format!(
        "{}/../../policies/licence-compliance.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let h = start_yaml(&format!(
        "upstreams:\n  mock:\n    url: {{MOCK}}\npolicies:\n  default: {policy}\n"
    ))
    .await;

    // Mistral's research licence is non-commercial: blocked before the upstream is called.
    let got = post_json(
        &h,
        "/v1/chat/completions",
        &[],
        &chat("mistral-large-2407", false, "hi"),
    )
    .await;
    assert_eq!(got.status, 403, "{}", got.text());
    let err = got.json();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("LicenseRef-Mistral"),
        "{err}"
    );

    // Qwen2.5-7B is Apache-2.0: forwarded, and the licence is on the record.
    let got = post_json(
        &h,
        "/v1/chat/completions",
        &[],
        &chat("Qwen/Qwen2.5-7B-Instruct", false, "hi"),
    )
    .await;
    assert_eq!(got.status, 200, "{}", got.text());
    let events = h.sink.events();
    let blocked = events
        .iter()
        .find(|e| e.model.as_deref() == Some("mistral-large-2407"))
        .unwrap_or_else(|| panic!("the refused request is recorded: {events:#?}"));
    assert_eq!(blocked.direction, Direction::ModelCheck);
    assert_eq!(blocked.findings[0].category, "model_license.refused");
    assert!(
        blocked
            .model_licence
            .as_deref()
            .unwrap_or("")
            .starts_with("LicenseRef-Mistral"),
        "{blocked:?}"
    );
    let allowed = events
        .iter()
        .find(|e| {
            e.direction == Direction::Request
                && e.model.as_deref() == Some("Qwen/Qwen2.5-7B-Instruct")
        })
        .expect("the forwarded request is recorded");
    assert_eq!(allowed.model_licence.as_deref(), Some("Apache-2.0"));

    // Decisions are cached per policy, tenant and model: asking again gives the same answers.
    for _ in 0..2 {
        let again = post_json(
            &h,
            "/v1/chat/completions",
            &[],
            &chat("mistral-large-2407", false, "hi"),
        )
        .await;
        assert_eq!(again.status, 403, "{}", again.text());
        assert_eq!(again.json()["error"]["message"], err["error"]["message"]);
        let again = post_json(
            &h,
            "/v1/chat/completions",
            &[],
            &chat("Qwen/Qwen2.5-7B-Instruct", false, "hi"),
        )
        .await;
        assert_eq!(again.status, 200, "{}", again.text());
    }
    let licences: Vec<_> = h
        .sink
        .events()
        .iter()
        .filter(|e| e.model.as_deref() == Some("Qwen/Qwen2.5-7B-Instruct"))
        .filter(|e| e.direction == Direction::Request)
        .map(|e| e.model_licence.clone())
        .collect();
    assert_eq!(licences, vec![Some("Apache-2.0".to_string()); 3]);
}
