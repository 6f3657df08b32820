//! Prometheus metrics, written in the text exposition format by hand (a handful of counters and
//! histograms do not need a registry crate). Labels carry route, status, upstream, category and
//! action names only: never content.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `glassbox_requests_total` | counter | `route`, `status` |
//! | `glassbox_request_duration_seconds` | histogram | `route` (time to response head) |
//! | `glassbox_upstream_latency_seconds` | histogram | `upstream` (time to response head) |
//! | `glassbox_upstream_errors_total` | counter | `upstream`, `kind` |
//! | `glassbox_decisions_total` | counter | `direction`, `verdict` |
//! | `glassbox_findings_total` | counter | `category`, `action` |
//! | `glassbox_holdback_bytes` | histogram | — (largest hold-back per screened stream) |
//! | `glassbox_classifier_lag_seconds` | histogram | `direction` (largest classifier lag per decision: a stream window's oldest byte to its verdict, or a whole text's classification time) |
//! | `glassbox_fail_open_total` | counter | `detector` |
//! | `glassbox_policy_reloads_total` | counter | `result` |
//! | `glassbox_tls_handshakes_total` | counter | `result` (`ok`, `failed`, `timeout`: clients of a TLS listener) |
//! | `glassbox_certificate_reloads_total` | counter | `result` (`applied`, `rejected`) |
//! | `glassbox_in_flight_requests` | gauge | — |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use glassbox_core::audit::{AuditSink, ContentDigester, DecisionEvent, Direction};
use glassbox_core::Action;

/// Latency buckets, seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Hold-back buckets, bytes.
const HOLDBACK_BUCKETS: &[f64] = &[
    0.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0, 16384.0, 65536.0,
];

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default, Clone)]
struct Store {
    counters: BTreeMap<&'static str, BTreeMap<Labels, u64>>,
    histograms: BTreeMap<&'static str, BTreeMap<Labels, Histogram>>,
}

/// A histogram updated without a lock (per-bucket counts, not cumulative; the exposition
/// adds them up).
#[derive(Debug)]
struct AtomicHistogram {
    buckets: &'static [f64],
    counts: Box<[AtomicU64]>,
    /// The sum, as `f64` bits.
    sum: AtomicU64,
    count: AtomicU64,
}

impl AtomicHistogram {
    fn new(buckets: &'static [f64]) -> Self {
        AtomicHistogram {
            buckets,
            counts: buckets.iter().map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, v: f64) {
        if let Some(i) = self.buckets.iter().position(|b| v <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + v).to_bits())
            });
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The cumulative form the exposition writes.
    fn snapshot(&self) -> Histogram {
        let mut acc = 0;
        let counts = self
            .counts
            .iter()
            .map(|c| {
                acc += c.load(Ordering::Relaxed);
                acc
            })
            .collect();
        Histogram {
            counts,
            sum: f64::from_bits(self.sum.load(Ordering::Relaxed)),
            count: self.count.load(Ordering::Relaxed),
        }
    }
}

/// The series every request touches, by route: a status table and a duration histogram,
/// found under a read lock and updated with atomics (no allocation once the route is known).
#[derive(Debug)]
struct RouteSeries {
    /// Answers by status code 100..=999 (index `status - 100`).
    statuses: Box<[AtomicU64]>,
    duration: AtomicHistogram,
}

impl RouteSeries {
    fn new() -> Self {
        RouteSeries {
            statuses: (100..1000).map(|_| AtomicU64::new(0)).collect(),
            duration: AtomicHistogram::new(LATENCY_BUCKETS),
        }
    }
}

const DIRECTIONS: [Direction; 4] = [
    Direction::Request,
    Direction::Response,
    Direction::Scan,
    Direction::ModelCheck,
];
const VERDICTS: [Action; 4] = [Action::Allow, Action::Annotate, Action::Mask, Action::Block];

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Request => "request",
        Direction::Response => "response",
        Direction::Scan => "scan",
        Direction::ModelCheck => "model_check",
    }
}

