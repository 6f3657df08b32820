#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod api;
mod body;
mod chunk;
mod future;
mod gate;
pub mod hooks;
mod json_span;
mod layer;
mod logprobs;
mod record;
mod service;
mod sse;
mod stream;

pub use api::Api;
pub use body::{ScreenBody, MAX_FRAME};
pub use future::ResponseFuture;
pub use hooks::{DefaultOnDecision, GateDecision, ModelGate, OnDecision, Selection, Selector};
pub use layer::{ScreenLayer, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_RESPONSE_BYTES};
pub use service::Screen;

/// Boxed error, as in tower.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Response header with the verdict over a non-streamed answer (or a refused request):
/// `allow`, `annotate`, `mask` or `block`.
pub const VERDICT_HEADER: &str = "x-glassbox-verdict";

/// Request header carrying the request id recorded with every decision; generated (and added
/// to the forwarded request and the response) when the client sent none.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// An upstream timeout. A proxy that times out an upstream body should fail it with this error
/// (anywhere in the error's `source()` chain; an `io::Error` of kind `TimedOut` also counts) so
/// that the audit record says `timeout` rather than `upstream_error`.
#[derive(Debug, Clone, Copy, Default, thiserror::Error)]
#[error("the upstream timed out")]
pub struct TimedOut;
