//! The demo's client: sends a [`Case`] through the proxy the way an SDK would and reads the
//! answer back (JSON or SSE, OpenAI or Anthropic) into what a user would see.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client as HyperClient};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use super::Case;
use crate::proxy::ApiKind;

/// What a client received.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The answer text as assembled from the body (deltas concatenated).
    pub text: String,
    /// Whether the answer ended as a block (`content_filter`, an error event, or a refusal).
    pub blocked: bool,
    /// The error message, when the answer was an error.
    pub error: Option<String>,
    /// The whole body as received (for leak checks).
    pub raw: String,
}

impl Answer {
    /// One line for the table: the text (cut to `max` chars) and how it ended.
    pub fn summary(&self, max: usize) -> String {
        let text: String = self.text.replace('\n', " ");
        // Start near the first mask so the excerpt shows what glassbox did.
        let skip = match text.find("[REDACTED:") {
            Some(at) if max != usize::MAX => text[..at].chars().count().saturating_sub(20),
            _ => 0,
        };
        let lead = if skip > 0 { "…" } else { "" };
        let rest = text.chars().count() - skip;
        let cut: String = text.chars().skip(skip).take(max).collect();
        let ell = if rest > max { "…" } else { "" };
        let mut s = format!("\"{lead}{cut}{ell}\"");
        match (&self.error, self.blocked) {
            (Some(e), _) if self.status >= 400 => s = format!("HTTP {} error: {e}", self.status),
            (Some(_), true) => s.push_str(" [stopped: error event]"),
            (Some(e), false) => s.push_str(&format!(" [error: {e}]")),
            (None, true) => s.push_str(" [stopped: content_filter]"),
            (None, false) => {}
        }
        s
    }
}

/// A plain HTTP/1 client for the proxy.
#[derive(Debug, Clone)]
pub struct Client {
    addr: SocketAddr,
    http: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    /// A client for the proxy at `addr`.
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            http: HyperClient::builder(TokioExecutor::new()).build(HttpConnector::new()),
        }
    }

    /// Sends a case and reads the whole answer. Transport failures become an `error`.
    pub async fn ask(&self, case: &Case, request_id: &str) -> Answer {
        let (path, body) = match case.api {
            ApiKind::Openai => (
                "/v1/chat/completions",
                json!({
                    "model": case.model,
                    "stream": case.stream,
                    "stream_options": if case.stream { json!({"include_usage": true}) } else { Value::Null },
                    "messages": [{"role": "user", "content": case.prompt}],
                }),
            ),
            ApiKind::Anthropic => (
                "/v1/messages",
                json!({
                    "model": case.model,
                    "max_tokens": 256,
                    "stream": case.stream,
                    "messages": [{"role": "user", "content": case.prompt}],
                }),
            ),
        };
        let req = Request::post(format!("http://{}{path}", self.addr))
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-request-id", request_id)
            .header("anthropic-version", "2023-06-01")
            .body(Full::new(Bytes::from(body.to_string())));
        let req = match req {
            Ok(r) => r,
            Err(e) => return failed(0, e.to_string()),
        };
        let res = match self.http.request(req).await {
            Ok(r) => r,
            Err(e) => return failed(0, format!("request failed: {e}")),
        };
        let status = res.status().as_u16();
        let sse = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("text/event-stream"));
        let raw = match res.into_body().collect().await {
            Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
            Err(e) => return failed(status, format!("the answer broke off: {e}")),
        };
        let mut a = if sse {
            parse_sse(case.api, &raw)
        } else {
            parse_json(case.api, &raw)
        };
        a.status = status;
        a.raw = raw;
        if status >= 400 && a.error.is_none() {
            a.error = Some(format!("HTTP {status}"));
        }
        a
    }
}

fn failed(status: u16, e: String) -> Answer {
    Answer {
        status,
        error: Some(e),
        ..Answer::default()
    }
}

/// Reads a non-streamed answer.
pub fn parse_json(api: ApiKind, raw: &str) -> Answer {
    let mut a = Answer::default();
    let Ok(v) = serde_json::from_str::<Value>(raw) else {
        a.error = Some("the answer is not JSON".into());
        return a;
    };
    if let Some(e) = error_message(&v) {
        a.blocked = e.contains("block") || e.contains("polic");
        a.error = Some(e);
        return a;
    }
    match api {
        ApiKind::Openai => {
            a.text = v["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or("")
                .to_string();
            a.blocked = v["choices"][0]["finish_reason"] == "content_filter";
        }
        ApiKind::Anthropic => {
            a.text = v["content"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|b| b["text"].as_str())
                        .collect::<Vec<_>>()
                        .join("")
                })
                .unwrap_or_default();
            a.blocked = v["stop_reason"] == "refusal";
        }
    }
    a
}

fn error_message(v: &Value) -> Option<String> {
    v["error"]["message"]
        .as_str()
        .map(String::from)
        .or_else(|| v["error"].as_str().map(String::from))
}

/// Reads a streamed answer.
pub fn parse_sse(api: ApiKind, raw: &str) -> Answer {
    let mut a = Answer::default();
    for event in raw.split("\n\n") {
        let mut name = "";
        let mut data = String::new();
        for line in event.lines() {
            if let Some(n) = line.strip_prefix("event:") {
                name = n.trim();
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.trim_start());
            }
        }
        if data.is_empty() || data == "[DONE]" {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        if name == "error" || v["type"] == "error" || !v["error"].is_null() {
            a.blocked = true;
            a.error = error_message(&v).or_else(|| Some("error event".into()));
            continue;
        }
        match api {
            ApiKind::Openai => {
                if let Some(choices) = v["choices"].as_array() {
                    for c in choices {
                        if let Some(t) = c["delta"]["content"].as_str() {
                            a.text.push_str(t);
                        }
                        if c["finish_reason"] == "content_filter" {
                            a.blocked = true;
                        }
                    }
                }
            }
            ApiKind::Anthropic => {
                if let Some(t) = v["delta"]["text"].as_str() {
                    a.text.push_str(t);
                }
                if v["delta"]["stop_reason"] == "refusal" {
                    a.blocked = true;
                }
            }
        }
    }
    a
}
