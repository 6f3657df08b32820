//! The LLM APIs the layer understands: which routes, where their text lives in requests and
//! non-streamed responses, and each API's own error shape.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

use crate::json_span::{Path, Seg};

/// A screened API, chosen by the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// OpenAI `POST /v1/chat/completions` (and every OpenAI-compatible server).
    ChatCompletions,
    /// OpenAI legacy `POST /v1/completions`.
    Completions,
    /// OpenAI `POST /v1/responses`.
    Responses,
    /// Anthropic `POST /v1/messages`.
    Messages,
}

impl Api {
    /// The API for a request path (`/v1/chat/completions`, also under a prefix such as
    /// `/openai/v1/chat/completions`; a trailing `/` is ignored), or `None` when the path is not
    /// screened.
    pub fn from_path(path: &str) -> Option<Api> {
        let p = path.strip_suffix('/').unwrap_or(path);
        [
            ("/v1/chat/completions", Api::ChatCompletions),
            ("/v1/completions", Api::Completions),
            ("/v1/responses", Api::Responses),
            ("/v1/messages", Api::Messages),
        ]
        .into_iter()
        .find(|(route, _)| p.ends_with(route))
        .map(|(_, api)| api)
    }

    /// The canonical route, as recorded in the audit trail.
    pub fn route(self) -> &'static str {
        match self {
            Api::ChatCompletions => "/v1/chat/completions",
            Api::Completions => "/v1/completions",
            Api::Responses => "/v1/responses",
            Api::Messages => "/v1/messages",
        }
    }

    /// Whether errors take Anthropic's shape.
    pub fn is_anthropic(self) -> bool {
        self == Api::Messages
    }
}

/// What kind of error the layer answers with; mapped to each API's `type`/`code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// Policy blocked the content.
    Blocked,
    /// The model gate refused the model.
    ModelRefused,
    /// The body was too large.
    TooLarge,
    /// The body was not UTF-8 / not JSON / unreadable.
    BadRequest,
    /// A detector failed under `on_error: closed`, or the upstream answer could not be screened.
    Screening,
    /// The upstream failed.
    Upstream,
}

impl ErrorKind {
    pub(crate) fn status(self) -> StatusCode {
        match self {
            ErrorKind::Blocked | ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::ModelRefused => StatusCode::FORBIDDEN,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Screening => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
        }
    }

    fn openai(self) -> (&'static str, &'static str) {
        match self {
            ErrorKind::Blocked => ("invalid_request_error", "content_filter"),
            ErrorKind::ModelRefused => ("invalid_request_error", "model_not_allowed"),
            ErrorKind::TooLarge => ("invalid_request_error", "request_too_large"),
            ErrorKind::BadRequest => ("invalid_request_error", "invalid_body"),
            ErrorKind::Screening => ("server_error", "screening_failed"),
            ErrorKind::Upstream => ("server_error", "upstream_error"),
        }
    }

    fn anthropic(self) -> &'static str {
        match self {
            ErrorKind::Blocked | ErrorKind::BadRequest => "invalid_request_error",
            ErrorKind::ModelRefused => "permission_error",
            ErrorKind::TooLarge => "request_too_large",
            ErrorKind::Screening | ErrorKind::Upstream => "api_error",
        }
    }
}

/// The error body in the API's own shape: OpenAI `{"error":{"message","type","param","code"}}`,
/// Anthropic `{"type":"error","error":{"type","message"}}`.
pub(crate) fn error_body(api: Api, kind: ErrorKind, message: &str) -> Value {
    if api.is_anthropic() {
        serde_json::json!({
            "type": "error",
            "error": { "type": kind.anthropic(), "message": message },
        })
    } else {
        let (ty, code) = kind.openai();
        serde_json::json!({
            "error": { "message": message, "type": ty, "param": null, "code": code },
        })
    }
}