/// The lock-free per-request series.
#[derive(Debug)]
struct Hot {
    routes: RwLock<BTreeMap<Box<str>, Arc<RouteSeries>>>,
    upstreams: RwLock<BTreeMap<Box<str>, Arc<AtomicHistogram>>>,
    /// `glassbox_decisions_total`, by direction and verdict (indexes into the tables above).
    decisions: [[AtomicU64; 4]; 4],
    holdback: AtomicHistogram,
    /// `glassbox_classifier_lag_seconds` for requests and responses.
    classifier_lag: [AtomicHistogram; 2],
}

impl Default for Hot {
    fn default() -> Self {
        Hot {
            routes: RwLock::default(),
            upstreams: RwLock::default(),
            decisions: Default::default(),
            holdback: AtomicHistogram::new(HOLDBACK_BUCKETS),
            classifier_lag: [
                AtomicHistogram::new(LATENCY_BUCKETS),
                AtomicHistogram::new(LATENCY_BUCKETS),
            ],
        }
    }
}

/// The entry for `key`, made on first use (a read lock otherwise).
fn series<T>(
    map: &RwLock<BTreeMap<Box<str>, Arc<T>>>,
    key: &str,
    new: impl FnOnce() -> T,
) -> Arc<T> {
    if let Ok(m) = map.read() {
        if let Some(s) = m.get(key) {
            return Arc::clone(s);
        }
    }
    let mut m = match map.write() {
        Ok(m) => m,
        Err(p) => p.into_inner(),
    };
    Arc::clone(m.entry(key.into()).or_insert_with(|| Arc::new(new())))
}

fn read<T>(map: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    match map.read() {
        Ok(m) => m,
        Err(p) => p.into_inner(),
    }
}

impl Hot {
    /// Adds the hot series to a snapshot of the store, in its label form.
    fn fold_into(&self, s: &mut Store) {
        for (route, r) in read(&self.routes).iter() {
            let total = s.counters.entry("glassbox_requests_total").or_default();
            for (i, c) in r.statuses.iter().enumerate() {
                let n = c.load(Ordering::Relaxed);
                if n > 0 {
                    let labels = vec![
                        ("route", route.to_string()),
                        ("status", (i + 100).to_string()),
                    ];
                    *total.entry(labels).or_default() += n;
                }
            }
            s.histograms
                .entry("glassbox_request_duration_seconds")
                .or_default()
                .insert(vec![("route", route.to_string())], r.duration.snapshot());
        }
        for (upstream, h) in read(&self.upstreams).iter() {
            s.histograms
                .entry("glassbox_upstream_latency_seconds")
                .or_default()
                .insert(vec![("upstream", upstream.to_string())], h.snapshot());
        }
        for (d, row) in DIRECTIONS.iter().zip(&self.decisions) {
            for (v, c) in VERDICTS.iter().zip(row) {
                let n = c.load(Ordering::Relaxed);
                if n > 0 {
                    let labels = vec![
                        ("direction", direction_name(*d).to_string()),
                        ("verdict", v.as_str().to_string()),
                    ];
                    *s.counters
                        .entry("glassbox_decisions_total")
                        .or_default()
                        .entry(labels)
                        .or_default() += n;
                }
            }
        }
        if self.holdback.count.load(Ordering::Relaxed) > 0 {
            s.histograms
                .entry("glassbox_holdback_bytes")
                .or_default()
                .insert(Vec::new(), self.holdback.snapshot());
        }
        for (h, d) in self
            .classifier_lag
            .iter()
            .zip([Direction::Request, Direction::Response])
        {
            if h.count.load(Ordering::Relaxed) > 0 {
                s.histograms
                    .entry("glassbox_classifier_lag_seconds")
                    .or_default()
                    .insert(
                        vec![("direction", direction_name(d).to_string())],
                        h.snapshot(),
                    );
            }
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Rare series (errors, findings, reloads), by label set.
    store: Mutex<Store>,
    hot: Hot,
    in_flight: AtomicI64,
}

/// The proxy's metrics. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    inner: Arc<Inner>,
}

const HELP: &[(&str, &str, &str)] = &[
    (
        "glassbox_requests_total",
        "counter",
        "Requests answered, by route and status.",
    ),
    (
        "glassbox_request_duration_seconds",
        "histogram",
        "Time from request to response head, by route.",
    ),
    (
        "glassbox_upstream_latency_seconds",
        "histogram",
        "Time from forwarding to the upstream's response head.",
    ),
    (
        "glassbox_upstream_errors_total",
        "counter",
        "Upstream failures by kind (connect, timeout, broken, reset, idle_timeout).",
    ),
    (
        "glassbox_decisions_total",
        "counter",
        "Screening decisions by direction and verdict.",
    ),
    (
        "glassbox_findings_total",
        "counter",
        "Findings by category and action.",
    ),
    (
        "glassbox_holdback_bytes",
        "histogram",
        "Largest hold-back of each screened stream, bytes.",
    ),
    (
        "glassbox_classifier_lag_seconds",
        "histogram",
        "Largest classifier lag per decision, by direction.",
    ),
    (
        "glassbox_fail_open_total",
        "counter",
        "Detector failures let through by on_error: open.",
    ),
    (
        "glassbox_policy_reloads_total",
        "counter",
        "Policy reloads (SIGHUP) by result.",
    ),
    (
        "glassbox_tls_handshakes_total",
        "counter",
        "Client TLS handshakes by result.",
    ),
    (
        "glassbox_certificate_reloads_total",
        "counter",
        "TLS certificate reloads (SIGHUP) by result.",
    ),
];

impl Metrics {
    /// Fresh metrics.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&self, name: &'static str, labels: Labels, n: u64) {
        if let Ok(mut s) = self.inner.store.lock() {
            *s.counters
                .entry(name)
                .or_default()
                .entry(labels)
                .or_default() += n;
        }
    }

