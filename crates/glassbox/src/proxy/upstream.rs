//! Upstream clients: one pool of HTTP/1 connections per upstream ([`super::pool`]: each
//! connection is driven by the request that uses it), forwarding a request and mapping
//! failures (refused, reset, timeouts, non-JSON answers) to clear errors in the route's API
//! shape. Response bodies stream through [`UpstreamBody`], which drives the connection, enforces
//! the idle timeout and turns a mid-stream failure into a protocol-correct SSE error event where
//! it can.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;

use super::config::{parse_base_url, UpstreamConfig};
use super::error::{ApiError, ApiKind};
use super::metrics::Metrics;
use super::pool::{error_chain, Conn, Pool, RequestError};

/// Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded.
const HOP_BY_HOP: &[HeaderName] = &[
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// One upstream: its settings and its connection pool.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Name in the configuration.
    pub name: Arc<str>,
    /// The API it speaks.
    pub kind: ApiKind,
    base: Uri,
    headers: HeaderMap,
    response_timeout: Duration,
    idle_timeout: Duration,
    health_path: String,
    pool: Arc<Pool>,
}

/// Why a request to an upstream failed before its response started.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpstreamError {
    /// Could not connect.
    #[error("upstream `{name}` ({url}) refused the connection or is unreachable: {reason}")]
    Connect {
        /// Upstream name.
        name: String,
        /// Its URL.
        url: String,
        /// The connector's reason.
        reason: String,
    },
    /// The TLS handshake with an `https` upstream failed.
    #[error("upstream `{name}` ({url}): TLS handshake failed: {reason}")]
    Tls {
        /// Upstream name.
        name: String,
        /// Its URL.
        url: String,
        /// rustls's reason (an untrusted certificate, a host name it does not cover, …).
        reason: String,
    },
    /// No response headers within `response_timeout`.
    #[error("upstream `{name}` did not answer within {secs:.1}s (response_timeout)")]
    Timeout {
        /// Upstream name.
        name: String,
        /// The timeout.
        secs: f64,
    },
    /// The connection broke or the upstream sent something that is not HTTP.
    #[error("upstream `{name}` failed before answering: {reason}")]
    Broken {
        /// Upstream name.
        name: String,
        /// What happened.
        reason: String,
    },
}

impl UpstreamError {
    /// The error the client gets: 504 for a timeout, 502 otherwise.
    pub fn api_error(&self) -> ApiError {
        let status = match self {
            UpstreamError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        };
        ApiError::new(status, self.to_string())
    }

    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            UpstreamError::Connect { .. } => "connect",
            UpstreamError::Tls { .. } => "tls",
            UpstreamError::Timeout { .. } => "timeout",
            UpstreamError::Broken { .. } => "broken",
        }
    }
}

