//! [`Screen`]: the service. Reads and screens the request body, applies the selector and the
//! model gate, forwards (masked) or answers a block itself, then screens the answer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use glassbox_core::audit::{Direction, FailOpen, FindingRecord, Outcome};
use glassbox_core::{Action, Engine, OnError, ScanOutcome};
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;
use tower::Service;

use crate::api::{byte_offset, error_response, request_texts, response_texts, ErrorKind};
use crate::hooks::{GateDecision, Selection};
use crate::json_span::{locate, quote, splice};
use crate::layer::Config;
use crate::record::{Exchange, PartDigest, Report};
use crate::stream::StreamScreen;
use crate::{Api, BoxError, ResponseFuture, ScreenBody, REQUEST_ID_HEADER, VERDICT_HEADER};

/// Middleware that screens LLM API traffic of the inner service; built by
/// [`ScreenLayer`](crate::ScreenLayer).
#[derive(Clone)]
pub struct Screen<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> std::fmt::Debug for Screen<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screen")
            .field("engine", &self.config.engine)
            .finish_non_exhaustive()
    }
}

impl<S> Screen<S> {
    pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
        Screen { inner, config }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for Screen<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqB: Body + From<Bytes> + Send + 'static,
    ReqB::Data: Send,
    ReqB::Error: Into<BoxError>,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<ScreenBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResB, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        // The ready service goes into the future; a clone stays for the next call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        ResponseFuture {
            inner: Box::pin(screen(config, inner, req)),
        }
    }
}

fn new_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("gb-{nanos:016x}-{n:06x}")
}

async fn screen<S, ReqB, ResB>(
    config: Arc<Config>,
    mut inner: S,
    req: Request<ReqB>,
) -> Result<Response<ScreenBody<ResB>>, S::Error>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ReqB: Body + From<Bytes>,
    ReqB::Error: Into<BoxError>,
    ResB: Body<Data = Bytes>,
    ResB::Error: Into<BoxError>,
{
    let api = match Api::from_path(req.uri().path()) {
        Some(api) if req.method() == Method::POST => api,
        _ => {
            let res = inner.call(req).await?;
            return Ok(res.map(ScreenBody::passthrough));
        }
    };
    let (mut parts, body) = req.into_parts();
    let request_id = match parts
        .headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some(id) => id.to_string(),
        None => {
            let id = new_request_id();
            if let Ok(v) = HeaderValue::from_str(&id) {
                parts.headers.insert(REQUEST_ID_HEADER, v);
            }
            id
        }
    };
    let mut ex = Exchange {
        request_id,
        api,
        tenant: None,
        model: None,
        licence: None,
        engine: config.engine.clone(),
        sink: Arc::clone(&config.sink),
        hook: Arc::clone(&config.hook),
    };

    // === read and parse ===
    let refuse = |ex: &Exchange, kind: ErrorKind, message: String| {
        let report = Report {
            forced_block: true,
            ..Report::default()
        };
        ex.emit(Direction::Request, report, Outcome::Error);
        Ok(with_id(
            error_response(api, kind, &message, None),
            &ex.request_id,
        ))
    };
    let limit = config.max_request_bytes;
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        let msg = format!("request body is larger than the limit of {limit} bytes");
        return refuse(&ex, ErrorKind::TooLarge, msg);
    }
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            let msg = format!("request body is larger than the limit of {limit} bytes");
            return refuse(&ex, ErrorKind::TooLarge, msg);
        }
        Err(e) => {
            let msg = format!("could not read the request body: {e}");
            return refuse(&ex, ErrorKind::BadRequest, msg);
        }
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let msg = format!(
                "request body is not UTF-8: invalid byte at offset {}",
                e.valid_up_to()
            );
            return refuse(&ex, ErrorKind::BadRequest, msg);
        }
    };
    let json: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let msg = format!(
                "request body is not valid JSON: {e} (byte offset {})",
                byte_offset(text, e.line(), e.column())
            );
            return refuse(&ex, ErrorKind::BadRequest, msg);
        }
    };

    // === selector and model gate ===
    let model = json
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_string);
    let selection = config
        .selector
        .select(&parts, model.as_deref())
        .unwrap_or_else(|| Selection::new(config.engine.clone()));
    ex.engine = selection.engine;
    ex.tenant = selection.tenant;
    ex.model = model;
    let gate = config.gate.check(ex.tenant.as_deref(), ex.model.as_deref());
    ex.licence = gate.licence().map(str::to_string);
    if let GateDecision::Block { reason, .. } = gate {
        let report = Report {
            findings: vec![FindingRecord {
                category: "model_license.refused".into(),
                action: Action::Block,
                detector: "model_gate".into(),
                start: 0,
                len: 0,
                score: 1.0,
            }],
            ..Report::default()
        };
        ex.emit(Direction::ModelCheck, report, Outcome::Blocked);
        let msg = format!(
            "model `{}` is not allowed by glassbox: {reason}",
            ex.model.as_deref().unwrap_or("(none)")
        );
        let res = error_response(api, ErrorKind::ModelRefused, &msg, Some("block"));
        return Ok(with_id(res, &ex.request_id));
    }

    // === screen the request texts ===
    let mut report = Report::default();
    let mut digest = PartDigest::new(&*ex.sink, "request".into());
    let mut raw = ex.sink.wants_raw_content().then(String::new);
    let mut edits = Vec::new();
    let mut base = 0;
    for (i, field) in request_texts(api, &json).iter().enumerate() {
        if i > 0 {
            digest.update(b"\n");
            if let Some(r) = raw.as_mut() {
                r.push('\n');
            }
            base += 1;
        }
        digest.update(field.text.as_bytes());
        if let Some(r) = raw.as_mut() {
            r.push_str(&field.text);
        }
        let outcome =
            classified_scan(&ex.engine, &field.text, Direction::Request, &mut report).await;
        report.findings(&outcome.findings, base);
        report.failures(&outcome.failures);
        report.coverage.bytes_screened += field.text.len() as u64;
        if outcome.verdict >= Action::Mask {
            let masked = outcome.masked(&field.text);
            if masked != field.text {
                if let Some(span) = locate(text, &field.path) {
                    edits.push((span, quote(&masked)));
                }
            }
        }
        base += field.text.len();
    }
    report.digests.extend(digest.finish());
    if let Some(r) = raw {
        report.raw.push(("request".into(), r));
    }
    if report.verdict() == Action::Block {
        let errored = !report.failed_closed.is_empty();
        let msg = format!(
            "request blocked by glassbox policy `{}`: {}",
            ex.engine.policy().id,
            report.block_reason()
        );
        let (kind, outcome) =
            if errored && report.findings.iter().all(|f| f.action != Action::Block) {
                (ErrorKind::Screening, Outcome::Error)
            } else {
                (ErrorKind::Blocked, Outcome::Blocked)
            };
        ex.emit(Direction::Request, report, outcome);
        let res = error_response(api, kind, &msg, Some("block"));
        return Ok(with_id(res, &ex.request_id));
    }
    report.coverage.bytes_released = report.coverage.bytes_screened;
    ex.emit(Direction::Request, report, Outcome::Completed);

    // === forward ===
    let body = if edits.is_empty() {
        bytes
    } else {
        let masked = splice(text, edits);
        parts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(masked.len()));
        Bytes::from(masked)
    };
    // The answer must come back uncompressed to be screened.
    parts.headers.remove(ACCEPT_ENCODING);
    let ex = Arc::new(ex);
    let res = match inner
        .call(Request::from_parts(parts, ReqB::from(body)))
        .await
    {
        Ok(res) => res,
        Err(e) => {
            ex.emit(
                Direction::Response,
                Report::default(),
                Outcome::UpstreamError,
            );
            return Err(e);
        }
    };
    let res = screen_response(&config, ex.clone(), res).await;
    Ok(with_id(res, &ex.request_id))
}

