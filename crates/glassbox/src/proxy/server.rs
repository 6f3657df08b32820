//! The proxy server: routing, authentication, body limits, policy selection, screening and
//! forwarding; `/healthz`, `/readyz`, `/metrics`; graceful shutdown.
//!
//! A request goes: request id → route (404) → auth (401) → body read within the limit (413) →
//! for screened routes, JSON check (400) and policy selection by tenant and model → the screen
//! layer → the upstream (502/504). Every error is in the route's API shape.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use glassbox_core::AuditSink;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use tokio::net::TcpListener;

use super::auth::{Auth, Caller};
use super::config::{Config, RouteConfig, SCREENED_PATHS};
use super::error::{ApiError, ApiKind};
use super::metrics::{MeteredSink, Metrics};
use super::policies::PolicySet;
use super::upstream::Upstream;
use super::REQUEST_ID;

/// A resolved route.
#[derive(Debug, Clone)]
pub struct Route {
    /// The configured path (`/v1/*` for prefixes); the metrics label.
    pub pattern: Arc<str>,
    /// Where it goes.
    pub upstream: Upstream,
    /// Whether request and response are screened.
    pub screen: bool,
    /// The API shape for errors on this route.
    pub api: ApiKind,
}

/// The route table: exact paths, then prefixes longest first.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    exact: HashMap<String, Arc<Route>>,
    prefixes: Vec<(String, Arc<Route>)>,
}

impl Routes {
    /// Builds the table.
    ///
    /// # Errors
    /// When a route names an unknown upstream (config validation catches this first).
    pub fn new(
        routes: &[RouteConfig],
        upstreams: &HashMap<String, Upstream>,
    ) -> Result<Routes, String> {
        let mut table = Routes::default();
        for r in routes {
            let upstream = upstreams
                .get(&r.upstream)
                .cloned()
                .ok_or_else(|| format!("route `{}`: no upstream `{}`", r.path, r.upstream))?;
            let screenable = SCREENED_PATHS.contains(&r.path.as_str());
            let route = Arc::new(Route {
                pattern: r.path.as_str().into(),
                api: if r.path.starts_with("/v1/messages") {
                    ApiKind::Anthropic
                } else {
                    upstream.kind
                },
                upstream,
                screen: r.screen.unwrap_or(screenable),
            });
            match r.path.strip_suffix('*') {
                Some(prefix) => table.prefixes.push((prefix.to_string(), route)),
                None => {
                    table.exact.insert(r.path.clone(), route);
                }
            }
        }
        table.prefixes.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        Ok(table)
    }

    /// The route for a path.
    pub fn find(&self, path: &str) -> Option<&Arc<Route>> {
        self.exact.get(path).or_else(|| {
            self.prefixes
                .iter()
                .find(|(p, _)| path.starts_with(p.as_str()))
                .map(|(_, r)| r)
        })
    }
}

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Routes.
    pub routes: Arc<Routes>,
    /// Upstreams by name (for `/readyz`).
    pub upstreams: Arc<Vec<Upstream>>,
    /// Client keys.
    pub auth: Arc<Auth>,
    /// The live policies.
    pub policies: PolicySet,
    /// Metrics.
    pub metrics: Metrics,
    /// Where decisions go (already counted into `metrics`).
    pub sink: Arc<dyn AuditSink>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// The screen layer around [`Forward`].
    pub screen: glassbox_tower::Screen<Forward>,
    /// Source of generated request ids.
    ids: Arc<RequestIds>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("routes", &self.routes)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state for `config` with `policies`, sending decisions to `sink`.
    ///
    /// # Errors
    /// When an upstream or the key table cannot be built.
    pub fn new(
        config: &Config,
        policies: PolicySet,
        sink: Arc<dyn AuditSink>,
        metrics: Metrics,
    ) -> anyhow::Result<AppState> {
        let mut upstreams = HashMap::new();
        for (name, u) in &config.upstreams {
            let up =
                Upstream::new(name, u).map_err(|e| anyhow::anyhow!("upstreams.{name}: {e}"))?;
            upstreams.insert(name.clone(), up);
        }
        let routes =
            Routes::new(&config.effective_routes(), &upstreams).map_err(|e| anyhow::anyhow!(e))?;
        let auth = Auth::new(&config.auth).map_err(|e| anyhow::anyhow!(e))?;
        let sink: Arc<dyn AuditSink> = Arc::new(MeteredSink::new(metrics.clone(), sink));
        let default_engine = policies
            .current()
            .select(None, None)
            .map(|s| s.engine)
            .ok_or_else(|| anyhow::anyhow!("the default policy is not loaded"))?;
        let screen = tower::Layer::layer(
            &glassbox_tower::ScreenLayer::new(default_engine)
                .audit_sink(sink.clone())
                .selector(ProxySelector {
                    policies: policies.clone(),
                })
                .model_gate(LicenceGate::new(policies.clone()))
                .max_request_bytes(config.limits.max_body_bytes),
            Forward,
        );
        let mut ups: Vec<Upstream> = upstreams.into_values().collect();
        ups.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(AppState {
            routes: Arc::new(routes),
            upstreams: Arc::new(ups),
            auth: Arc::new(auth),
            policies,
            metrics,
            sink,
            max_body_bytes: config.limits.max_body_bytes,
            screen,
            ids: Arc::new(RequestIds::new()),
        })
    }
}

