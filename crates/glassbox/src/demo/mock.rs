//! A mock model server on a loopback port: OpenAI `/v1/chat/completions` and Anthropic
//! `/v1/messages` (JSON and SSE), `/v1/models`, `/v1/embeddings`; answers from a fixed set of
//! scenarios (secrets, PII, a licence header, a blocked keyword), streamed in small deltas that
//! cut through the secrets; upstream flavours (vLLM, llama.cpp, Ollama) and fault modes.
//!
//! Per request, headers (or the model name) choose:
//! - `x-mock-scenario`: `plain | secrets | pii | license | blocked` (default: from the prompt's
//!   words, see [`Scenario::from_prompt`]);
//! - `x-mock-flavour` or a model name starting with `vllm`, `llamacpp` or `ollama`: the chunk
//!   shapes of that server (extra fields, usage chunks, `logprobs`, missing fields);
//! - `x-mock-fault` or a model name `fault-<mode>`: `slow` (headers after `x-mock-delay-ms`,
//!   default 3000), `stall` (one chunk, then silence), `reset` (connection cut inside an
//!   event), `reset-boundary` (cut between events), `non-json` (200 text/html), `status-500`
//!   (500 text/plain), `error-json` (429 in the API's error shape);
//! - `x-mock-chunk-delay-ms`: a pause before each streamed event (default none).
//!
//! Everything is deterministic: same request, same bytes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::routing::{get, post};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use http_body::Frame;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Bytes of answer text per streamed delta: small, like real tokens, so every secret is cut.
pub const DELTA_BYTES: usize = 6;

/// Fixed `created` timestamp (determinism).
const CREATED: u64 = 1_764_000_000;

/// What the mock answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A harmless answer.
    Plain,
    /// An AWS access key id and a GitHub token in a config snippet.
    Secrets,
    /// An e-mail address, a phone number and a card number.
    Pii,
    /// Code under a GPL header with an SPDX tag.
    License,
    /// Mentions the default policy's blocked term.
    Blocked,
}

impl Scenario {
    /// All scenarios.
    pub const ALL: [Scenario; 5] = [
        Scenario::Plain,
        Scenario::Secrets,
        Scenario::Pii,
        Scenario::License,
        Scenario::Blocked,
    ];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Plain => "plain",
            Scenario::Secrets => "secrets",
            Scenario::Pii => "pii",
            Scenario::License => "license",
            Scenario::Blocked => "blocked",
        }
    }

    /// By name.
    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|x| x.name() == s)
    }

    /// Picks a scenario from the prompt's words (case-insensitive): `key`, `token`, `secret`,
    /// `config` → secrets; `contact`, `email`, `phone`, `customer` → PII; `code`, `licen` →
    /// licence; `roadmap`, `nightingale` → blocked; anything else plain.
    pub fn from_prompt(prompt: &str) -> Scenario {
        let p = prompt.to_lowercase();
        let has = |ws: &[&str]| ws.iter().any(|w| p.contains(w));
        if has(&["roadmap", "nightingale"]) {
            Scenario::Blocked
        } else if has(&["key", "token", "secret", "config"]) {
            Scenario::Secrets
        } else if has(&["contact", "email", "phone", "customer"]) {
            Scenario::Pii
        } else if has(&["code", "licen"]) {
            Scenario::License
        } else {
            Scenario::Plain
        }
    }

    /// The answer text.
    pub fn text(self) -> &'static str {
        match self {
            Scenario::Plain => {
                "glassbox sits between your application and the model server. It screens \
                 prompts and answers as they stream and records every decision."
            }
            Scenario::Secrets => {
                "Here is the deployment config you asked for:\n\n\
                 AWS_ACCESS_KEY_ID=AKIA2OGYBAH6TKXB3XLM\n\
                 GITHUB_TOKEN=ghp_R8xKq2mZ7vT4nW9pL3sY6bC1dF5gH0jE2aQk\n\n\
                 Rotate both after the migration."
            }
            Scenario::Pii => {
                "You can reach Maria Lopez at maria.lopez@northwind-mail.com or on \
                 +44 20 7946 0958. The card on file is 4539 1488 0343 6467."
            }
            Scenario::License => {
                "Here is a helper you can adapt:\n\n```c\n\
                 // SPDX-License-Identifier: GPL-3.0-only\n\
                 // This program is free software: you can redistribute it and/or modify it\n\
                 // under the terms of the GNU General Public License as published by the Free\n\
                 // Software Foundation, version 3.\n\
                 int add(int a, int b) { return a + b; }\n```"
            }
            Scenario::Blocked => {
                "The plan for Project Nightingale starts in March: first the data migration, \
                 then the launch."
            }
        }
    }
}