/// Screens one whole text with the patterns and the policy's classifiers for `direction`
/// (prompt injection on requests, toxicity on answers, …); the time the classifiers took goes
/// into the coverage as `classifier_lag_ms` (the largest over the texts of one decision).
async fn classified_scan(
    engine: &Engine,
    text: &str,
    direction: Direction,
    report: &mut Report,
) -> ScanOutcome {
    if engine.classifiers_for(direction).is_empty() {
        return engine.scan(text);
    }
    let started = Instant::now();
    let outcome = engine.scan_classified(text, direction).await;
    report.classifier_lag(started.elapsed());
    outcome
}

fn with_id<B>(mut res: Response<B>, id: &str) -> Response<B> {
    if let Ok(v) = HeaderValue::from_str(id) {
        res.headers_mut().entry(REQUEST_ID_HEADER).or_insert(v);
    }
    res
}

/// Passes an answer the layer cannot screen according to `on_error`.
fn unscreenable<B>(
    ex: &Exchange,
    parts: http::response::Parts,
    body: ScreenBody<B>,
    reason: String,
) -> Response<ScreenBody<B>> {
    let mut report = Report::default();
    if ex.engine.policy().on_error == OnError::Open {
        report.fail_open.push(FailOpen {
            detector: "glassbox-tower".into(),
            reason,
        });
        ex.emit(Direction::Response, report, Outcome::Completed);
        Response::from_parts(parts, body)
    } else {
        report.forced_block = true;
        ex.emit(Direction::Response, report, Outcome::Error);
        let msg =
            format!("the answer could not be screened ({reason}) and policy says on_error: closed");
        error_response(ex.api, ErrorKind::Screening, &msg, Some("block"))
    }
}

