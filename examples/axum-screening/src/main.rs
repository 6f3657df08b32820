//! An axum service wrapped in glassbox-tower's `ScreenLayer`.
//!
//! Run with:
//!
//! ```sh
//! cargo run -p axum-screening
//! ```
//!
//! It serves a stand-in model at `127.0.0.1:3000` (override with `LISTEN=host:port`) whose
//! `POST /v1/chat/completions` answers, streamed or not, contain a GitHub token split across
//! SSE events. Try:
//!
//! ```sh
//! curl -N localhost:3000/v1/chat/completions -H 'content-type: application/json' \
//!   -d '{"model":"demo","stream":true,"messages":[{"role":"user","content":"hi"}]}'
//! curl -i localhost:3000/v1/chat/completions -H 'content-type: application/json' \
//!   -d '{"model":"demo","messages":[{"role":"user","content":"about Project Nightingale"}]}'
//! ```
//!
//! The first prints the stream with the token replaced by `[REDACTED:secret.github_token]`;
//! the second is refused with 400 in OpenAI's error shape. Each decision is printed.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use glassbox_core::{DecisionEvent, Detector, Engine, Family, Policy};
use glassbox_patterns::{keywords, Rule, RuleSet};
use glassbox_tower::ScreenLayer;
use http_body::Frame;

const TOKEN: &str = "ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw";

/// The default policy with two secret rules and its keyword lists.
fn engine() -> Engine {
    let policy = Policy::default_policy();
    let mut rules = vec![
        Rule::new(
            Family::Secret,
            "github_token",
            r"(?-u:\b)ghp_[A-Za-z0-9]{36}(?-u:\b)",
        ),
        Rule::new(
            Family::Secret,
            "aws_access_key_id",
            r"(?-u:\b)(?:AKIA|ASIA)[A-Z2-7]{16}(?-u:\b)",
        )
        .reject_placeholders(),
    ];
    rules.extend(keywords::rules(&policy.keywords));
    #[allow(clippy::expect_used)]
    let set: Arc<dyn Detector> =
        Arc::new(RuleSet::compile("patterns", rules).expect("the example's rules compile"));
    Engine::new(Arc::new(policy), vec![set])
}

/// A stand-in model: streams (or returns) an answer holding a token.
async fn chat(Json(req): Json<serde_json::Value>) -> Response {
    let pieces = [
        "Here is the deploy token: ",
        &TOKEN[..10],
        &TOKEN[10..25],
        &TOKEN[25..],
        ". Keep it safe.",
    ];
    let chunk = |content: &str, finish: Option<&str>| {
        let v = serde_json::json!({
            "id": "chatcmpl-demo", "object": "chat.completion.chunk", "created": 0,
            "model": "demo", "choices": [{"index": 0, "delta": {"content": content},
            "finish_reason": finish}]
        });
        format!("data: {v}\n\n")
    };
    if req["stream"] == true {
        let mut events: Vec<String> = pieces.iter().map(|p| chunk(p, None)).collect();
        events.push(chunk("", Some("stop")));
        events.push("data: [DONE]\n\n".into());
        let (tx, rx) = tokio::sync::mpsc::channel::<String>(4);
        tokio::spawn(async move {
            for e in events {
                tokio::time::sleep(Duration::from_millis(150)).await;
                if tx.send(e).await.is_err() {
                    return;
                }
            }
        });
        let body = Body::new(Channel(rx));
        return ([("content-type", "text/event-stream")], body).into_response();
    }
    Json(serde_json::json!({
        "id": "chatcmpl-demo", "object": "chat.completion", "created": 0, "model": "demo",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": pieces.concat()},
        "finish_reason": "stop"}]
    }))
    .into_response()
}

/// A body fed by a channel, one frame per message (an upstream that streams slowly).
struct Channel(tokio::sync::mpsc::Receiver<String>);

impl http_body::Body for Channel {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|m| m.map(|s| Ok(Frame::data(Bytes::from(s)))))
    }
}

/// The app: the model behind the screening layer.
fn app() -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .layer(ScreenLayer::new(engine()).on_decision(|e: &DecisionEvent| {
            let cats: Vec<&str> = e.findings.iter().map(|f| f.category.as_str()).collect();
            println!(
                "{:?} {} verdict={} outcome={:?} categories={cats:?} screened={}B max_holdback={}B",
                e.direction,
                e.route,
                e.verdict,
                e.outcome,
                e.coverage.bytes_screened,
                e.coverage.max_holdback
            );
        }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("axum-screening listening on http://{addr}");
    axum::serve(listener, app()).await
}