impl Upstream {
    /// Builds the client for `config` (URL and headers are checked by config validation; this
    /// reports them again if called directly).
    ///
    /// # Errors
    /// A message when the URL or a header is invalid.
    pub fn new(name: &str, config: &UpstreamConfig) -> Result<Upstream, String> {
        let base = parse_base_url(&config.url)?;
        let mut headers = HeaderMap::new();
        for (k, v) in &config.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("`{k}` is not a valid header name"))?;
            headers.insert(name, v.resolve()?);
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(config.connect_timeout));
        connector.set_nodelay(true);
        connector.set_keepalive(Some(Duration::from_secs(60)));
        let tls = match base.scheme_str() {
            Some("https") => Some(super::tls::client_config(config.tls_ca_file.as_deref())?),
            _ => None,
        };
        let pool = Arc::new(Pool::new(
            connector,
            tls,
            config.pool_max_idle,
            Duration::from_secs(90),
        ));
        Ok(Upstream {
            name: name.into(),
            kind: config.kind,
            base,
            headers,
            response_timeout: config.response_timeout,
            idle_timeout: config.idle_timeout,
            health_path: config.health_path.clone(),
            pool,
        })
    }

    /// The base URL.
    pub fn url(&self) -> String {
        self.base.to_string()
    }

    /// The full URI for a client's path and query. Without a base path the client's (already
    /// parsed) path and query is reused as is: no formatting or re-parsing per request.
    fn target_of(&self, pq: Option<&http::uri::PathAndQuery>) -> Result<Uri, ApiError> {
        let base_path = self.base.path().trim_end_matches('/');
        match pq {
            Some(pq) if base_path.is_empty() => {
                let mut parts = http::uri::Parts::default();
                parts.scheme = Some(http::uri::Scheme::HTTP);
                parts.authority = self.base.authority().cloned();
                parts.path_and_query = Some(pq.clone());
                Uri::from_parts(parts).map_err(|e| {
                    ApiError::new(StatusCode::BAD_REQUEST, format!("bad request path: {e}"))
                })
            }
            Some(pq) => self.target(pq.as_str()),
            None => self.target("/"),
        }
    }

    /// The full URI for a client path and query.
    fn target(&self, path_and_query: &str) -> Result<Uri, ApiError> {
        let base_path = self.base.path().trim_end_matches('/');
        let pq = format!("{base_path}{path_and_query}");
        Uri::builder()
            .scheme("http")
            .authority(self.base.authority().map(|a| a.as_str()).unwrap_or(""))
            .path_and_query(pq)
            .build()
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("bad request path: {e}")))
    }

    /// Forwards a request. `headers` are the client's (hop-by-hop headers are dropped; the
    /// upstream's configured headers replace the client's); `strip_auth` removes the client's
    /// `authorization` / `x-api-key` (they were glassbox's own keys). On a `screened` route
    /// the answer is asked for uncompressed and a mid-stream failure is returned as a body
    /// error for the screen layer to end the stream in the protocol's terminal form; on a
    /// pass-through route [`UpstreamBody`] writes the error event itself, in `api`'s shape.
    ///
    /// # Errors
    /// [`UpstreamError`] when no response head arrived.
    pub async fn forward(
        &self,
        req: Request<Full<Bytes>>,
        strip_auth: bool,
        screened: bool,
        api: ApiKind,
        metrics: &Metrics,
    ) -> Result<Response<UpstreamBody>, ApiErrorOr> {
        let (mut parts, body) = req.into_parts();
        parts.uri = self
            .target_of(parts.uri.path_and_query())
            .map_err(ApiErrorOr::Api)?;
        clean_request_headers(&mut parts.headers, strip_auth);
        for (k, v) in &self.headers {
            parts.headers.insert(k.clone(), v.clone());
        }
        if screened {
            // Screening needs the text; ask for it uncompressed.
            parts.headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
        }
        parts.version = http::Version::HTTP_11;
        let req = Request::from_parts(parts, body);
        let started = Instant::now();
        let res = tokio::time::timeout(self.response_timeout, self.pool.request(req)).await;
        metrics.upstream_latency(&self.name, started.elapsed());
        let res = match res {
            Err(_) => Err(UpstreamError::Timeout {
                name: self.name.to_string(),
                secs: self.response_timeout.as_secs_f64(),
            }),
            Ok(Err(RequestError::Connect(reason))) => Err(UpstreamError::Connect {
                name: self.name.to_string(),
                url: self.url(),
                reason,
            }),
            Ok(Err(RequestError::Tls(reason))) => Err(UpstreamError::Tls {
                name: self.name.to_string(),
                url: self.url(),
                reason,
            }),
            Ok(Err(RequestError::Broken(reason))) => Err(UpstreamError::Broken {
                name: self.name.to_string(),
                reason,
            }),
            Ok(Ok(res)) => Ok(res),
        };
        let res = res.map_err(|e| {
            metrics.upstream_error(&self.name, e.label());
            ApiErrorOr::Upstream(e)
        })?;
        let (res, conn) = res;
        let (mut parts, body) = res.into_parts();
        for h in HOP_BY_HOP {
            parts.headers.remove(h);
        }
        let sse = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/event-stream"));
        let body = UpstreamBody::new(
            body,
            (conn, self.pool.clone()),
            self.idle_timeout,
            (sse && !screened).then_some(api),
            self.name.clone(),
            metrics.clone(),
        );
        Ok(Response::from_parts(parts, body))
    }

    /// Probes the health path: `Ok` on a 2xx answer.
    ///
    /// # Errors
    /// What failed, for `/readyz`.
    pub async fn probe(&self) -> Result<(), String> {
        let uri = self.target(&self.health_path).map_err(|e| e.message)?;
        let mut req = Request::new(Full::new(Bytes::new()));
        *req.uri_mut() = uri;
        for (k, v) in &self.headers {
            req.headers_mut().insert(k.clone(), v.clone());
        }
        let wait = self.response_timeout.min(Duration::from_secs(5));
        match tokio::time::timeout(wait, self.pool.request(req)).await {
            Err(_) => Err(format!(
                "no answer from {} within {wait:?}",
                self.health_path
            )),
            Ok(Err(RequestError::Tls(e))) => Err(format!("TLS handshake failed: {e}")),
            Ok(Err(RequestError::Connect(e) | RequestError::Broken(e))) => Err(e),
            Ok(Ok((res, _))) if res.status().is_success() => Ok(()),
            Ok(Ok((res, _))) => Err(format!("{} answered {}", self.health_path, res.status())),
        }
    }
}