/// Generates request ids: `gb-<process start, hex>-<counter>`; unique per process run.
#[derive(Debug)]
struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        RequestIds {
            prefix: format!("gb-{t:x}-{:x}", std::process::id()),
            next: AtomicU64::new(1),
        }
    }

    fn next(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .unwrap_or_else(|_| HeaderValue::from_static("gb-unknown"))
    }
}

/// The routes the proxy answers itself plus the fallback that proxies everything else.
pub fn app(state: AppState) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(proxy)
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> Response<Body> {
    let engines = state.policies.current();
    let mut lines = Vec::new();
    let mut ready = true;
    for (name, id, sha) in engines.summary() {
        lines.push(format!(
            "policy {name}: loaded (id {id}, sha256 {})",
            &sha[..sha.len().min(12)]
        ));
    }
    let probes = state.upstreams.iter().cloned().map(|u| async move {
        let r = u.probe().await;
        (u.name.clone(), u.url(), r)
    });
    for (name, url, r) in futures_join(probes).await {
        match r {
            Ok(()) => lines.push(format!("upstream {name} ({url}): reachable")),
            Err(e) => {
                ready = false;
                lines.push(format!("upstream {name} ({url}): NOT READY: {e}"));
            }
        }
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut res = Response::new(Body::from(lines.join("\n") + "\n"));
    *res.status_mut() = status;
    res
}

/// Runs futures concurrently (a handful of upstream probes; no need for futures-util).
async fn futures_join<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}

async fn metrics(axum::extract::State(state): axum::extract::State<AppState>) -> Response<Body> {
    let mut res = Response::new(Body::from(state.metrics.render()));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// The proxy handler.
async fn proxy(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request<Body>,
) -> Response<Body> {
    let started = Instant::now();
    let _in_flight = state.metrics.in_flight();
    let (mut parts, body) = req.into_parts();
    let request_id = match parts.headers.get(REQUEST_ID) {
        Some(v) if !v.is_empty() && v.len() <= 128 => v.clone(),
        _ => {
            let id = state.ids.next();
            parts.headers.insert(REQUEST_ID, id.clone());
            id
        }
    };
    // Per-request logs are at debug level: at the default `info` the hot path formats nothing
    // (refusals and upstream failures are still logged, with the request id).
    let span = tracing::debug_span!(
        "request",
        request_id = %request_id.to_str().unwrap_or("?"),
        method = %parts.method,
        path = %parts.uri.path(),
    );
    let Some(route) = state.routes.find(parts.uri.path()).cloned() else {
        let path = parts.uri.path();
        let e = ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "no route for `{path}`: this proxy serves the paths listed in its `routes` \
                 configuration"
            ),
        );
        state.metrics.request("unrouted", 404, started.elapsed());
        let _g = span.enter();
        tracing::info!(
            request_id = request_id.to_str().unwrap_or("?"),
            path,
            status = 404,
            "no route"
        );
        return e.response(ApiKind::of_path(path), Some(&request_id));
    };
    let res = handle(&state, &route, parts, body, &request_id)
        .await
        .unwrap_or_else(|e| {
            let _g = span.enter();
            tracing::info!(request_id = request_id.to_str().unwrap_or("?"), status = e.status.as_u16(), error = %e.message, "refused");
            e.response(route.api, Some(&request_id))
        });
    let status = res.status().as_u16();
    state
        .metrics
        .request(&route.pattern, status, started.elapsed());
    let _g = span.enter();
    tracing::debug!(
        status,
        route = %route.pattern,
        upstream = %route.upstream.name,
        screened = route.screen,
        ms = started.elapsed().as_secs_f64() * 1e3,
        "answered"
    );
    res
}