/// The chunk shapes of a model server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// OpenAI's own shapes.
    Openai,
    /// vLLM: `stop_reason`, `logprobs` objects, usage chunk with `prompt_tokens_details`.
    Vllm,
    /// llama.cpp server: `timings`, `content: null` in the first delta.
    Llamacpp,
    /// Ollama: role in every delta, `fp_ollama`, no `logprobs` field.
    Ollama,
}

impl Flavour {
    fn pick(headers: &HeaderMap, model: &str) -> Flavour {
        let h = header_str(headers, "x-mock-flavour").unwrap_or(model);
        if h.starts_with("vllm") {
            Flavour::Vllm
        } else if h.starts_with("llamacpp") || h.starts_with("llama.cpp") {
            Flavour::Llamacpp
        } else if h.starts_with("ollama") {
            Flavour::Ollama
        } else {
            Flavour::Openai
        }
    }
}

/// The fault modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Slow,
    Stall,
    Reset,
    ResetBoundary,
    NonJson,
    Status500,
    ErrorJson,
}

impl Fault {
    fn pick(headers: &HeaderMap, model: &str) -> Option<Fault> {
        let name = header_str(headers, "x-mock-fault").or_else(|| model.strip_prefix("fault-"))?;
        Some(match name {
            "slow" => Fault::Slow,
            "stall" => Fault::Stall,
            "reset" => Fault::Reset,
            "reset-boundary" => Fault::ResetBoundary,
            "non-json" => Fault::NonJson,
            "status-500" => Fault::Status500,
            "error-json" => Fault::ErrorJson,
            _ => return None,
        })
    }
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The mock's routes.
pub fn router() -> axum::Router {
    axum::Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/messages", post(messages))
        .route("/v1/models", get(models))
        .route("/v1/embeddings", post(embeddings))
        .route("/health", get(|| async { "ok" }))
}

/// A running mock server.
#[derive(Debug)]
pub struct MockUpstream {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl MockUpstream {
    /// Starts on `127.0.0.1:0` (an ephemeral port).
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start() -> std::io::Result<MockUpstream> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        Ok(MockUpstream::serve(listener))
    }

    /// Serves on `listener`.
    pub fn serve(listener: TcpListener) -> MockUpstream {
        #[allow(clippy::unwrap_used)] // a bound listener has an address
        let addr = listener
            .local_addr()
            .unwrap_or_else(|_| ([127, 0, 0, 1], 0).into());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let listener =
                axum::serve::ListenerExt::tap_io(listener, crate::proxy::server::set_nodelay);
            let _ = axum::serve(listener, router())
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        MockUpstream {
            addr,
            stop: Some(tx),
            task,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
        self.task.abort();
    }
}

// === request parsing ===

struct Asked {
    model: String,
    stream: bool,
    include_usage: bool,
    logprobs: bool,
    prompt: String,
    scenario: Scenario,
    flavour: Flavour,
    fault: Option<Fault>,
    delay: Duration,
    chunk_delay: Option<Duration>,
}

async fn read(req: Request) -> Result<(HeaderMap, Value), Response<Body>> {
    let (parts, body) = req.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|_| plain(StatusCode::BAD_REQUEST, "unreadable body"))?
        .to_bytes();
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| plain(StatusCode::BAD_REQUEST, &format!("mock: bad JSON: {e}")))?;
    Ok((parts.headers, v))
}