    /// The store with the hot series folded in: what the exposition and [`Metrics::counter`]
    /// read.
    fn snapshot(&self) -> Store {
        let mut s = match self.inner.store.lock() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        };
        self.inner.hot.fold_into(&mut s);
        s
    }

    /// A request answered.
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        let r = series(&self.inner.hot.routes, route, RouteSeries::new);
        let i = usize::from(status.clamp(100, 999) - 100);
        r.statuses[i].fetch_add(1, Ordering::Relaxed);
        r.duration.observe(elapsed.as_secs_f64());
    }

    /// Upstream time to response head.
    pub fn upstream_latency(&self, upstream: &str, elapsed: Duration) {
        series(&self.inner.hot.upstreams, upstream, || {
            AtomicHistogram::new(LATENCY_BUCKETS)
        })
        .observe(elapsed.as_secs_f64());
    }

    /// An upstream failure.
    pub fn upstream_error(&self, upstream: &str, kind: &'static str) {
        self.add(
            "glassbox_upstream_errors_total",
            vec![
                ("upstream", upstream.to_string()),
                ("kind", kind.to_string()),
            ],
            1,
        );
    }

    /// A policy reload; `ok` says whether it was applied.
    pub fn policy_reload(&self, ok: bool) {
        let result = if ok { "applied" } else { "rejected" };
        self.add(
            "glassbox_policy_reloads_total",
            vec![("result", result.to_string())],
            1,
        );
    }

    /// A client TLS handshake: `ok`, `failed` or `timeout`.
    pub fn tls_handshake(&self, result: &'static str) {
        self.add(
            "glassbox_tls_handshakes_total",
            vec![("result", result.to_string())],
            1,
        );
    }

    /// A certificate reload; `ok` says whether it was applied.
    pub fn certificate_reload(&self, ok: bool) {
        let result = if ok { "applied" } else { "rejected" };
        self.add(
            "glassbox_certificate_reloads_total",
            vec![("result", result.to_string())],
            1,
        );
    }

    /// Counts a decision event: verdict, findings, hold-back, fail-opens.
    pub fn decision(&self, e: &DecisionEvent) {
        let d = DIRECTIONS.iter().position(|d| *d == e.direction);
        let v = VERDICTS.iter().position(|v| *v == e.verdict);
        if let (Some(d), Some(v)) = (d, v) {
            self.inner.hot.decisions[d][v].fetch_add(1, Ordering::Relaxed);
        }
        for f in &e.findings {
            self.add(
                "glassbox_findings_total",
                vec![
                    ("category", f.category.clone()),
                    ("action", f.action.as_str().to_string()),
                ],
                1,
            );
        }
        for f in &e.fail_open {
            self.add(
                "glassbox_fail_open_total",
                vec![("detector", f.detector.clone())],
                1,
            );
        }
        if e.direction == Direction::Response && e.coverage.bytes_screened > 0 {
            self.inner
                .hot
                .holdback
                .observe(e.coverage.max_holdback as f64);
        }
        if let Some(ms) = e.coverage.classifier_lag_ms {
            let i = usize::from(e.direction == Direction::Response);
            self.inner.hot.classifier_lag[i].observe(ms as f64 / 1000.0);
        }
    }

    /// A request started; the guard ends it.
    pub fn in_flight(&self) -> InFlight {
        self.inner.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// A counter's value (tests and the demo).
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let s = self.snapshot();
        s.counters
            .get(name)
            .map(|m| {
                m.iter()
                    .filter(|(ls, _)| {
                        labels
                            .iter()
                            .all(|(k, v)| ls.iter().any(|(lk, lv)| lk == k && lv == v))
                    })
                    .map(|(_, n)| *n)
                    .sum()
            })
            .unwrap_or(0)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let s = self.snapshot();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            if let Some(series) = s.counters.get(name) {
                for (labels, v) in series {
                    let _ = writeln!(out, "{name}{} {v}", fmt_labels(labels, None));
                }
            }
            if let Some(series) = s.histograms.get(name) {
                let buckets = if *name == "glassbox_holdback_bytes" {
                    HOLDBACK_BUCKETS
                } else {
                    LATENCY_BUCKETS
                };
                for (labels, h) in series {
                    for (i, b) in buckets.iter().enumerate() {
                        let c = h.counts.get(i).copied().unwrap_or(0);
                        let _ = writeln!(
                            out,
                            "{name}_bucket{} {c}",
                            fmt_labels(labels, Some(&b.to_string()))
                        );
                    }
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {}",
                        fmt_labels(labels, Some("+Inf")),
                        h.count
                    );
                    let _ = writeln!(out, "{name}_sum{} {}", fmt_labels(labels, None), h.sum);
                    let _ = writeln!(out, "{name}_count{} {}", fmt_labels(labels, None), h.count);
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP glassbox_in_flight_requests Requests being served now (streams included).\n\
             # TYPE glassbox_in_flight_requests gauge\nglassbox_in_flight_requests {}",
            self.inner.in_flight.load(Ordering::Relaxed)
        );
        out
    }
}