async fn handle(
    state: &AppState,
    route: &Arc<Route>,
    mut parts: http::request::Parts,
    body: Body,
    request_id: &HeaderValue,
) -> Result<Response<Body>, ApiError> {
    let caller = state.auth.check(&parts.headers)?;
    if let Some(len) = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > state.max_body_bytes as u64 {
            return Err(too_large(len, state.max_body_bytes));
        }
    }
    let bytes = Limited::new(body, state.max_body_bytes)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                too_large(0, state.max_body_bytes)
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("could not read the request body: {e}"),
                )
            }
        })?
        .to_bytes();
    parts.headers.insert(REQUEST_ID, request_id.clone());
    let mut req = Request::from_parts(parts, Full::new(bytes));
    req.extensions_mut().insert(Target {
        route: Arc::clone(route),
        strip_auth: state.auth.enabled(),
        metrics: state.metrics.clone(),
    });
    req.extensions_mut().insert(caller);
    let mut res = if route.screen {
        match tower::ServiceExt::oneshot(state.screen.clone(), req).await {
            Ok(r) => r.map(Body::new),
            Err(never) => match never {},
        }
    } else {
        forward(req).await
    };
    res.headers_mut().insert(REQUEST_ID, request_id.clone());
    Ok(res)
}

fn too_large(len: u64, max: usize) -> ApiError {
    let got = if len > 0 {
        format!("{len} bytes")
    } else {
        "more".to_string()
    };
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is too large: {got}, the limit is {max} bytes (limits.max_body_bytes)"),
    )
}

/// Where a request goes; attached as a request extension for [`Forward`].
#[derive(Debug, Clone)]
pub struct Target {
    route: Arc<Route>,
    strip_auth: bool,
    metrics: Metrics,
}

/// Picks the policy of a screened request: the model's override, else the caller's, else
/// the default; read from the live set, so a reload applies to the next request.
struct ProxySelector {
    policies: PolicySet,
}

/// The served model's licence, checked against the `licenses.models` section of the policy that
/// applies to the model, before a request is forwarded (glassbox-license's registry: operator
/// entries, then the built-in model licences). `block` refuses with 403 naming the licence and
/// why; the licence is recorded with every decision about the request.
struct LicenceGate {
    policies: PolicySet,
    /// One registry per policy source (keyed by its sha256), built on first use.
    registries: std::sync::RwLock<HashMap<String, Arc<glassbox_license::ModelRegistry>>>,
    /// Decisions already made. Resolving a model's licence globs its name against every
    /// registry entry (with the date and reason formatting, over half the user-space
    /// instructions of a small JSON request before this cache); the answer depends only on the
    /// policy source, the tenant, the model and the day (approvals expire), so it is kept,
    /// keyed by those. Model names come from clients, so the cache stops growing at
    /// [`GATE_CACHE_CAP`] entries; later names are checked each time.
    decided: std::sync::RwLock<GateCache>,
}

/// Most (policy, tenant, model) decisions the licence gate keeps.
const GATE_CACHE_CAP: usize = 4096;