fn asked(headers: &HeaderMap, v: &Value) -> Asked {
    let model = v["model"].as_str().unwrap_or("mock-model").to_string();
    let prompt = prompt_text(v);
    let scenario = header_str(headers, "x-mock-scenario")
        .and_then(Scenario::parse)
        .unwrap_or_else(|| Scenario::from_prompt(&prompt));
    let delay = header_str(headers, "x-mock-delay-ms")
        .and_then(|d| d.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_millis(3000));
    let chunk_delay = header_str(headers, "x-mock-chunk-delay-ms")
        .and_then(|d| d.parse().ok())
        .map(Duration::from_millis);
    Asked {
        chunk_delay,
        flavour: Flavour::pick(headers, &model),
        fault: Fault::pick(headers, &model),
        stream: v["stream"].as_bool().unwrap_or(false),
        include_usage: v["stream_options"]["include_usage"]
            .as_bool()
            .unwrap_or(false),
        logprobs: v["logprobs"].as_bool().unwrap_or(false),
        model,
        prompt,
        scenario,
        delay,
    }
}

/// The last user message's text (string content or text parts).
fn prompt_text(v: &Value) -> String {
    let Some(msgs) = v["messages"].as_array() else {
        return v["prompt"].as_str().unwrap_or("").to_string();
    };
    let Some(last) = msgs.iter().rev().find(|m| m["role"] == "user") else {
        return String::new();
    };
    match &last["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Splits text into deltas of about [`DELTA_BYTES`] on character boundaries.
pub fn deltas(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let mut end = (at + DELTA_BYTES).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(&text[at..end]);
        at = end;
    }
    out
}

fn tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

// === faults ===

/// A fault that answers before any normal body; `None` to go on (possibly with a stream fault).
async fn early_fault(a: &Asked, anthropic: bool) -> Option<Response<Body>> {
    match a.fault? {
        Fault::Slow => {
            tokio::time::sleep(a.delay).await;
            None
        }
        Fault::NonJson => {
            let mut r = Response::new(Body::from("<html><body>502 Bad Gateway</body></html>"));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            Some(r)
        }
        Fault::Status500 => Some(plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        )),
        Fault::ErrorJson => {
            let body = if anthropic {
                json!({"type": "error", "error": {"type": "rate_limit_error", "message": "mock: slow down"}})
            } else {
                json!({"error": {"message": "mock: slow down", "type": "rate_limit_error", "param": null, "code": "rate_limit_exceeded"}})
            };
            let mut r = json_response(&body);
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            Some(r)
        }
        Fault::Stall | Fault::Reset | Fault::ResetBoundary => None,
    }
}

fn plain(status: StatusCode, msg: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(msg.to_string()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

fn json_response(v: &Value) -> Response<Body> {
    let mut r = Response::new(Body::from(v.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

// === streamed bodies ===

/// A body fed by a channel: `Err` items cut the connection (a reset).
struct ChannelBody(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }
}

/// Streams `events` (already framed), applying a stream fault.
fn sse(events: Vec<String>, fault: Option<Fault>, pause: Option<Duration>) -> Response<Body> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let n = events.len();
        for (i, ev) in events.into_iter().enumerate() {
            match fault {
                Some(Fault::Stall) if i == 2 => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                }
                Some(Fault::Reset) if i == n / 2 => {
                    let half = &ev.as_bytes()[..ev.len() / 2];
                    let _ = tx.send(Ok(Bytes::copy_from_slice(half))).await;
                    // Let the server flush what was sent before the cut.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = tx.send(Err(reset())).await;
                    return;
                }
                Some(Fault::ResetBoundary) if i == n / 2 => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = tx.send(Err(reset())).await;
                    return;
                }
                _ => {}
            }
            if let Some(p) = pause {
                tokio::time::sleep(p).await;
            }
            if tx.send(Ok(Bytes::from(ev))).await.is_err() {
                return;
            }
        }
    });
    let mut r = Response::new(Body::new(ChannelBody(rx)));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn reset() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "mock: reset mid-stream",
    )
}

