//! Token logprobs never carry text that was not released as it is: streamed Chat Completions
//! and Completions at every split point, and whole JSON answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use glassbox_core::audit::MemorySink;
use glassbox_tower::ScreenLayer;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use tower::{Layer, ServiceExt};

/// The answer, cut into deltas so that the token spans three of them.
fn deltas() -> Vec<String> {
    vec![
        "Here is ".into(),
        "the token ".into(),
        TOKEN[..10].into(),
        TOKEN[10..25].into(),
        format!("{} for you", &TOKEN[25..]),
        ".".into(),
    ]
}

fn chat_entry(t: &str) -> Value {
    json!({"token": t, "logprob": -0.5, "bytes": t.as_bytes(), "top_logprobs": [{"token": t, "logprob": -0.5, "bytes": t.as_bytes()}]})
}

fn stream(completions: bool) -> Vec<u8> {
    let mut out = String::new();
    let ds = deltas();
    for (i, d) in ds.iter().enumerate() {
        // One token per character, so that a held-back end costs only its own tokens.
        let toks: Vec<String> = d.chars().map(String::from).collect();
        let finish = if i + 1 == ds.len() {
            json!("stop")
        } else {
            Value::Null
        };
        let choice = if completions {
            json!({"index": 0, "text": d, "logprobs": {"tokens": toks, "token_logprobs": toks.iter().map(|_| -0.5).collect::<Vec<_>>(), "top_logprobs": toks.iter().map(|t| json!({t.clone(): -0.5})).collect::<Vec<_>>(), "text_offset": (0..toks.len()).collect::<Vec<_>>()}, "finish_reason": finish})
        } else {
            json!({"index": 0, "delta": {"content": d}, "logprobs": {"content": toks.iter().map(|t| chat_entry(t)).collect::<Vec<_>>()}, "finish_reason": finish})
        };
        let v =
            json!({"id": "x", "object": "chunk", "created": 1, "model": "m", "choices": [choice]});
        out.push_str(&format!("data: {v}\n\n"));
    }
    out.push_str("data: [DONE]\n\n");
    out.into_bytes()
}

/// Per event: the text and the logprob tokens, joined.
fn text_and_tokens(v: &Value, completions: bool) -> (String, Option<String>) {
    let c = &v["choices"][0];
    let text = if completions {
        &c["text"]
    } else {
        &c["delta"]["content"]
    };
    let lp = &c["logprobs"];
    let tokens = if lp.is_null() {
        None
    } else if completions {
        let t = lp["tokens"].as_array().unwrap();
        for k in ["token_logprobs", "top_logprobs", "text_offset"] {
            assert_eq!(
                lp[k].as_array().unwrap().len(),
                t.len(),
                "{k} cut with tokens"
            );
        }
        Some(t.iter().map(|t| t.as_str().unwrap()).collect())
    } else {
        let entries = lp["content"].as_array().unwrap();
        for e in entries {
            let bytes: Vec<u8> = e["bytes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().unwrap() as u8)
                .collect();
            assert_eq!(bytes, e["token"].as_str().unwrap().as_bytes());
        }
        Some(
            entries
                .iter()
                .map(|e| e["token"].as_str().unwrap())
                .collect(),
        )
    };
    (text.as_str().unwrap_or("").to_string(), tokens)
}

#[test]
fn streamed_logprobs_keep_only_released_tokens_at_every_split_point() {
    for (path, completions) in [("/v1/chat/completions", false), ("/v1/completions", true)] {
        let input = stream(completions);
        block_on(async {
            for cut in 0..=input.len() {
                let ctx = format!("{path} cut at {cut}");
                let (out, _) =
                    run_stream(secrets_only_engine(), path, ChunkBody::new(&input, &[cut])).await;
                assert_no_run_of(TOKEN, &out, 6, &ctx);
                let mut text = String::new();
                let mut with_tokens = 0;
                for (_, data) in decode(&out) {
                    let Ok(v) = serde_json::from_str::<Value>(&data) else {
                        continue;
                    };
                    let (t, tokens) = text_and_tokens(&v, completions);
                    if let Some(tokens) = tokens {
                        assert!(
                            t.starts_with(&tokens),
                            "{ctx}: tokens {tokens:?} not a prefix of {t:?}"
                        );
                        with_tokens += usize::from(!tokens.is_empty());
                    }
                    text.push_str(&t);
                }
                assert_eq!(
                    text, "Here is the token [REDACTED:secret.github_token] for you.",
                    "{ctx}"
                );
                // The first event (nothing held before it) keeps the tokens it released; later ones
                // start with text held from the event before, so theirs do not line up.
                assert!(
                    with_tokens >= 1,
                    "{ctx}: {with_tokens} events kept logprobs"
                );
            }
        });
    }
}

/// One whole answer through the layer.
async fn whole(path: &str, body: Value) -> Value {
    let sink = Arc::new(MemorySink::default());
    let layer = ScreenLayer::new(mask_engine())
        .audit_sink(sink)
        .on_decision(());
    let inner = tower::service_fn(move |_req: Request<Full<Bytes>>| {
        let b = body.to_string();
        async move {
            Ok::<_, Infallible>(
                Response::builder()
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(b)))
                    .unwrap(),
            )
        }
    });
    let req = Request::post(path)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(request_body(path, false))))
        .unwrap();
    let res = layer.layer(inner).oneshot(req).await.unwrap();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert!(
        !String::from_utf8_lossy(&bytes).contains(&TOKEN[..12]),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn whole_answers_keep_only_released_tokens() {
    let ds = deltas();
    let full: String = ds.concat();
    block_on(async {
        let chat = json!({"id": "x", "object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": full}, "logprobs": {"content": ds.iter().map(|d| chat_entry(d)).collect::<Vec<_>>()}, "finish_reason": "stop"},
            {"index": 1, "message": {"role": "assistant", "content": "Here is nothing."}, "logprobs": {"content": [chat_entry("Here is"), chat_entry(" nothing.")], "x": 1}, "finish_reason": "stop"}]});
        let out = whole("/v1/chat/completions", chat.clone()).await;
        let tokens: Vec<&str> = out["choices"][0]["logprobs"]["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["token"].as_str().unwrap())
            .collect();
        assert_eq!(tokens, ["Here is ", "the token "]);
        // A clean choice keeps its logprobs as they were, unknown members included.
        assert_eq!(
            out["choices"][1]["logprobs"],
            chat["choices"][1]["logprobs"]
        );

        let comp = json!({"id": "x", "object": "text_completion", "choices": [
            {"index": 0, "text": full, "logprobs": {"tokens": ds, "token_logprobs": ds.iter().map(|_| -0.5).collect::<Vec<_>>(), "top_logprobs": ds.iter().map(|d| json!({d.clone(): -0.5})).collect::<Vec<_>>(), "text_offset": (0..ds.len()).collect::<Vec<_>>()}, "finish_reason": "stop"}]});
        let out = whole("/v1/completions", comp).await;
        let lp = &out["choices"][0]["logprobs"];
        assert_eq!(lp["tokens"], json!(["Here is ", "the token "]));
        assert_eq!(lp["text_offset"], json!([0, 1]));
    });
}