/// Gate decisions by policy sha256, then tenant (`None` for unauthenticated callers), then model.
#[derive(Default)]
struct GateCache {
    by_policy: HashMap<String, PolicyGateCache>,
    len: usize,
}

#[derive(Default)]
struct PolicyGateCache {
    anonymous: HashMap<String, (u64, glassbox_tower::GateDecision)>,
    tenants: HashMap<String, HashMap<String, (u64, glassbox_tower::GateDecision)>>,
}

impl GateCache {
    fn get(
        &self,
        sha: &str,
        tenant: Option<&str>,
        model: &str,
        day: u64,
    ) -> Option<glassbox_tower::GateDecision> {
        let p = self.by_policy.get(sha)?;
        let models = match tenant {
            None => &p.anonymous,
            Some(t) => p.tenants.get(t)?,
        };
        models
            .get(model)
            .filter(|(d, _)| *d == day)
            .map(|(_, decision)| decision.clone())
    }

    fn insert(
        &mut self,
        sha: &str,
        tenant: Option<&str>,
        model: &str,
        day: u64,
        decision: glassbox_tower::GateDecision,
    ) {
        let known = self
            .by_policy
            .get(sha)
            .and_then(|p| match tenant {
                None => Some(&p.anonymous),
                Some(t) => p.tenants.get(t),
            })
            .is_some_and(|models| models.contains_key(model));
        if !known && self.len >= GATE_CACHE_CAP {
            return;
        }
        let p = self.by_policy.entry(sha.to_string()).or_default();
        let models = match tenant {
            None => &mut p.anonymous,
            Some(t) => p.tenants.entry(t.to_string()).or_default(),
        };
        if models.insert(model.to_string(), (day, decision)).is_none() {
            self.len += 1;
        }
    }
}

impl LicenceGate {
    fn new(policies: PolicySet) -> Self {
        LicenceGate {
            policies,
            registries: std::sync::RwLock::new(HashMap::new()),
            decided: std::sync::RwLock::new(GateCache::default()),
        }
    }

    fn registry(&self, policy: &glassbox_core::Policy) -> Arc<glassbox_license::ModelRegistry> {
        if let Some(r) = self
            .registries
            .read()
            .ok()
            .and_then(|m| m.get(&policy.sha256).cloned())
        {
            return r;
        }
        let r = Arc::new(glassbox_license::ModelRegistry::new(&policy.licenses));
        if let Ok(mut m) = self.registries.write() {
            m.insert(policy.sha256.clone(), Arc::clone(&r));
        }
        r
    }

    /// The decision, without the cache.
    fn decide(
        &self,
        policy: &glassbox_core::Policy,
        tenant: Option<&str>,
        model: &str,
    ) -> glassbox_tower::GateDecision {
        let check =
            glassbox_license::check_model(&self.registry(policy), model, &policy.licenses, tenant);
        let licence = check.licence.as_ref().map(|l| l.licence.clone());
        if check.verdict == glassbox_core::Action::Block {
            glassbox_tower::GateDecision::Block {
                reason: check.reason,
                licence,
            }
        } else {
            glassbox_tower::GateDecision::Allow { licence }
        }
    }
}

impl glassbox_tower::ModelGate for LicenceGate {
    fn check(&self, tenant: Option<&str>, model: Option<&str>) -> glassbox_tower::GateDecision {
        let Some(model) = model else {
            return glassbox_tower::GateDecision::allow();
        };
        let Some(selected) = self.policies.current().select(None, Some(model)) else {
            return glassbox_tower::GateDecision::allow();
        };
        let policy = selected.engine.policy();
        let day = glassbox_license::models::utc_day();
        if let Some(d) = self
            .decided
            .read()
            .ok()
            .and_then(|c| c.get(&policy.sha256, tenant, model, day))
        {
            return d;
        }
        let decision = self.decide(policy, tenant, model);
        if let Ok(mut c) = self.decided.write() {
            c.insert(&policy.sha256, tenant, model, day, decision.clone());
        }
        decision
    }
}