/// A forwarding failure: either already an API error, or an upstream failure.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiErrorOr {
    /// The request itself was bad.
    Api(ApiError),
    /// The upstream failed.
    Upstream(UpstreamError),
}

impl ApiErrorOr {
    /// The error for the client.
    pub fn api_error(&self) -> ApiError {
        match self {
            ApiErrorOr::Api(e) => e.clone(),
            ApiErrorOr::Upstream(e) => e.api_error(),
        }
    }
}

fn clean_request_headers(h: &mut HeaderMap, strip_auth: bool) {
    // Headers named in `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named.iter().chain(HOP_BY_HOP) {
        h.remove(n);
    }
    h.remove(header::HOST);
    h.remove(header::CONTENT_LENGTH);
    h.remove("keep-alive");
    if strip_auth {
        h.remove(header::AUTHORIZATION);
        h.remove("x-api-key");
    }
}

/// A streamed upstream response body: drives its connection (see [`super::pool`]), gives the
/// connection back to the pool at the end, and enforces the idle timeout between chunks. On a
/// pass-through SSE stream that fails at an event boundary it ends with the API's error event
/// instead of a bare reset; a failure inside an event cannot be repaired into valid SSE, so it
/// ends the body with an error, which closes the connection and the client sees an incomplete
/// response rather than a well-formed truncation. (On screened routes the screen layer parses
/// the events and writes the terminal event itself.)
pub struct UpstreamBody {
    inner: hyper::body::Incoming,
    /// The connection the body arrives on, while it is open.
    conn: Option<Conn>,
    pool: Arc<Pool>,
    idle: Duration,
    /// When the last chunk came; the timer is moved on only when it fires.
    last: tokio::time::Instant,
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// `Some(kind)` for SSE bodies.
    sse: Option<ApiKind>,
    /// Last two bytes forwarded (to know whether we are at an event boundary).
    tail: [u8; 2],
    sent_any: bool,
    done: bool,
    upstream: Arc<str>,
    metrics: Metrics,
}

impl std::fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamBody")
            .field("upstream", &self.upstream)
            .field("sse", &self.sse)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// A mid-stream upstream failure. Its `source()` is [`glassbox_tower::TimedOut`] for an idle
