//! Error responses in the shape of the API a route speaks: OpenAI
//! (`{"error": {"message", "type", "param", "code"}}`) or Anthropic
//! (`{"type": "error", "error": {"type", "message"}}`), so SDKs surface them as their normal
//! API errors with glassbox's message.

use axum::body::Body;
use http::{header, HeaderValue, Response, StatusCode};
use serde::{Deserialize, Serialize};

/// Which API family a route or upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ApiKind {
    /// OpenAI-compatible (`/v1/chat/completions`, `/v1/completions`, `/v1/responses`, …):
    /// OpenAI, vLLM, llama.cpp server, Ollama, LM Studio, TGI.
    #[default]
    Openai,
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
}

impl ApiKind {
    /// The API a path belongs to when nothing else says: `/v1/messages…` is Anthropic, the
    /// rest OpenAI.
    pub fn of_path(path: &str) -> ApiKind {
        if path == "/v1/messages" || path.starts_with("/v1/messages/") {
            ApiKind::Anthropic
        } else {
            ApiKind::Openai
        }
    }

    /// `openai` or `anthropic`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKind::Openai => "openai",
            ApiKind::Anthropic => "anthropic",
        }
    }
}

/// An error the proxy answers itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong and what to do; never contains screened content.
    pub message: String,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// The OpenAI `type` for this status.
    fn openai_type(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::NOT_FOUND => {
                "invalid_request_error"
            }
            StatusCode::UNAUTHORIZED => "authentication_error",
            StatusCode::FORBIDDEN => "permission_error",
            StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
            StatusCode::GATEWAY_TIMEOUT => "timeout_error",
            _ => "api_error",
        }
    }

    /// The OpenAI `code` for this status.
    fn openai_code(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "invalid_json",
            StatusCode::UNAUTHORIZED => "invalid_api_key",
            StatusCode::NOT_FOUND => "unknown_url",
            StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
            StatusCode::BAD_GATEWAY => "upstream_error",
            StatusCode::GATEWAY_TIMEOUT => "upstream_timeout",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ => "glassbox_error",
        }
    }

    /// The Anthropic `error.type` for this status.
    fn anthropic_type(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "invalid_request_error",
            StatusCode::UNAUTHORIZED => "authentication_error",
            StatusCode::FORBIDDEN => "permission_error",
            StatusCode::NOT_FOUND => "not_found_error",
            StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
            StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
            StatusCode::GATEWAY_TIMEOUT => "timeout_error",
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::BAD_GATEWAY => "overloaded_error",
            _ => "api_error",
        }
    }

    /// The JSON body in `kind`'s shape.
    pub fn body(&self, kind: ApiKind) -> serde_json::Value {
        match kind {
            ApiKind::Openai => serde_json::json!({
                "error": {
                    "message": self.message,
                    "type": self.openai_type(),
                    "param": null,
                    "code": self.openai_code(),
                }
            }),
            ApiKind::Anthropic => serde_json::json!({
                "type": "error",
                "error": { "type": self.anthropic_type(), "message": self.message }
            }),
        }
    }

    /// The bytes of an SSE event carrying this error, for a stream that already started:
    /// OpenAI-compatible clients read `data: {"error": …}`; Anthropic clients an `error` event.
    pub fn sse_event(&self, kind: ApiKind) -> bytes::Bytes {
        let body = self.body(kind);
        let s = match kind {
            ApiKind::Openai => format!("data: {body}\n\n"),
            ApiKind::Anthropic => format!("event: error\ndata: {body}\n\n"),
        };
        bytes::Bytes::from(s)
    }

    /// The full response in `kind`'s shape, with `request_id` echoed.
    pub fn response(&self, kind: ApiKind, request_id: Option<&HeaderValue>) -> Response<Body> {
        let mut res = Response::new(Body::from(self.body(kind).to_string()));
        *res.status_mut() = self.status;
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(id) = request_id {
            h.insert(super::REQUEST_ID, id.clone());
        }
        if self.status == StatusCode::UNAUTHORIZED && kind == ApiKind::Openai {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"glassbox\""),
            );
        }
        res
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_each_api() {
        let e = ApiError::new(StatusCode::UNAUTHORIZED, "missing API key");
        let o = e.body(ApiKind::Openai);
        assert_eq!(o["error"]["message"], "missing API key");
        assert_eq!(o["error"]["type"], "authentication_error");
        assert_eq!(o["error"]["code"], "invalid_api_key");
        let a = e.body(ApiKind::Anthropic);
        assert_eq!(a["type"], "error");
        assert_eq!(a["error"]["type"], "authentication_error");
        assert_eq!(a["error"]["message"], "missing API key");
    }

    #[test]
    fn path_decides_the_api() {
        for (path, kind) in [
            ("/v1/messages", ApiKind::Anthropic),
            ("/v1/messages/count_tokens", ApiKind::Anthropic),
            ("/v1/chat/completions", ApiKind::Openai),
            ("/v1/messagesx", ApiKind::Openai),
            ("/nope", ApiKind::Openai),
        ] {
            assert_eq!(ApiKind::of_path(path), kind, "{path}");
        }
    }

    #[test]
    fn sse_error_events_are_framed() {
        let e = ApiError::new(StatusCode::GATEWAY_TIMEOUT, "upstream `m` went quiet");
        let o = e.sse_event(ApiKind::Openai);
        assert!(o.starts_with(b"data: {") && o.ends_with(b"\n\n"));
        let a = e.sse_event(ApiKind::Anthropic);
        assert!(a.starts_with(b"event: error\ndata: {") && a.ends_with(b"\n\n"));
    }
}