impl glassbox_tower::Selector for ProxySelector {
    fn select(
        &self,
        parts: &http::request::Parts,
        model: Option<&str>,
    ) -> Option<glassbox_tower::Selection> {
        let caller = parts.extensions.get::<Caller>();
        let selected = self
            .policies
            .current()
            .select(caller.and_then(|c| c.policy.as_deref()), model)?;
        let mut s = glassbox_tower::Selection::new(selected.engine);
        if let Some(t) = caller.and_then(|c| c.tenant.clone()) {
            s = s.tenant(t);
        }
        Some(s)
    }
}

async fn forward(req: Request<Full<Bytes>>) -> Response<Body> {
    match Forward.call_inner(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// The innermost service: sends a request to the upstream its [`Target`] extension names.
/// Failures become error responses in the route's API shape, so the service never errs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Forward;

impl Forward {
    async fn call_inner(self, req: Request<Full<Bytes>>) -> Result<Response<Body>, Infallible> {
        let Some(target) = req.extensions().get::<Target>().cloned() else {
            let e = ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "request has no target");
            return Ok(e.response(ApiKind::Openai, None));
        };
        let request_id = req.headers().get(REQUEST_ID).cloned();
        let Route {
            upstream,
            screen: screened,
            api,
            ..
        } = &*target.route;
        let (screened, api) = (*screened, *api);
        match upstream
            .forward(req, target.strip_auth, screened, api, &target.metrics)
            .await
        {
            Ok(res) => {
                let (parts, body) = res.into_parts();
                if screened && parts.status.is_success() {
                    if let Some(e) = unexpected_content_type(&parts.headers, upstream) {
                        return Ok(e.response(api, request_id.as_ref()));
                    }
                }
                if parts.status.is_server_error() && !is_json(&parts.headers) {
                    let e = ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        format!(
                            "upstream `{}` failed with {} and a non-JSON body",
                            upstream.name, parts.status
                        ),
                    );
                    return Ok(e.response(api, request_id.as_ref()));
                }
                Ok(Response::from_parts(parts, Body::new(body)))
            }
            Err(e) => {
                let e = e.api_error();
                tracing::warn!(request_id = request_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("?"), upstream = %upstream.name, error = %e.message, "upstream failed");
                Ok(e.response(api, request_id.as_ref()))
            }
        }
    }
}

impl tower::Service<Request<Full<Bytes>>> for Forward {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Full<Bytes>>) -> Self::Future {
        Box::pin(self.call_inner(req))
    }
}

fn content_type(h: &http::HeaderMap) -> &str {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn is_json(h: &http::HeaderMap) -> bool {
    let ct = content_type(h);
    ct.starts_with("application/json") || ct.contains("+json")
}

/// A screened route needs JSON or SSE back to know where the text is.
fn unexpected_content_type(h: &http::HeaderMap, upstream: &Upstream) -> Option<ApiError> {
    let ct = content_type(h);
    if is_json(h) || ct.starts_with("text/event-stream") {
        return None;
    }
    Some(ApiError::new(
        StatusCode::BAD_GATEWAY,
        format!(
            "upstream `{}` answered with content-type `{}`, not JSON or an event stream; \
             glassbox cannot screen it, so it is withheld",
            upstream.name,
            if ct.is_empty() { "(none)" } else { ct }
        ),
    ))
}

/// A running proxy.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Signal to stop (graceful).
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The server task.
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The certificate presented to clients, when serving TLS (reloadable).
    pub tls: Option<Arc<super::tls::ServerTls>>,
}

impl Running {
    /// Stops accepting, waits for in-flight requests (streams included) up to `grace`.
    ///
    /// # Errors
    /// When the server failed, or in-flight work outlived `grace`.
    pub async fn shutdown(mut self, grace: Duration) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match tokio::time::timeout(grace, &mut self.task).await {
            Ok(Ok(r)) => Ok(r?),
            Ok(Err(e)) => Err(anyhow::anyhow!("the server task failed: {e}")),
            Err(_) => {
                self.task.abort();
                Err(anyhow::anyhow!(
                    "in-flight requests were still running after {grace:?}; cut off"
                ))
            }
        }
    }
}

