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
//! | `glassbox_fail_open_total` | counter | `detector` |
//! | `glassbox_policy_reloads_total` | counter | `result` |
//! | `glassbox_in_flight_requests` | gauge | — |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use glassbox_core::audit::{AuditSink, ContentDigester, DecisionEvent, Direction};

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

impl Histogram {
    fn observe(&mut self, buckets: &[f64], v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; buckets.len()];
        }
        for (i, b) in buckets.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
}

type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default)]
struct Store {
    counters: BTreeMap<&'static str, BTreeMap<Labels, u64>>,
    histograms: BTreeMap<&'static str, BTreeMap<Labels, Histogram>>,
}

#[derive(Debug, Default)]
struct Inner {
    store: Mutex<Store>,
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
        "glassbox_fail_open_total",
        "counter",
        "Detector failures let through by on_error: open.",
    ),
    (
        "glassbox_policy_reloads_total",
        "counter",
        "Policy reloads (SIGHUP) by result.",
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

    fn observe(&self, name: &'static str, labels: Labels, buckets: &[f64], v: f64) {
        if let Ok(mut s) = self.inner.store.lock() {
            s.histograms
                .entry(name)
                .or_default()
                .entry(labels)
                .or_default()
                .observe(buckets, v);
        }
    }

    /// A request answered.
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        self.add(
            "glassbox_requests_total",
            vec![("route", route.to_string()), ("status", status.to_string())],
            1,
        );
        self.observe(
            "glassbox_request_duration_seconds",
            vec![("route", route.to_string())],
            LATENCY_BUCKETS,
            elapsed.as_secs_f64(),
        );
    }

    /// Upstream time to response head.
    pub fn upstream_latency(&self, upstream: &str, elapsed: Duration) {
        self.observe(
            "glassbox_upstream_latency_seconds",
            vec![("upstream", upstream.to_string())],
            LATENCY_BUCKETS,
            elapsed.as_secs_f64(),
        );
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

    /// Counts a decision event: verdict, findings, hold-back, fail-opens.
    pub fn decision(&self, e: &DecisionEvent) {
        let direction = match e.direction {
            Direction::Request => "request",
            Direction::Response => "response",
            Direction::Scan => "scan",
            Direction::ModelCheck => "model_check",
        };
        self.add(
            "glassbox_decisions_total",
            vec![
                ("direction", direction.to_string()),
                ("verdict", e.verdict.as_str().to_string()),
            ],
            1,
        );
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
            self.observe(
                "glassbox_holdback_bytes",
                Vec::new(),
                HOLDBACK_BUCKETS,
                e.coverage.max_holdback as f64,
            );
        }
    }

    /// A request started; the guard ends it.
    pub fn in_flight(&self) -> InFlight {
        self.inner.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// A counter's value (tests and the demo).
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let Ok(s) = self.inner.store.lock() else {
            return 0;
        };
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
        let Ok(s) = self.inner.store.lock() else {
            return out;
        };
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
}