// === OpenAI ===

async fn chat(req: Request) -> Response<Body> {
    let (headers, v) = match read(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let a = asked(&headers, &v);
    if let Some(r) = early_fault(&a, false).await {
        return r;
    }
    let text = a.scenario.text();
    let id = format!("chatcmpl-mock-{}", a.scenario.name());
    if a.stream {
        sse(openai_events(&a, &id, text), a.fault, a.chunk_delay)
    } else {
        json_response(&openai_json(&a, &id, text))
    }
}

fn openai_json(a: &Asked, id: &str, text: &str) -> Value {
    let (p, c) = (tokens(&a.prompt).max(1), tokens(text));
    let mut choice = json!({
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "logprobs": null,
        "finish_reason": "stop",
    });
    let mut v = json!({
        "id": id, "object": "chat.completion", "created": CREATED, "model": a.model,
        "choices": [],
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
    });
    match a.flavour {
        Flavour::Openai => {
            v["system_fingerprint"] = json!("fp_mock");
            choice["message"]["refusal"] = Value::Null;
        }
        Flavour::Vllm => {
            choice["stop_reason"] = Value::Null;
            choice["message"]["tool_calls"] = json!([]);
            choice["message"]["reasoning_content"] = Value::Null;
            v["prompt_logprobs"] = Value::Null;
            v["usage"]["prompt_tokens_details"] = Value::Null;
            if a.logprobs {
                choice["logprobs"] = logprobs(text);
            }
        }
        Flavour::Llamacpp => {
            v["system_fingerprint"] = json!("b4600-mock");
            v["timings"] = timings(p, c);
            if let Some(o) = choice.as_object_mut() {
                o.remove("logprobs");
            }
        }
        Flavour::Ollama => {
            v["system_fingerprint"] = json!("fp_ollama");
            if let Some(o) = choice.as_object_mut() {
                o.remove("logprobs");
            }
        }
    }
    v["choices"] = json!([choice]);
    v
}

fn logprobs(text: &str) -> Value {
    let content: Vec<Value> = deltas(text)
        .into_iter()
        .map(|t| json!({"token": t, "logprob": -0.25, "bytes": t.as_bytes(), "top_logprobs": []}))
        .collect();
    json!({ "content": content })
}

fn timings(p: u64, c: u64) -> Value {
    json!({
        "prompt_n": p, "prompt_ms": 12.5, "prompt_per_token_ms": 1.2, "prompt_per_second": 800.0,
        "predicted_n": c, "predicted_ms": 240.0, "predicted_per_token_ms": 8.0,
        "predicted_per_second": 125.0,
    })
}

fn openai_events(a: &Asked, id: &str, text: &str) -> Vec<String> {
    let (p, c) = (tokens(&a.prompt).max(1), tokens(text));
    let chunk = |choices: Value| {
        let mut v = json!({
            "id": id, "object": "chat.completion.chunk", "created": CREATED, "model": a.model,
            "choices": choices,
        });
        match a.flavour {
            Flavour::Openai => v["system_fingerprint"] = json!("fp_mock"),
            Flavour::Llamacpp => v["system_fingerprint"] = json!("b4600-mock"),
            Flavour::Ollama => v["system_fingerprint"] = json!("fp_ollama"),
            Flavour::Vllm => {}
        }
        v
    };
    let choice = |delta: Value, finish: Value, lp: Option<Value>| {
        let mut c = json!({"index": 0, "delta": delta, "finish_reason": finish});
        match a.flavour {
            Flavour::Openai => c["logprobs"] = Value::Null,
            Flavour::Vllm => {
                c["logprobs"] = lp.unwrap_or(Value::Null);
                c["stop_reason"] = Value::Null;
            }
            Flavour::Llamacpp | Flavour::Ollama => {}
        }
        c
    };
    let mut out = Vec::new();
    let first = match a.flavour {
        Flavour::Llamacpp => json!({"role": "assistant", "content": null}),
        _ => json!({"role": "assistant", "content": ""}),
    };
    if a.flavour != Flavour::Ollama {
        out.push(chunk(json!([choice(first, Value::Null, None)])));
    }
    for d in deltas(text) {
        let delta = match a.flavour {
            Flavour::Ollama => json!({"role": "assistant", "content": d}),
            _ => json!({"content": d}),
        };
        let lp = (a.logprobs && a.flavour == Flavour::Vllm).then(|| logprobs(d));
        out.push(chunk(json!([choice(delta, Value::Null, lp)])));
    }
    let last_delta = match a.flavour {
        Flavour::Ollama => json!({"role": "assistant", "content": ""}),
        _ => json!({}),
    };
    let mut last = chunk(json!([choice(last_delta, json!("stop"), None)]));
    if a.flavour == Flavour::Llamacpp {
        last["timings"] = timings(p, c);
    }
    out.push(last);
    if a.include_usage {
        let mut u = chunk(json!([]));
        u["usage"] = json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c});
        if a.flavour == Flavour::Vllm {
            u["usage"]["prompt_tokens_details"] = Value::Null;
        }
        out.push(u);
    }
    let mut events: Vec<String> = out.into_iter().map(|v| format!("data: {v}\n\n")).collect();
    events.push("data: [DONE]\n\n".to_string());
    events
}