/// Turns off Nagle's algorithm on an accepted connection: streamed answers are written event
/// by event, and without this each small write after the first waits for the client's
/// (delayed) ACK.
pub fn set_nodelay(stream: &mut tokio::net::TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY on an accepted connection");
    }
}

/// Serves `state` on `listener` until [`Running::shutdown`], over TLS when `tls` is given.
///
/// # Errors
/// When the listener has no local address.
pub fn spawn(
    listener: TcpListener,
    state: AppState,
    tls: Option<Arc<super::tls::ServerTls>>,
) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let metrics = state.metrics.clone();
    let app = app(state);
    let stop = async move {
        let _ = rx.await;
    };
    let task = match tls.clone() {
        None => {
            let listener = axum::serve::ListenerExt::tap_io(listener, set_nodelay);
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop)
                    .await
            })
        }
        Some(certs) => {
            let listener = super::tls::TlsListener::new(listener, certs, metrics)?;
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop)
                    .await
            })
        }
    };
    Ok(Running {
        addr,
        shutdown: Some(tx),
        task,
        tls,
    })
}

/// Starts a proxy for `config` on its `listen` address (port 0 for an ephemeral one) with the
/// given policies and audit sink: what `glassbox proxy`, the demo and the tests run.
///
/// # Errors
/// When an upstream cannot be built or the address cannot be bound.
pub async fn start(
    config: &Config,
    policies: PolicySet,
    sink: Arc<dyn AuditSink>,
    metrics: Metrics,
) -> anyhow::Result<(Running, AppState)> {
    let state = AppState::new(config, policies, sink, metrics)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let tls = match &config.tls {
        None => None,
        Some(t) => Some(
            super::tls::ServerTls::load(&t.cert_file, &t.key_file)
                .map(Arc::new)
                .map_err(|e| anyhow::anyhow!("tls: {e}"))?,
        ),
    };
    let running = spawn(listener, state.clone(), tls)?;
    Ok((running, state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_tower::GateDecision;

    fn block(reason: &str) -> GateDecision {
        GateDecision::Block {
            reason: reason.into(),
            licence: Some("LicenseRef-X".into()),
        }
    }

    #[test]
    fn gate_cache_keys_by_policy_tenant_model_and_day() {
        let mut c = GateCache::default();
        c.insert("p1", None, "m", 10, block("anonymous"));
        c.insert("p1", Some("acme"), "m", 10, GateDecision::allow());
        assert_eq!(c.get("p1", None, "m", 10), Some(block("anonymous")));
        assert_eq!(
            c.get("p1", Some("acme"), "m", 10),
            Some(GateDecision::allow())
        );
        assert_eq!(c.get("p1", Some("other"), "m", 10), None);
        assert_eq!(c.get("p2", None, "m", 10), None, "another policy source");
        assert_eq!(
            c.get("p1", None, "m", 11),
            None,
            "a new day is decided again"
        );
        c.insert("p1", None, "m", 11, block("next day"));
        assert_eq!(c.get("p1", None, "m", 11), Some(block("next day")));
        assert_eq!(c.len, 2, "refreshing an entry does not count it twice");
    }

    #[test]
    fn gate_cache_stops_growing_at_its_cap_but_refreshes_known_entries() {
        let mut c = GateCache::default();
        for i in 0..GATE_CACHE_CAP {
            c.insert("p", None, &format!("model-{i}"), 1, GateDecision::allow());
        }
        c.insert("p", None, "one-too-many", 1, GateDecision::allow());
        assert_eq!(c.get("p", None, "one-too-many", 1), None);
        assert_eq!(c.len, GATE_CACHE_CAP);
        c.insert("p", None, "model-0", 2, block("expired approval"));
        assert_eq!(
            c.get("p", None, "model-0", 2),
            Some(block("expired approval"))
        );
    }
}