/// timeout, so the audit record says `timeout`.
#[derive(Debug)]
pub struct BodyError {
    message: String,
    timed_out: Option<glassbox_tower::TimedOut>,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.timed_out
            .as_ref()
            .map(|t| t as &(dyn std::error::Error + 'static))
    }
}

impl UpstreamBody {
    fn new(
        inner: hyper::body::Incoming,
        (conn, pool): (Conn, Arc<Pool>),
        idle: Duration,
        sse: Option<ApiKind>,
        upstream: Arc<str>,
        metrics: Metrics,
    ) -> Self {
        let last = tokio::time::Instant::now();
        UpstreamBody {
            inner,
            conn: Some(conn),
            pool,
            idle,
            last,
            sleep: Box::pin(tokio::time::sleep_until(last + idle)),
            sse,
            tail: [b'\n', b'\n'],
            sent_any: false,
            done: false,
            upstream,
            metrics,
        }
    }

    /// Ready when nothing came for `idle` (the timer set at the start moves on to the last
    /// chunk's time + `idle` only when it fires, not at every chunk).
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            std::task::ready!(self.sleep.as_mut().poll(cx));
            let deadline = self.last + self.idle;
            if deadline <= tokio::time::Instant::now() {
                return Poll::Ready(());
            }
            self.sleep.as_mut().reset(deadline);
        }
    }

    fn at_event_boundary(&self) -> bool {
        !self.sent_any || self.tail == [b'\n', b'\n']
    }

    /// Ends the body after a failure: an SSE error event when that keeps the stream valid,
    /// otherwise an error (the server then closes the connection).
    fn fail(
        &mut self,
        status: StatusCode,
        label: &'static str,
        message: String,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.done = true;
        self.conn = None;
        self.metrics.upstream_error(&self.upstream, label);
        tracing::warn!(upstream = %self.upstream, error = %message, "upstream stream failed");
        match self.sse {
            Some(kind) if self.at_event_boundary() => {
                let ev = ApiError::new(status, message).sse_event(kind);
                Poll::Ready(Some(Ok(Frame::data(ev))))
            }
            _ => Poll::Ready(Some(Err(BodyError {
                message,
                timed_out: (status == StatusCode::GATEWAY_TIMEOUT)
                    .then_some(glassbox_tower::TimedOut),
            }))),
        }
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        // A reader that stops at `is_end_stream` (hyper's server does) never polls the end.
        if let Some(conn) = self.conn.take() {
            if self.inner.is_end_stream() {
                self.pool.put(conn);
            }
        }
    }
}

impl HttpBody for UpstreamBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        // The connection reads on (it hands over at most one chunk per poll of `inner`).
        if let Some(conn) = &mut this.conn {
            if !conn.drive(cx) {
                this.conn = None;
            }
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if !data.is_empty() {
                        this.sent_any = true;
                        let n = data.len();
                        if n >= 2 {
                            this.tail = [data[n - 2], data[n - 1]];
                        } else {
                            this.tail = [this.tail[1], data[0]];
                        }
                    }
                }
                this.last = tokio::time::Instant::now();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                let msg = format!(
                    "upstream `{}` broke off the response: {}",
                    this.upstream,
                    error_chain(&e)
                );
                this.fail(StatusCode::BAD_GATEWAY, "reset", msg)
            }
            Poll::Ready(None) => {
                this.done = true;
                if let Some(conn) = this.conn.take() {
                    this.pool.put(conn);
                }
                Poll::Ready(None)
            }
            Poll::Pending => match this.poll_idle(cx) {
                Poll::Ready(()) => {
                    let msg = format!(
                        "upstream `{}` sent nothing for {:.1}s (idle_timeout)",
                        this.upstream,
                        this.idle.as_secs_f64()
                    );
                    this.fail(StatusCode::GATEWAY_TIMEOUT, "idle_timeout", msg)
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.sse.is_some() {
            SizeHint::default()
        } else {
            self.inner.size_hint()
        }
    }
}

use std::future::Future as _;