// === Anthropic ===

async fn messages(req: Request) -> Response<Body> {
    let (headers, v) = match read(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let a = asked(&headers, &v);
    if let Some(r) = early_fault(&a, true).await {
        return r;
    }
    let text = a.scenario.text();
    let id = format!("msg_mock_{}", a.scenario.name());
    let (p, c) = (tokens(&a.prompt).max(1), tokens(text));
    if !a.stream {
        return json_response(&json!({
            "id": id, "type": "message", "role": "assistant", "model": a.model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": p, "output_tokens": c},
        }));
    }
    let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let mut events = vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": a.model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": p, "output_tokens": 1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ev("ping", json!({"type": "ping"})),
    ];
    for d in deltas(text) {
        events.push(ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}}),
        ));
    }
    events.push(ev(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(ev(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": c}}),
    ));
    events.push(ev("message_stop", json!({"type": "message_stop"})));
    sse(events, a.fault, a.chunk_delay)
}

// === pass-through endpoints ===

async fn models() -> Response<Body> {
    json_response(&json!({
        "object": "list",
        "data": [
            {"id": "mock-llama-3.1-8b-instruct", "object": "model", "created": CREATED, "owned_by": "glassbox-mock"},
            {"id": "mock-mistral-7b-instruct", "object": "model", "created": CREATED, "owned_by": "glassbox-mock"},
        ]
    }))
}

async fn embeddings(req: Request) -> Result<Response<Body>, Infallible> {
    let (_, v) = match read(req).await {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let input = match &v["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    let data: Vec<Value> = input
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let n = s.len() as f64;
            json!({"object": "embedding", "index": i, "embedding": [n / 100.0, 0.5, -0.25]})
        })
        .collect();
    Ok(json_response(&json!({
        "object": "list", "data": data, "model": v["model"],
        "usage": {"prompt_tokens": input.len(), "total_tokens": input.len()},
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_cut_every_secret() {
        let text = Scenario::Secrets.text();
        let ds = deltas(text);
        assert_eq!(ds.concat(), text);
        for secret in [
            "AKIA2OGYBAH6TKXB3XLM",
            "ghp_R8xKq2mZ7vT4nW9pL3sY6bC1dF5gH0jE2aQk",
        ] {
            assert!(ds.iter().all(|d| !d.contains(secret)));
        }
    }

    #[test]
    fn prompts_pick_scenarios() {
        for (p, s) in [
            ("What is our roadmap?", Scenario::Blocked),
            ("Show me the deploy config", Scenario::Secrets),
            ("How do I contact the customer?", Scenario::Pii),
            ("Write me some code", Scenario::License),
            ("Hello", Scenario::Plain),
        ] {
            assert_eq!(Scenario::from_prompt(p), s, "{p}");
        }
    }
}