/// An error response in the API's shape, with `x-glassbox-verdict` when given.
pub(crate) fn error_response<B: From<Bytes>>(
    api: Api,
    kind: ErrorKind,
    message: &str,
    verdict: Option<&'static str>,
) -> Response<B> {
    let body = error_body(api, kind, message).to_string();
    let mut res = Response::new(B::from(Bytes::from(body)));
    *res.status_mut() = kind.status();
    let h = res.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(v) = verdict {
        h.insert(crate::VERDICT_HEADER, HeaderValue::from_static(v));
    }
    res
}

/// A string in a JSON document that is screened, with its path.
#[derive(Debug, Clone)]
pub(crate) struct TextField {
    pub path: Path,
    pub text: String,
}

fn push_str(out: &mut Vec<TextField>, v: &Value, path: Path) {
    if let Value::String(s) = v {
        out.push(TextField {
            path,
            text: s.clone(),
        });
    }
}

fn with(path: &Path, seg: Seg) -> Path {
    let mut p = path.clone();
    p.push(seg);
    p
}

/// Every string leaf under `v` (tool inputs and other structured values).
fn push_leaves(out: &mut Vec<TextField>, v: &Value, path: Path) {
    match v {
        Value::String(_) => push_str(out, v, path),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                push_leaves(out, x, with(&path, Seg::Idx(i)));
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                push_leaves(out, x, with(&path, Seg::Name(k.clone())));
            }
        }
        _ => {}
    }
}

/// A message `content`: a string, or an array of parts whose `text` (and, for tool results,
/// nested `content`) is screened.
fn push_content(out: &mut Vec<TextField>, v: &Value, path: Path) {
    match v {
        Value::String(_) => push_str(out, v, path),
        Value::Array(parts) => {
            for (i, part) in parts.iter().enumerate() {
                let p = with(&path, Seg::Idx(i));
                if let Some(t) = part.get("text") {
                    push_str(out, t, with(&p, Seg::Key("text")));
                }
                // Anthropic tool_result blocks nest content; tool_use carries `input`.
                if let Some(c) = part.get("content") {
                    push_content(out, c, with(&p, Seg::Key("content")));
                }
                if let Some(i) = part.get("input") {
                    push_leaves(out, i, with(&p, Seg::Key("input")));
                }
                // Responses API function_call_output / function_call items.
                if let Some(o) = part.get("output") {
                    push_content(out, o, with(&p, Seg::Key("output")));
                }
                if let Some(a) = part.get("arguments") {
                    push_str(out, a, with(&p, Seg::Key("arguments")));
                }
            }
        }
        _ => {}
    }
}

/// The texts of a request body: every message of every role (system, developer, user,
/// assistant, tool), string or content array; tool-call arguments; prompts; instructions.
pub(crate) fn request_texts(api: Api, body: &Value) -> Vec<TextField> {
    let mut out = Vec::new();
    match api {
        Api::ChatCompletions => {
            if let Some(Value::Array(msgs)) = body.get("messages") {
                for (i, m) in msgs.iter().enumerate() {
                    let p = vec![Seg::Key("messages"), Seg::Idx(i)];
                    if let Some(c) = m.get("content") {
                        push_content(&mut out, c, with(&p, Seg::Key("content")));
                    }
                    if let Some(Value::Array(calls)) = m.get("tool_calls") {
                        for (j, c) in calls.iter().enumerate() {
                            if let Some(a) = c.get("function").and_then(|f| f.get("arguments")) {
                                let mut q = with(&p, Seg::Key("tool_calls"));
                                q.extend([
                                    Seg::Idx(j),
                                    Seg::Key("function"),
                                    Seg::Key("arguments"),
                                ]);
                                push_str(&mut out, a, q);
                            }
                        }
                    }
                }
            }
        }
        Api::Completions => match body.get("prompt") {
            Some(p @ Value::String(_)) => push_str(&mut out, p, vec![Seg::Key("prompt")]),
            Some(Value::Array(ps)) => {
                for (i, p) in ps.iter().enumerate() {
                    push_str(&mut out, p, vec![Seg::Key("prompt"), Seg::Idx(i)]);
                }
            }
            _ => {}
        },
        Api::Responses => {
            if let Some(i) = body.get("instructions") {
                push_str(&mut out, i, vec![Seg::Key("instructions")]);
            }
            match body.get("input") {
                Some(s @ Value::String(_)) => push_str(&mut out, s, vec![Seg::Key("input")]),
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let p = vec![Seg::Key("input"), Seg::Idx(i)];
                        if let Some(c) = item.get("content") {
                            push_content(&mut out, c, with(&p, Seg::Key("content")));
                        }
                        if let Some(o) = item.get("output") {
                            push_content(&mut out, o, with(&p, Seg::Key("output")));
                        }
                        if let Some(a) = item.get("arguments") {
                            push_str(&mut out, a, with(&p, Seg::Key("arguments")));
                        }
                    }
                }
                _ => {}
            }
        }
        Api::Messages => {
            if let Some(s) = body.get("system") {
                push_content(&mut out, s, vec![Seg::Key("system")]);
            }
            if let Some(Value::Array(msgs)) = body.get("messages") {
                for (i, m) in msgs.iter().enumerate() {
                    if let Some(c) = m.get("content") {
                        let p = vec![Seg::Key("messages"), Seg::Idx(i), Seg::Key("content")];
                        push_content(&mut out, c, p);
                    }
                }
            }
        }
    }
    out
}