/// Decrements the in-flight gauge when dropped.
#[derive(Debug)]
pub struct InFlight(Metrics);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.inner.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn fmt_labels(labels: &Labels, le: Option<&str>) -> String {
    if labels.is_empty() && le.is_none() {
        return String::new();
    }
    let mut s = String::from("{");
    let mut first = true;
    for (k, v) in labels
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(le.map(|l| ("le", l)))
    {
        if !first {
            s.push(',');
        }
        first = false;
        let _ = write!(s, "{k}=\"{}\"", escape(v));
    }
    s.push('}');
    s
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// An audit sink that counts every decision in [`Metrics`] and hands it on to another sink.
pub struct MeteredSink {
    metrics: Metrics,
    next: Arc<dyn AuditSink>,
}

impl MeteredSink {
    /// Counts into `metrics`, then records into `next`.
    pub fn new(metrics: Metrics, next: Arc<dyn AuditSink>) -> Self {
        MeteredSink { metrics, next }
    }
}

impl AuditSink for MeteredSink {
    fn record(&self, event: DecisionEvent) {
        self.metrics.decision(&event);
        if !event.fail_open.is_empty() {
            for f in &event.fail_open {
                tracing::warn!(request_id = %event.request_id, detector = %f.detector, reason = %f.reason, "detector failed open");
            }
        }
        self.next.record(event);
    }

    fn digester(&self) -> Option<Box<dyn ContentDigester>> {
        self.next.digester()
    }