async fn screen_response<B>(
    config: &Config,
    ex: Arc<Exchange>,
    res: Response<B>,
) -> Response<ScreenBody<B>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (mut parts, body) = res.into_parts();
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let content_type = header(CONTENT_TYPE);
    let encoding = header(CONTENT_ENCODING);
    if !parts.status.is_success() {
        // The upstream's own error answer: no model output to screen.
        ex.emit(
            Direction::Response,
            Report::default(),
            Outcome::UpstreamError,
        );
        return Response::from_parts(parts, ScreenBody::passthrough(body));
    }
    if !encoding.is_empty() && encoding != "identity" {
        let reason = format!("the answer is content-encoded ({encoding})");
        return unscreenable(&ex, parts, ScreenBody::passthrough(body), reason);
    }
    if content_type.starts_with("text/event-stream") {
        parts.headers.remove(CONTENT_LENGTH);
        let screen = StreamScreen::new(ex.api, ex.engine.clone(), Arc::clone(&ex.sink));
        return Response::from_parts(parts, ScreenBody::sse(body, screen, ex));
    }
    if !(content_type.is_empty() || content_type.contains("json")) {
        let reason = format!("unexpected content type `{content_type}`");
        return unscreenable(&ex, parts, ScreenBody::passthrough(body), reason);
    }

    // === a whole JSON answer ===
    let limit = config.max_response_bytes;
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            let too_large = e.is::<http_body_util::LengthLimitError>();
            let (kind, msg, outcome) = if too_large {
                let msg = format!("the answer is larger than the limit of {limit} bytes");
                (ErrorKind::Screening, msg, Outcome::Error)
            } else {
                let msg = format!("reading the upstream answer failed: {e}");
                (ErrorKind::Upstream, msg, Outcome::UpstreamError)
            };
            let report = Report {
                forced_block: too_large,
                ..Report::default()
            };
            ex.emit(Direction::Response, report, outcome);
            return error_response(ex.api, kind, &msg, Some("block"));
        }
    };
    let parsed = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(t).ok().map(|v| (t, v)));
    let Some((text, json)) = parsed else {
        let reason = "the answer is not UTF-8 JSON".to_string();
        return unscreenable(&ex, parts, ScreenBody::full(bytes), reason);
    };
    let mut report = Report::default();
    let mut digests: BTreeMap<String, PartDigest> = BTreeMap::new();
    let mut raw: BTreeMap<String, String> = BTreeMap::new();
    let wants_raw = ex.sink.wants_raw_content();
    let mut edits = Vec::new();
    let mut released = Vec::new();
    for (part, field) in response_texts(ex.api, &json) {
        let d = digests
            .entry(part.clone())
            .or_insert_with(|| PartDigest::new(&*ex.sink, part.clone()));
        d.update(field.text.as_bytes());
        if wants_raw {
            raw.entry(part).or_default().push_str(&field.text);
        }
        let outcome =
            classified_scan(&ex.engine, &field.text, Direction::Response, &mut report).await;
        report.findings(&outcome.findings, 0);
        report.failures(&outcome.failures);
        report.coverage.bytes_screened += field.text.len() as u64;
        let mut out_text = None;
        if outcome.verdict >= Action::Mask {
            let masked = outcome.masked(&field.text);
            if masked != field.text {
                if let Some(span) = locate(text, &field.path) {
                    edits.push((span, quote(&masked)));
                }
                out_text = Some(masked);
            }
        }
        released.push((field.path, out_text.unwrap_or(field.text)));
    }
    edits.extend(crate::logprobs::answer_edits(
        ex.api, text, &json, &released,
    ));
    report
        .digests
        .extend(digests.into_values().filter_map(PartDigest::finish));
    report.raw.extend(raw);
    let verdict = report.verdict();
    if verdict == Action::Block {
        let msg = format!(
            "response blocked by glassbox policy `{}`: {}",
            ex.engine.policy().id,
            report.block_reason()
        );
        let errored = report.findings.iter().all(|f| f.action != Action::Block);
        let (kind, outcome) = if errored {
            (ErrorKind::Screening, Outcome::Error)
        } else {
            (ErrorKind::Blocked, Outcome::Blocked)
        };
        ex.emit(Direction::Response, report, outcome);
        return error_response(ex.api, kind, &msg, Some("block"));
    }
    report.coverage.bytes_released = report.coverage.bytes_screened;
    ex.emit(Direction::Response, report, Outcome::Completed);
    let body = if edits.is_empty() {
        bytes
    } else {
        let masked = splice(text, edits);
        parts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(masked.len()));
        Bytes::from(masked)
    };
    parts
        .headers
        .insert(VERDICT_HEADER, HeaderValue::from_static(verdict.as_str()));
    Response::from_parts(parts, ScreenBody::full(body))
}