/// The texts of a non-streamed response body, each with the audit part name it is recorded
/// under (`choice.0`, `choice.0.tool_call.1`, `output.0.0`, `block.2`, …).
pub(crate) fn response_texts(api: Api, body: &Value) -> Vec<(String, TextField)> {
    let mut out = Vec::new();
    let mut add = |part: String, v: &Value, path: Path| {
        let mut one = Vec::new();
        push_str(&mut one, v, path);
        out.extend(one.into_iter().map(|f| (part.clone(), f)));
    };
    match api {
        Api::ChatCompletions | Api::Completions => {
            if let Some(Value::Array(choices)) = body.get("choices") {
                for (i, c) in choices.iter().enumerate() {
                    let idx = c.get("index").and_then(Value::as_u64).unwrap_or(i as u64);
                    let p = vec![Seg::Key("choices"), Seg::Idx(i)];
                    if api == Api::Completions {
                        if let Some(t) = c.get("text") {
                            add(format!("choice.{idx}"), t, with(&p, Seg::Key("text")));
                        }
                        continue;
                    }
                    let Some(m) = c.get("message") else { continue };
                    let mp = with(&p, Seg::Key("message"));
                    for (field, part) in TEXT_FIELDS {
                        if let Some(t) = m.get(*field) {
                            add(format!("choice.{idx}{part}"), t, with(&mp, Seg::Key(field)));
                        }
                    }
                    if let Some(Value::Array(calls)) = m.get("tool_calls") {
                        for (j, call) in calls.iter().enumerate() {
                            if let Some(a) = call.get("function").and_then(|f| f.get("arguments")) {
                                let mut q = with(&mp, Seg::Key("tool_calls"));
                                q.extend([
                                    Seg::Idx(j),
                                    Seg::Key("function"),
                                    Seg::Key("arguments"),
                                ]);
                                add(format!("choice.{idx}.tool_call.{j}"), a, q);
                            }
                        }
                    }
                }
            }
        }
        Api::Responses => {
            if let Some(Value::Array(items)) = body.get("output") {
                for (k, item) in items.iter().enumerate() {
                    let p = vec![Seg::Key("output"), Seg::Idx(k)];
                    if let Some(Value::Array(parts)) = item.get("content") {
                        for (c, part) in parts.iter().enumerate() {
                            let q = vec![Seg::Key("output"), Seg::Idx(k), Seg::Key("content")];
                            for field in ["text", "refusal"] {
                                if let Some(t) = part.get(field) {
                                    let mut r = with(&q, Seg::Idx(c));
                                    r.push(Seg::Name(field.into()));
                                    add(format!("output.{k}.{c}"), t, r);
                                }
                            }
                        }
                    }
                    if let Some(a) = item.get("arguments") {
                        add(
                            format!("output.{k}.arguments"),
                            a,
                            with(&p, Seg::Key("arguments")),
                        );
                    }
                }
            }
        }
        Api::Messages => {
            if let Some(Value::Array(blocks)) = body.get("content") {
                for (i, b) in blocks.iter().enumerate() {
                    let p = vec![Seg::Key("content"), Seg::Idx(i)];
                    for field in ["text", "thinking"] {
                        if let Some(t) = b.get(field) {
                            add(format!("block.{i}"), t, with(&p, Seg::Name(field.into())));
                        }
                    }
                    if let Some(input) = b.get("input") {
                        let mut leaves = Vec::new();
                        push_leaves(&mut leaves, input, with(&p, Seg::Key("input")));
                        for f in leaves {
                            add(format!("block.{i}.input"), &Value::String(f.text), f.path);
                        }
                    }
                }
            }
        }
    }
    out
}