    fn wants_raw_content(&self) -> bool {
        self.next.wants_raw_content()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_core::audit::FindingRecord;

    #[test]
    fn exposition_has_counters_histograms_and_escapes() {
        let m = Metrics::new();
        m.request("/v1/chat/completions", 200, Duration::from_millis(3));
        m.request("/v1/chat/completions", 200, Duration::from_millis(30));
        m.upstream_error("a\"b", "connect");
        let text = m.render();
        assert!(text
            .contains("glassbox_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 2"));
        assert!(text.contains(
            "glassbox_request_duration_seconds_bucket{route=\"/v1/chat/completions\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "glassbox_request_duration_seconds_bucket{route=\"/v1/chat/completions\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains("upstream=\"a\\\"b\""));
        assert!(text.contains("# TYPE glassbox_holdback_bytes histogram"));
        assert_eq!(
            m.counter("glassbox_requests_total", &[("status", "200")]),
            2
        );
        let g = m.in_flight();
        assert!(m.render().contains("glassbox_in_flight_requests 1"));
        drop(g);
        assert!(m.render().contains("glassbox_in_flight_requests 0"));
    }

    fn event(direction: Direction, verdict: Action, holdback: u64) -> DecisionEvent {
        DecisionEvent {
            request_id: "r".into(),
            route: "/v1/chat/completions".into(),
            direction,
            tenant: None,
            model: None,
            model_licence: None,
            policy_id: "p".into(),
            policy_sha256: "s".into(),
            detectors: Vec::new(),
            findings: vec![FindingRecord {
                category: "pii.email".into(),
                action: verdict,
                detector: "pii".into(),
                start: 0,
                len: 3,
                score: 1.0,
            }],
            verdict,
            content_digests: Vec::new(),
            coverage: glassbox_core::audit::Coverage {
                bytes_screened: 10,
                max_holdback: holdback,
                ..Default::default()
            },
            fail_open: Vec::new(),
            outcome: glassbox_core::audit::Outcome::Completed,
            raw_content: Vec::new(),
        }
    }

    #[test]
    fn decisions_upstream_latency_and_holdback_are_exposed() {
        let m = Metrics::new();
        for (direction, verdict, holdback) in [
            (Direction::Request, Action::Allow, 0),
            (Direction::Request, Action::Allow, 0),
            (Direction::Response, Action::Mask, 20),
            (Direction::ModelCheck, Action::Block, 0),
        ] {
            m.decision(&event(direction, verdict, holdback));
        }
        let mut classified = event(Direction::Response, Action::Allow, 20);
        classified.coverage.classifier_lag_ms = Some(30);
        classified.findings.clear();
        m.decision(&classified);
        m.upstream_latency("default", Duration::from_micros(700));
        m.request("/v1/*", 502, Duration::from_millis(2));
        let text = m.render();
        assert!(
            !text.contains("glassbox_classifier_lag_seconds_count{direction=\"request\"}"),
            "no request was classified"
        );
        for line in [
            "glassbox_decisions_total{direction=\"request\",verdict=\"allow\"} 2",
            "glassbox_decisions_total{direction=\"response\",verdict=\"mask\"} 1",
            "glassbox_decisions_total{direction=\"response\",verdict=\"allow\"} 1",
            "glassbox_decisions_total{direction=\"model_check\",verdict=\"block\"} 1",
            "glassbox_findings_total{category=\"pii.email\",action=\"allow\"} 2",
            "glassbox_upstream_latency_seconds_bucket{upstream=\"default\",le=\"0.0005\"} 0",
            "glassbox_upstream_latency_seconds_bucket{upstream=\"default\",le=\"0.001\"} 1",
            "glassbox_upstream_latency_seconds_count{upstream=\"default\"} 1",
            "glassbox_holdback_bytes_bucket{le=\"16\"} 0",
            "glassbox_holdback_bytes_bucket{le=\"32\"} 2",
            "glassbox_classifier_lag_seconds_bucket{direction=\"response\",le=\"0.025\"} 0",
            "glassbox_classifier_lag_seconds_bucket{direction=\"response\",le=\"0.05\"} 1",
            "glassbox_classifier_lag_seconds_count{direction=\"response\"} 1",
            "glassbox_requests_total{route=\"/v1/*\",status=\"502\"} 1",
        ] {
            assert!(text.contains(line), "missing `{line}` in:\n{text}");
        }
        assert!(!text.contains("verdict=\"annotate\""));
        assert_eq!(
            m.counter("glassbox_decisions_total", &[("direction", "request")]),
            2
        );
    }
}