/// Chat message / delta text fields and the suffix of their audit part name.
pub(crate) const TEXT_FIELDS: &[(&str, &str)] = &[
    ("content", ""),
    ("refusal", ".refusal"),
    ("reasoning_content", ".reasoning"),
];

/// The byte offset of a `serde_json` error position (1-based line and column) in `text`.
pub(crate) fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let mut off = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (off + column.saturating_sub(1)).min(text.len());
        }
        off += l.len();
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let cases = [
            ("/v1/chat/completions", Some(Api::ChatCompletions)),
            ("/openai/v1/chat/completions/", Some(Api::ChatCompletions)),
            ("/v1/completions", Some(Api::Completions)),
            ("/v1/responses", Some(Api::Responses)),
            ("/v1/messages", Some(Api::Messages)),
            ("/v1/models", None),
            ("/v1/messages/count_tokens", None),
        ];
        for (path, want) in cases {
            assert_eq!(Api::from_path(path), want, "{path}");
        }
    }

    #[test]
    fn request_texts_cover_every_role_and_shape() {
        let body: Value = serde_json::from_str(
            r#"{"model":"m","messages":[
                {"role":"system","content":"S"},
                {"role":"user","content":[{"type":"text","text":"U1"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"U2"}]},
                {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
                {"role":"tool","tool_call_id":"c","content":"T"}]}"#,
        )
        .unwrap();
        let texts: Vec<String> = request_texts(Api::ChatCompletions, &body)
            .into_iter()
            .map(|f| f.text)
            .collect();
        assert_eq!(texts, ["S", "U1", "U2", "{\"a\":1}", "T"]);

        let body: Value = serde_json::from_str(
            r#"{"system":[{"type":"text","text":"S"}],"messages":[
                {"role":"user","content":"U"},
                {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"q":"Q","n":1}}]},
                {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"R"}]}]}]}"#,
        )
        .unwrap();
        let texts: Vec<String> = request_texts(Api::Messages, &body)
            .into_iter()
            .map(|f| f.text)
            .collect();
        assert_eq!(texts, ["S", "U", "Q", "R"]);

        let body: Value = serde_json::from_str(
            r#"{"instructions":"I","input":[{"role":"user","content":[{"type":"input_text","text":"U"}]},{"type":"function_call_output","call_id":"c","output":"O"}]}"#,
        )
        .unwrap();
        let texts: Vec<String> = request_texts(Api::Responses, &body)
            .into_iter()
            .map(|f| f.text)
            .collect();
        assert_eq!(texts, ["I", "U", "O"]);

        let body: Value = serde_json::from_str(r#"{"prompt":["a","b"]}"#).unwrap();
        assert_eq!(request_texts(Api::Completions, &body).len(), 2);
    }

    #[test]
    fn error_shapes() {
        let o = error_body(Api::ChatCompletions, ErrorKind::Blocked, "m");
        assert_eq!(o["error"]["message"], "m");
        assert_eq!(o["error"]["code"], "content_filter");
        let a = error_body(Api::Messages, ErrorKind::TooLarge, "m");
        assert_eq!(a["type"], "error");
        assert_eq!(a["error"]["type"], "request_too_large");
    }

    #[test]
    fn error_positions_become_byte_offsets() {
        assert_eq!(byte_offset("ab\ncd", 2, 2), 4);
        assert_eq!(byte_offset("ab", 1, 1), 0);
    }
}
