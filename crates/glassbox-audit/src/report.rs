//! The compliance report: one pass over a store that verifies every chain and counts decisions
//! per policy, category, action and time bucket, fail-open and overflow events, detector and
//! model versions and the model licence inventory. Rendered as self-contained HTML (inline CSS
//! and SVG charts, no scripts, no network), JSON or CSV with the same numbers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use ed25519_dalek::VerifyingKey;
use glassbox_core::Action;
use serde::Serialize;

use crate::record::{DecisionBody, Kind, OverflowBody, RecoveredBody};
use crate::store::{self, Item};
use crate::time::format_rfc3339;
use crate::verify::{redacted_store, ChainReport, ChainVerifier};
use crate::{keys, AuditError};

/// What to report on.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Only decisions at or after this time (Unix ms).
    pub from_ms: Option<i64>,
    /// Only decisions before this time (Unix ms, exclusive).
    pub to_ms: Option<i64>,
    /// Trusted public key for checkpoint signatures.
    pub public_key: Option<VerifyingKey>,
    /// Time stamped on the report (Unix ms); `None` for now.
    pub generated_ms: Option<i64>,
}

/// Verdict counts in action order: allow, annotate, mask, block.
pub type ActionCounts = [u64; 4];

const ACTIONS: [Action; 4] = [Action::Allow, Action::Annotate, Action::Mask, Action::Block];
const ACTION_COLORS: [&str; 4] = ["#9aa5b1", "#3b82f6", "#f59e0b", "#dc2626"];
const PALETTE: [&str; 7] = [
    "#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#6b7280",
];

fn ai(a: Action) -> usize {
    match a {
        Action::Allow => 0,
        Action::Annotate => 1,
        Action::Mask => 2,
        Action::Block => 3,
    }
}

/// The period covered.
#[derive(Debug, Clone, Serialize)]
pub struct Period {
    /// `--from`, RFC 3339.
    pub from: Option<String>,
    /// `--to` (exclusive), RFC 3339.
    pub to: Option<String>,
    /// First decision in the period.
    pub first_decision: Option<String>,
    /// Last decision in the period.
    pub last_decision: Option<String>,
}

/// Period totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Decisions in the period.
    pub decisions: u64,
    /// Decisions by verdict.
    pub by_verdict: BTreeMap<String, u64>,
    /// Decisions by outcome.
    pub by_outcome: BTreeMap<String, u64>,
    /// Decisions by direction.
    pub by_direction: BTreeMap<String, u64>,
    /// Findings in the period.
    pub findings: u64,
    /// Fail-open events in the period.
    pub fail_open_events: u64,
    /// Events dropped by queue overflow in the period.
    pub dropped_events: u64,
    /// Torn tails recovered (whole store).
    pub recoveries: u64,
    /// Chains (instances).
    pub instances: u64,
    /// Whether every chain verified.
    pub chains_intact: bool,
}

/// Decisions of one policy.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyRow {
    /// Policy id.
    pub policy_id: String,
    /// Policy source digests seen.
    pub policy_sha256: Vec<String>,
    /// Decisions.
    pub decisions: u64,
    /// By verdict: allow, annotate, mask, block.
    pub by_verdict: ActionCounts,
}

/// Findings of one category.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryRow {
    /// Category.
    pub category: String,
    /// Findings.
    pub findings: u64,
    /// By action: allow, annotate, mask, block.
    pub by_action: ActionCounts,
}

/// One time bucket.
#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    /// Start, RFC 3339.
    pub start: String,
    /// Start, Unix ms.
    pub start_ms: i64,
    /// Decisions by verdict: allow, annotate, mask, block.
    pub by_verdict: ActionCounts,
    /// Findings by category.
    pub by_category: BTreeMap<String, u64>,
}

/// A fail-open event.
#[derive(Debug, Clone, Serialize)]
pub struct FailOpenRow {
    /// When.
    pub time: String,
    /// Instance.
    pub instance: String,
    /// Record seq.
    pub seq: u64,
    /// Request id.
    pub request_id: String,
    /// Route.
    pub route: String,
    /// Detector.
    pub detector: String,
    /// Why it failed.
    pub reason: String,
}

/// An overflow (dropped events) record.
#[derive(Debug, Clone, Serialize)]
pub struct OverflowRow {
    /// When recorded.
    pub time: String,
    /// Instance.
    pub instance: String,
    /// Events dropped.
    pub dropped: u64,
    /// First drop.
    pub first_dropped: String,
    /// Last drop.
    pub last_dropped: String,
    /// Policy.
    pub policy: String,
}

/// A torn tail cut after a crash.
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryRow {
    /// When recorded.
    pub time: String,
    /// Instance.
    pub instance: String,
    /// What was cut.
    pub detail: RecoveredBody,
}

/// A detector or model version in use.
#[derive(Debug, Clone, Serialize)]
pub struct DetectorRow {
    /// Name.
    pub name: String,
    /// Version or digest.
    pub digest: String,
    /// Decisions made with it.
    pub decisions: u64,
    /// First seen.
    pub first_seen: String,
    /// Last seen.
    pub last_seen: String,
}

/// A served model and its licence.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRow {
    /// Model name.
    pub model: String,
    /// Licence (SPDX or LicenseRef-*), or `unknown`.
    pub licence: String,
    /// Decisions.
    pub decisions: u64,
    /// Decisions blocked.
    pub blocked: u64,
    /// First seen.
    pub first_seen: String,
    /// Last seen.
    pub last_seen: String,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Store (password redacted).
    pub store: String,
    /// When generated.
    pub generated: String,
    /// Trusted key id, when given.
    pub trusted_key_id: Option<String>,
    /// Period.
    pub period: Period,
    /// Totals.
    pub summary: Summary,
    /// Per policy.
    pub policies: Vec<PolicyRow>,
    /// Per category.
    pub categories: Vec<CategoryRow>,
    /// Bucket width in ms.
    pub bucket_ms: i64,
    /// Over time.
    pub timeline: Vec<Bucket>,
    /// Fail-open events.
    pub fail_open: Vec<FailOpenRow>,
    /// Fail-open events per detector.
    pub fail_open_by_detector: BTreeMap<String, u64>,
    /// Overflow records.
    pub overflows: Vec<OverflowRow>,
    /// Recoveries.
    pub recoveries: Vec<RecoveryRow>,
    /// Detector and model versions in use.
    pub detectors: Vec<DetectorRow>,
    /// Model licence inventory.
    pub models: Vec<ModelRow>,
    /// Chain verification, per instance.
    pub chains: Vec<ChainReport>,
}

#[derive(Default)]
struct Seen {
    count: u64,
    blocked: u64,
    first: i64,
    last: i64,
}

impl Seen {
    fn add(&mut self, ts: i64, blocked: bool) {
        if self.count == 0 || ts < self.first {
            self.first = ts;
        }
        if self.count == 0 || ts > self.last {
            self.last = ts;
        }
        self.count += 1;
        self.blocked += u64::from(blocked);
    }
}

#[derive(Default)]
struct Acc {
    decisions: Vec<(i64, ActionCounts, BTreeMap<String, u64>)>,
    summary: Summary,
    policies: BTreeMap<String, (BTreeSet<String>, u64, ActionCounts)>,
    categories: BTreeMap<String, (u64, ActionCounts)>,
    fail_open: Vec<FailOpenRow>,
    fail_open_by_detector: BTreeMap<String, u64>,
    overflows: Vec<OverflowRow>,
    recoveries: Vec<RecoveryRow>,
    detectors: BTreeMap<(String, String), Seen>,
    models: BTreeMap<(String, String), Seen>,
    first: Option<i64>,
    last: Option<i64>,
}

impl Acc {
    fn in_period(&self, ts: i64, o: &ReportOptions) -> bool {
        o.from_ms.is_none_or(|f| ts >= f) && o.to_ms.is_none_or(|t| ts < t)
    }

    fn decision(&mut self, instance: &str, seq: u64, ts: i64, body: DecisionBody) {
        let ev = body.event;
        let s = &mut self.summary;
        s.decisions += 1;
        *s.by_verdict.entry(ev.verdict.to_string()).or_default() += 1;
        *s.by_outcome.entry(enum_name(&ev.outcome)).or_default() += 1;
        *s.by_direction.entry(enum_name(&ev.direction)).or_default() += 1;
        s.findings += ev.findings.len() as u64;
        s.fail_open_events += ev.fail_open.len() as u64;
        self.first = Some(self.first.map_or(ts, |f| f.min(ts)));
        self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
        let p = self.policies.entry(ev.policy_id.clone()).or_default();
        p.0.insert(ev.policy_sha256.clone());
        p.1 += 1;
        p.2[ai(ev.verdict)] += 1;
        let mut verdict = [0u64; 4];
        verdict[ai(ev.verdict)] = 1;
        let mut cats = BTreeMap::new();
        for f in &ev.findings {
            let c = self.categories.entry(f.category.clone()).or_default();
            c.0 += 1;
            c.1[ai(f.action)] += 1;
            *cats.entry(f.category.clone()).or_default() += 1;
        }
        self.decisions.push((ts, verdict, cats));
        for fo in &ev.fail_open {
            *self
                .fail_open_by_detector
                .entry(fo.detector.clone())
                .or_default() += 1;
            self.fail_open.push(FailOpenRow {
                time: format_rfc3339(ts),
                instance: instance.to_string(),
                seq,
                request_id: ev.request_id.clone(),
                route: ev.route.clone(),
                detector: fo.detector.clone(),
                reason: fo.reason.clone(),
            });
        }
        let blocked = ev.verdict == Action::Block;
        for d in &ev.detectors {
            self.detectors
                .entry((d.name.clone(), d.digest.clone()))
                .or_default()
                .add(ts, blocked);
        }
        if ev.model.is_some() || ev.model_licence.is_some() {
            let key = (
                ev.model.clone().unwrap_or_else(|| "unknown".into()),
                ev.model_licence.clone().unwrap_or_else(|| "unknown".into()),
            );
            self.models.entry(key).or_default().add(ts, blocked);
        }
    }
}

fn enum_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Picks a bucket width so the period has at most 48 buckets.
fn bucket_width(span_ms: i64) -> i64 {
    const WIDTHS: [i64; 9] = [
        60_000,
        300_000,
        900_000,
        3_600_000,
        6 * 3_600_000,
        86_400_000,
        7 * 86_400_000,
        30 * 86_400_000,
        365 * 86_400_000,
    ];
    WIDTHS
        .iter()
        .copied()
        .find(|w| span_ms / w < 48)
        .unwrap_or(WIDTHS[WIDTHS.len() - 1])
}

/// Builds the report over `store`.
///
/// # Errors
/// The store cannot be read. Damage in a chain is reported in [`Report::chains`]; decisions after
/// a chain's first bad record are not counted.
pub fn build_report(store: &str, opts: &ReportOptions) -> Result<Report, AuditError> {
    let mut acc = Acc::default();
    let mut chains = Vec::new();
    let mut cur: Option<ChainVerifier> = None;
    let mut decode_problem: Option<String> = None;
    store::scan(store, &mut |item| {
        match item {
            Item::Chain(label) => {
                if let Some(v) = cur.replace(ChainVerifier::new(label, opts.public_key)) {
                    chains.push(v.finish());
                }
            }
            Item::Fault { loc, what } => {
                if let Some(v) = cur.as_mut() {
                    v.fault(&loc, &what);
                }
            }
            Item::Record {
                loc,
                bytes,
                stored_hash,
            } => {
                let Some(v) = cur.as_mut() else { return Ok(()) };
                let Some(h) = v.push(&loc, bytes, &stored_hash) else {
                    return Ok(());
                };
                match h.kind {
                    Kind::Decision if acc.in_period(h.ts_ms, opts) => {
                        match serde_json::from_slice::<DecisionBody>(h.body) {
                            Ok(b) => acc.decision(h.instance, h.seq, h.ts_ms, b),
                            Err(e) => {
                                decode_problem.get_or_insert(format!(
                                    "record seq {} ({loc}): decision body: {e}",
                                    h.seq
                                ));
                            }
                        }
                    }
                    Kind::Overflow if acc.in_period(h.ts_ms, opts) => {
                        if let Ok(b) = serde_json::from_slice::<OverflowBody>(h.body) {
                            acc.summary.dropped_events += b.dropped;
                            acc.overflows.push(OverflowRow {
                                time: format_rfc3339(h.ts_ms),
                                instance: h.instance.to_string(),
                                dropped: b.dropped,
                                first_dropped: format_rfc3339(b.first_dropped_ms),
                                last_dropped: format_rfc3339(b.last_dropped_ms),
                                policy: b.policy,
                            });
                        }
                    }
                    Kind::Recovered => {
                        if let Ok(b) = serde_json::from_slice::<RecoveredBody>(h.body) {
                            acc.recoveries.push(RecoveryRow {
                                time: format_rfc3339(h.ts_ms),
                                instance: h.instance.to_string(),
                                detail: b,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    })?;
    if let Some(v) = cur {
        chains.push(v.finish());
    }
    if let Some(p) = decode_problem {
        return Err(AuditError::Corrupt {
            store: redacted_store(store),
            reason: p,
        });
    }
    Ok(finish(store, acc, chains, opts))
}

fn finish(store: &str, mut acc: Acc, chains: Vec<ChainReport>, opts: &ReportOptions) -> Report {
    let start = opts.from_ms.or(acc.first).unwrap_or(0);
    let end = opts.to_ms.or(acc.last.map(|l| l + 1)).unwrap_or(start + 1);
    let bucket_ms = bucket_width((end - start).max(1));
    let first_bucket = start.div_euclid(bucket_ms) * bucket_ms;
    let n = usize::try_from((end - 1 - first_bucket).div_euclid(bucket_ms) + 1)
        .unwrap_or(1)
        .clamp(1, 400);
    let mut timeline: Vec<Bucket> = (0..n)
        .map(|i| {
            let s = first_bucket + i as i64 * bucket_ms;
            Bucket {
                start: format_rfc3339(s),
                start_ms: s,
                by_verdict: [0; 4],
                by_category: BTreeMap::new(),
            }
        })
        .collect();
    for (ts, v, cats) in std::mem::take(&mut acc.decisions) {
        let i = usize::try_from((ts - first_bucket).div_euclid(bucket_ms))
            .unwrap_or(0)
            .min(n - 1);
        let b = &mut timeline[i];
        for (acc, x) in b.by_verdict.iter_mut().zip(v) {
            *acc += x;
        }
        for (c, x) in cats {
            *b.by_category.entry(c).or_default() += x;
        }
    }
    let mut policies: Vec<PolicyRow> = acc
        .policies
        .into_iter()
        .map(|(id, (shas, d, v))| PolicyRow {
            policy_id: id,
            policy_sha256: shas.into_iter().collect(),
            decisions: d,
            by_verdict: v,
        })
        .collect();
    policies.sort_by(|a, b| {
        b.decisions
            .cmp(&a.decisions)
            .then(a.policy_id.cmp(&b.policy_id))
    });
    let mut categories: Vec<CategoryRow> = acc
        .categories
        .into_iter()
        .map(|(c, (n, a))| CategoryRow {
            category: c,
            findings: n,
            by_action: a,
        })
        .collect();
    categories.sort_by(|a, b| {
        b.findings
            .cmp(&a.findings)
            .then(a.category.cmp(&b.category))
    });
    let detectors = acc
        .detectors
        .into_iter()
        .map(|((name, digest), s)| DetectorRow {
            name,
            digest,
            decisions: s.count,
            first_seen: format_rfc3339(s.first),
            last_seen: format_rfc3339(s.last),
        })
        .collect();
    let models = acc
        .models
        .into_iter()
        .map(|((model, licence), s)| ModelRow {
            model,
            licence,
            decisions: s.count,
            blocked: s.blocked,
            first_seen: format_rfc3339(s.first),
            last_seen: format_rfc3339(s.last),
        })
        .collect();
    let mut summary = acc.summary;
    summary.recoveries = acc.recoveries.len() as u64;
    summary.instances = chains.len() as u64;
    summary.chains_intact = chains.iter().all(ChainReport::ok);
    Report {
        store: redacted_store(store),
        generated: format_rfc3339(opts.generated_ms.unwrap_or_else(crate::time::now_ms)),
        trusted_key_id: opts.public_key.as_ref().map(keys::public_key_id),
        period: Period {
            from: opts.from_ms.map(format_rfc3339),
            to: opts.to_ms.map(format_rfc3339),
            first_decision: acc.first.map(format_rfc3339),
            last_decision: acc.last.map(format_rfc3339),
        },
        summary,
        policies,
        categories,
        bucket_ms,
        timeline,
        fail_open: acc.fail_open,
        fail_open_by_detector: acc.fail_open_by_detector,
        overflows: acc.overflows,
        recoveries: acc.recoveries,
        detectors,
        models,
        chains,
    }
}

// === JSON and CSV ===

/// The report as pretty JSON.
pub fn to_json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The report's numbers as CSV, one number a row: `section,key,subkey,metric,value`.
pub fn to_csv(r: &Report) -> String {
    let mut out = String::from("section,key,subkey,metric,value\n");
    let mut row =
        |section: &str, key: &str, sub: &str, metric: &str, value: &dyn std::fmt::Display| {
            let _ = writeln!(
                out,
                "{},{},{},{},{}",
                csv_field(section),
                csv_field(key),
                csv_field(sub),
                csv_field(metric),
                csv_field(&value.to_string())
            );
        };
    let s = &r.summary;
    row(
        "period",
        "from",
        "",
        "time",
        &r.period.from.as_deref().unwrap_or(""),
    );
    row(
        "period",
        "to",
        "",
        "time",
        &r.period.to.as_deref().unwrap_or(""),
    );
    row("summary", "", "", "decisions", &s.decisions);
    row("summary", "", "", "findings", &s.findings);
    row("summary", "", "", "fail_open_events", &s.fail_open_events);
    row("summary", "", "", "dropped_events", &s.dropped_events);
    row("summary", "", "", "recoveries", &s.recoveries);
    row("summary", "", "", "instances", &s.instances);
    row("summary", "", "", "chains_intact", &s.chains_intact);
    for (k, v) in &s.by_verdict {
        row("verdict", k, "", "decisions", v);
    }
    for (k, v) in &s.by_outcome {
        row("outcome", k, "", "decisions", v);
    }
    for (k, v) in &s.by_direction {
        row("direction", k, "", "decisions", v);
    }
    for p in &r.policies {
        row("policy", &p.policy_id, "", "decisions", &p.decisions);
        for (i, a) in ACTIONS.iter().enumerate() {
            row(
                "policy",
                &p.policy_id,
                a.as_str(),
                "decisions",
                &p.by_verdict[i],
            );
        }
    }
    for c in &r.categories {
        row("category", &c.category, "", "findings", &c.findings);
        for (i, a) in ACTIONS.iter().enumerate() {
            row(
                "category",
                &c.category,
                a.as_str(),
                "findings",
                &c.by_action[i],
            );
        }
    }
    for b in &r.timeline {
        for (i, a) in ACTIONS.iter().enumerate() {
            row(
                "timeline",
                &b.start,
                a.as_str(),
                "decisions",
                &b.by_verdict[i],
            );
        }
        for (c, n) in &b.by_category {
            row("timeline_category", &b.start, c, "findings", n);
        }
    }
    for (d, n) in &r.fail_open_by_detector {
        row("fail_open", d, "", "events", n);
    }
    for o in &r.overflows {
        row("overflow", &o.instance, &o.time, "dropped", &o.dropped);
    }
    for d in &r.detectors {
        row("detector", &d.name, &d.digest, "decisions", &d.decisions);
    }
    for m in &r.models {
        row("model", &m.model, &m.licence, "decisions", &m.decisions);
        row("model", &m.model, &m.licence, "blocked", &m.blocked);
    }
    for c in &r.chains {
        let inst = c.instance.as_deref().unwrap_or("");
        row(
            "chain",
            inst,
            if c.ok() { "intact" } else { "broken" },
            "records",
            &c.records,
        );
        row("chain", inst, "", "checkpoints", &c.checkpoints.len());
        row(
            "chain",
            inst,
            "",
            "signed_checkpoints",
            &c.checkpoints.iter().filter(|k| k.signed).count(),
        );
        row("chain", inst, "", "unsigned_tail", &c.unsigned_tail);
    }
    out
}

// === HTML ===

/// Escapes text for HTML (element content and attribute values).
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn nice_max(m: u64) -> u64 {
    if m <= 4 {
        return 4;
    }
    let mag = 10u64.pow((m as f64).log10().floor() as u32);
    for f in [1, 2, 4, 5, 10] {
        if f * mag >= m {
            return f * mag;
        }
    }
    10 * mag
}

fn short_label(iso: &str, bucket_ms: i64) -> String {
    // 2026-11-25T18:20:03.123Z → "11-25 18:20" or "2026-11-25" for day buckets.
    if bucket_ms >= 86_400_000 {
        iso.get(..10).unwrap_or(iso).to_string()
    } else {
        format!(
            "{} {}",
            iso.get(5..10).unwrap_or(""),
            iso.get(11..16).unwrap_or("")
        )
    }
}

/// A stacked bar chart: one bar per label, one colour per series.
fn svg_stacked(
    id: &str,
    title: &str,
    labels: &[String],
    series: &[(String, &str, Vec<u64>)],
) -> String {
    let (w, h, ml, mr, mt, mb) = (880.0, 290.0, 56.0, 36.0, 50.0, 44.0);
    let pw = w - ml - mr;
    let ph = h - mt - mb;
    let n = labels.len().max(1);
    let totals: Vec<u64> = (0..n)
        .map(|i| {
            series
                .iter()
                .map(|s| s.2.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = nice_max(totals.iter().copied().max().unwrap_or(0));
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg id="{id}" class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"##,
        t = esc(title)
    );
    // Legend, wrapping onto a second row when it is wider than the plot.
    let (mut lx, mut ly) = (ml, 10.0);
    for (name, color, _) in series {
        let item_w = 26.0 + 6.8 * name.chars().count() as f64;
        if lx + item_w > w - mr && lx > ml {
            lx = ml;
            ly += 16.0;
        }
        let _ = write!(
            s,
            r##"<rect x="{lx:.1}" y="{ly}" width="12" height="12" fill="{color}"/><text x="{:.1}" y="{}" class="lg">{}</text>"##,
            lx + 16.0,
            ly + 10.0,
            esc(name)
        );
        lx += item_w;
    }
    // Grid and y labels.
    for k in 0..=4u64 {
        let y = mt + ph - ph * k as f64 / 4.0;
        let v = max * k / 4;
        let _ = write!(
            s,
            r##"<line x1="{ml}" x2="{}" y1="{y:.1}" y2="{y:.1}" class="grid"/><text x="{}" y="{:.1}" class="ax" text-anchor="end">{v}</text>"##,
            ml + pw,
            ml - 6.0,
            y + 4.0
        );
    }
    let slot = pw / n as f64;
    let bw = (slot * 0.78).max(1.0);
    let every = n.div_ceil(8);
    for (i, label) in labels.iter().enumerate() {
        let x = ml + slot * i as f64 + (slot - bw) / 2.0;
        let mut y = mt + ph;
        for (name, color, vals) in series {
            let v = vals.get(i).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let bh = ph * v as f64 / max as f64;
            y -= bh;
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" fill="{color}"><title>{}: {} {v}</title></rect>"##,
                esc(label),
                esc(name)
            );
        }
        if i % every == 0 {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{}" class="ax" text-anchor="middle">{}</text>"##,
                ml + slot * (i as f64 + 0.5),
                mt + ph + 18.0,
                esc(label)
            );
        }
    }
    let _ = write!(
        s,
        r##"<line x1="{ml}" x2="{}" y1="{}" y2="{}" class="axis"/></svg>"##,
        ml + pw,
        mt + ph,
        mt + ph
    );
    s
}

/// Horizontal stacked bars: one row per label.
fn svg_hbars(id: &str, title: &str, rows: &[(String, ActionCounts)]) -> String {
    let row_h = 26.0;
    let (w, ml, mr, mt) = (880.0, 220.0, 60.0, 34.0);
    let h = mt + row_h * rows.len().max(1) as f64 + 10.0;
    let pw = w - ml - mr;
    let max = rows
        .iter()
        .map(|r| r.1.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg id="{id}" class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"##,
        t = esc(title)
    );
    let mut lx = ml;
    for (i, a) in ACTIONS.iter().enumerate() {
        let _ = write!(
            s,
            r##"<rect x="{lx}" y="8" width="12" height="12" fill="{}"/><text x="{}" y="18" class="lg">{}</text>"##,
            ACTION_COLORS[i],
            lx + 16.0,
            a.as_str()
        );
        lx += 90.0;
    }
    for (r, (label, counts)) in rows.iter().enumerate() {
        let y = mt + row_h * r as f64;
        let _ = write!(
            s,
            r##"<text x="{}" y="{:.1}" class="ax" text-anchor="end">{}</text>"##,
            ml - 8.0,
            y + 16.0,
            esc(label)
        );
        let mut x = ml;
        for (i, v) in counts.iter().enumerate() {
            if *v == 0 {
                continue;
            }
            let bw = pw * *v as f64 / max as f64;
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{}" fill="{}"><title>{}: {} {v}</title></rect>"##,
                y + 4.0,
                row_h - 8.0,
                ACTION_COLORS[i],
                esc(label),
                ACTIONS[i].as_str()
            );
            x += bw;
        }
        let total: u64 = counts.iter().sum();
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" class="ax">{total}</text>"##,
            x + 6.0,
            y + 16.0
        );
    }
    s.push_str("</svg>");
    s
}

const CSS: &str = r#"
body{font:14px/1.45 "DejaVu Sans",Arial,Helvetica,sans-serif;color:#1f2933;margin:0;background:#f5f7fa}
main{max-width:920px;margin:0 auto;padding:24px 20px 48px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e4e7eb;padding-bottom:4px}
.meta{color:#52606d;font-size:13px}.meta code{font-size:12px}
.status{padding:12px 14px;border-radius:6px;margin:16px 0;font-weight:600}
.ok{background:#e3f9e5;color:#05400a;border:1px solid #91e697}.bad{background:#ffe3e3;color:#610404;border:1px solid #ff9b9b}
.warn{background:#fffbea;color:#513c06;border:1px solid #f7d070}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{flex:1 1 120px;border:1px solid #e4e7eb;border-radius:6px;padding:10px 12px}
.card .n{font-size:24px;font-weight:700}.card .l{color:#52606d;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13px}
th,td{border-bottom:1px solid #e4e7eb;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f5f7fa;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:"DejaVu Sans Mono",monospace;font-size:12px;word-break:break-all}
.chart{max-width:100%;height:auto}.chart .grid{stroke:#e4e7eb}.chart .axis{stroke:#9aa5b1}
.chart .ax{font-size:11px;fill:#52606d}.chart .lg{font-size:12px;fill:#1f2933}
.muted{color:#7b8794}footer{margin-top:32px;color:#7b8794;font-size:12px}
@media print{body{background:#fff}main{padding:0}}
"#;

fn card(out: &mut String, id: &str, label: &str, n: u64) {
    let _ = write!(
        out,
        r#"<div class="card"><div class="n" id="{id}">{n}</div><div class="l">{}</div></div>"#,
        esc(label)
    );
}

/// The report as one self-contained HTML page (inline CSS and SVG; no scripts, no fetches).
pub fn to_html(r: &Report) -> String {
    let s = &r.summary;
    let mut o = String::with_capacity(64 << 10);
    let _ = write!(
        o,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"><title>glassbox audit report</title><style>{CSS}</style></head><body><main>"#
    );
    let period = format!(
        "{} → {}",
        r.period
            .from
            .as_deref()
            .or(r.period.first_decision.as_deref())
            .unwrap_or("start"),
        r.period
            .to
            .as_deref()
            .or(r.period.last_decision.as_deref())
            .unwrap_or("end"),
    );
    let _ = write!(
        o,
        r#"<h1>glassbox audit report</h1><div class="meta">Period <b id="period">{}</b><br>Store <code>{}</code> · generated {}{}</div>"#,
        esc(&period),
        esc(&r.store),
        esc(&r.generated),
        match &r.trusted_key_id {
            Some(k) => format!(" · trusted public key <code>{}</code>", esc(k)),
            None =>
                " · no public key given: signatures checked against the key recorded in the chain"
                    .into(),
        }
    );
    // Chain status banner.
    let bad: Vec<&ChainReport> = r.chains.iter().filter(|c| !c.ok()).collect();
    if r.chains.is_empty() {
        o.push_str(r#"<div class="status warn" id="chain-status">No audit chain found in this store.</div>"#);
    } else if bad.is_empty() {
        let unsigned = r
            .chains
            .iter()
            .any(|c| c.key_status == crate::verify::KeyStatus::Unsigned);
        let _ = write!(
            o,
            r#"<div class="status {}" id="chain-status">Chain verification: INTACT — {} chain(s), {} records, every hash and link checked{}.</div>"#,
            if unsigned { "warn" } else { "ok" },
            r.chains.len(),
            r.chains.iter().map(|c| c.records).sum::<u64>(),
            if unsigned {
                "; some checkpoints are UNSIGNED"
            } else {
                "; checkpoint signatures valid"
            }
        );
    } else {
        let _ = write!(
            o,
            r#"<div class="status bad" id="chain-status">Chain verification: NOT INTACT — {} of {} chain(s) damaged.<br>"#,
            bad.len(),
            r.chains.len()
        );
        for c in &bad {
            if let Some(p) = &c.problem {
                let _ = write!(
                    o,
                    "{}: {}<br>",
                    esc(c.instance.as_deref().unwrap_or(&c.chain)),
                    esc(&p.to_string())
                );
            }
        }
        o.push_str(
            "Counts below include only records before the first bad record of each chain.</div>",
        );
    }
    // Summary cards.
    let v = |k: &str| s.by_verdict.get(k).copied().unwrap_or(0);
    o.push_str(r#"<h2>Summary</h2><div class="cards">"#);
    card(&mut o, "total-decisions", "decisions", s.decisions);
    card(&mut o, "total-block", "blocked", v("block"));
    card(&mut o, "total-mask", "masked", v("mask"));
    card(&mut o, "total-annotate", "annotated", v("annotate"));
    card(&mut o, "total-allow", "allowed", v("allow"));
    card(&mut o, "total-findings", "findings", s.findings);
    card(
        &mut o,
        "total-fail-open",
        "fail-open events",
        s.fail_open_events,
    );
    card(&mut o, "total-dropped", "events dropped", s.dropped_events);
    o.push_str("</div>");
    if !s.by_outcome.is_empty() {
        o.push_str(r#"<table id="outcomes"><tr><th>Outcome</th><th class="n">Decisions</th></tr>"#);
        for (k, n) in &s.by_outcome {
            let _ = write!(o, r#"<tr><td>{}</td><td class="n">{n}</td></tr>"#, esc(k));
        }
        o.push_str("</table>");
    }
    // Over time.
    let labels: Vec<String> = r
        .timeline
        .iter()
        .map(|b| short_label(&b.start, r.bucket_ms))
        .collect();
    let verdict_series: Vec<(String, &str, Vec<u64>)> = ACTIONS
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                a.as_str().to_string(),
                ACTION_COLORS[i],
                r.timeline.iter().map(|b| b.by_verdict[i]).collect(),
            )
        })
        .collect();
    let _ =
        write!(
        o,
        "<h2>Decisions over time</h2><p class=\"muted\">Verdict per decision, {} buckets.</p>{}",
        esc(&human_width(r.bucket_ms)),
        svg_stacked("chart-verdicts", "Decisions over time by verdict", &labels, &verdict_series)
    );
    let top: Vec<&str> = r
        .categories
        .iter()
        .take(6)
        .map(|c| c.category.as_str())
        .collect();
    let mut cat_series: Vec<(String, &str, Vec<u64>)> = top
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                c.to_string(),
                PALETTE[i],
                r.timeline
                    .iter()
                    .map(|b| b.by_category.get(*c).copied().unwrap_or(0))
                    .collect(),
            )
        })
        .collect();
    if r.categories.len() > top.len() {
        cat_series.push((
            "other".into(),
            PALETTE[6],
            r.timeline
                .iter()
                .map(|b| {
                    b.by_category
                        .iter()
                        .filter(|(c, _)| !top.contains(&c.as_str()))
                        .map(|(_, n)| n)
                        .sum()
                })
                .collect(),
        ));
    }
    let _ = write!(
        o,
        "<h2>Findings over time by category</h2>{}",
        svg_stacked(
            "chart-categories",
            "Findings over time by category",
            &labels,
            &cat_series
        )
    );
    // Policies.
    o.push_str("<h2>Decisions per policy</h2>");
    if r.policies.is_empty() {
        o.push_str(r#"<p class="muted">No decisions in this period.</p>"#);
    } else {
        let rows: Vec<(String, ActionCounts)> = r
            .policies
            .iter()
            .map(|p| (p.policy_id.clone(), p.by_verdict))
            .collect();
        o.push_str(&svg_hbars(
            "chart-policies",
            "Decisions per policy by verdict",
            &rows,
        ));
        o.push_str(r#"<table id="policies"><tr><th>Policy</th><th>Source SHA-256</th><th class="n">Decisions</th><th class="n">allow</th><th class="n">annotate</th><th class="n">mask</th><th class="n">block</th></tr>"#);
        for p in &r.policies {
            let shas: Vec<String> = p
                .policy_sha256
                .iter()
                .map(|h| format!("<code>{}</code>", esc(h)))
                .collect();
            let _ = write!(
                o,
                r#"<tr data-policy="{id}"><td>{id}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                shas.join("<br>"),
                p.decisions,
                p.by_verdict[0],
                p.by_verdict[1],
                p.by_verdict[2],
                p.by_verdict[3],
                id = esc(&p.policy_id)
            );
        }
        o.push_str("</table>");
    }
    // Categories.
    o.push_str("<h2>Findings per category and action</h2>");
    if r.categories.is_empty() {
        o.push_str(r#"<p class="muted">No findings in this period.</p>"#);
    } else {
        o.push_str(r#"<table id="categories"><tr><th>Category</th><th class="n">Findings</th><th class="n">annotate</th><th class="n">mask</th><th class="n">block</th></tr>"#);
        for c in &r.categories {
            let _ = write!(
                o,
                r#"<tr data-category="{cat}"><td>{cat}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                c.findings,
                c.by_action[1],
                c.by_action[2],
                c.by_action[3],
                cat = esc(&c.category)
            );
        }
        o.push_str("</table>");
    }
    // Fail-open, overflow, recovery.
    o.push_str("<h2>Fail-open events</h2>");
    if r.fail_open.is_empty() {
        o.push_str(r#"<p class="muted" id="fail-open-none">None: every detector ran on every screened text in this period.</p>"#);
    } else {
        o.push_str(r#"<p>Texts that policy let through although a detector failed (<code>on_error: open</code>).</p><table id="fail-open"><tr><th>Time</th><th>Instance</th><th>Request</th><th>Route</th><th>Detector</th><th>Reason</th></tr>"#);
        for f in r.fail_open.iter().take(200) {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&f.time),
                esc(&f.instance),
                esc(&f.request_id),
                esc(&f.route),
                esc(&f.detector),
                esc(&f.reason)
            );
        }
        o.push_str("</table>");
        if r.fail_open.len() > 200 {
            let _ = write!(
                o,
                r#"<p class="muted">{} more in the JSON export.</p>"#,
                r.fail_open.len() - 200
            );
        }
    }
    if !r.overflows.is_empty() || !r.recoveries.is_empty() {
        o.push_str("<h2>Gaps the trail itself recorded</h2><table id=\"gaps\"><tr><th>Time</th><th>Instance</th><th>What</th></tr>");
        for x in &r.overflows {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>queue overflow: {} event(s) dropped between {} and {} (policy {})</td></tr>",
                esc(&x.time),
                esc(&x.instance),
                x.dropped,
                esc(&x.first_dropped),
                esc(&x.last_dropped),
                esc(&x.policy)
            );
        }
        for x in &r.recoveries {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>crash recovery: {} torn byte(s) cut at {} ({}), sha256 <code>{}</code></td></tr>",
                esc(&x.time),
                esc(&x.instance),
                x.detail.bytes,
                esc(&x.detail.location),
                esc(&x.detail.reason),
                esc(&x.detail.sha256)
            );
        }
        o.push_str("</table>");
    }
    // Models and detectors.
    o.push_str("<h2>Model licence inventory</h2>");
    if r.models.is_empty() {
        o.push_str(r#"<p class="muted">No served model was named in this period.</p>"#);
    } else {
        o.push_str(r#"<table id="models"><tr><th>Model</th><th>Licence</th><th class="n">Decisions</th><th class="n">Blocked</th><th>First seen</th><th>Last seen</th></tr>"#);
        for m in &r.models {
            let _ = write!(
                o,
                r#"<tr><td>{}</td><td><code>{}</code></td><td class="n">{}</td><td class="n">{}</td><td>{}</td><td>{}</td></tr>"#,
                esc(&m.model),
                esc(&m.licence),
                m.decisions,
                m.blocked,
                esc(&m.first_seen),
                esc(&m.last_seen)
            );
        }
        o.push_str("</table>");
    }
    o.push_str("<h2>Detector and model versions in use</h2>");
    if r.detectors.is_empty() {
        o.push_str(r#"<p class="muted">No detector versions recorded.</p>"#);
    } else {
        o.push_str(r#"<table id="detectors"><tr><th>Detector / model</th><th>Version or digest</th><th class="n">Decisions</th><th>First seen</th><th>Last seen</th></tr>"#);
        for d in &r.detectors {
            let _ = write!(
                o,
                r#"<tr><td>{}</td><td><code>{}</code></td><td class="n">{}</td><td>{}</td><td>{}</td></tr>"#,
                esc(&d.name),
                esc(&d.digest),
                d.decisions,
                esc(&d.first_seen),
                esc(&d.last_seen)
            );
        }
        o.push_str("</table>");
    }
    // Chains.
    o.push_str(r#"<h2>Chain verification</h2><table id="chains"><tr><th>Instance</th><th>Status</th><th class="n">Records</th><th class="n">Checkpoints</th><th>Signatures</th><th>Last record</th></tr>"#);
    for c in &r.chains {
        let status = match &c.problem {
            Some(p) => format!(
                r#"<b style="color:#b91c1c">broken</b>: {}"#,
                esc(&p.to_string())
            ),
            None if c.closed => "intact, closed".into(),
            None => "intact, open (writer running or stopped without closing)".into(),
        };
        let sig = match c.key_status {
            crate::verify::KeyStatus::Trusted => "verified with trusted key",
            crate::verify::KeyStatus::Declared => "verified with key recorded in chain",
            crate::verify::KeyStatus::Unsigned => "unsigned",
        };
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td>{status}</td><td class="n">{}</td><td class="n">{}</td><td>{sig}{}</td><td>{}</td></tr>"#,
            esc(c.instance.as_deref().unwrap_or(&c.chain)),
            c.records,
            c.checkpoints.len(),
            if c.unsigned_tail > 0 {
                format!("; last {} record(s) not yet covered", c.unsigned_tail)
            } else {
                String::new()
            },
            c.last_ts_ms.map(format_rfc3339).unwrap_or_default()
        );
    }
    o.push_str("</table>");
    for c in &r.chains {
        if c.checkpoints.is_empty() {
            continue;
        }
        let _ = write!(
            o,
            r#"<p><b>Checkpoints of {}</b> ({} in all{}):</p><table class="checkpoints"><tr><th class="n">Seq</th><th>Time</th><th>Reason</th><th>Signed</th></tr>"#,
            esc(c.instance.as_deref().unwrap_or(&c.chain)),
            c.checkpoints.len(),
            if c.checkpoints.len() > 12 {
                "; first 3 and last 9 shown, all in the JSON export"
            } else {
                ""
            }
        );
        let n = c.checkpoints.len();
        for (i, k) in c.checkpoints.iter().enumerate() {
            if n > 12 && i >= 3 && i < n - 9 {
                if i == 3 {
                    o.push_str(r#"<tr><td colspan="4" class="muted">…</td></tr>"#);
                }
                continue;
            }
            let _ = write!(
                o,
                r#"<tr><td class="n">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                k.seq,
                esc(&k.time),
                enum_name(&k.reason),
                if k.signed { "yes" } else { "no" }
            );
        }
        o.push_str("</table>");
    }
    o.push_str(r#"<footer>Generated by glassbox-audit. Records hold no screened text: content is identified by HMAC-SHA256 digests under the deployment key. Re-check at any time with <code>glassbox audit verify --store STORE --public-key FILE</code>.</footer></main></body></html>"#);
    o
}

fn human_width(ms: i64) -> String {
    match ms {
        m if m >= 86_400_000 => format!("{}-day", m / 86_400_000),
        m if m >= 3_600_000 => format!("{}-hour", m / 3_600_000),
        m => format!("{}-minute", m / 60_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html_and_csv() {
        assert_eq!(
            esc(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn bucket_widths_keep_charts_readable() {
        for (span, want) in [
            (1, 60_000),
            (47 * 60_000, 60_000),
            (3 * 3_600_000, 300_000),
            (20 * 3_600_000, 3_600_000),
            (10 * 86_400_000, 6 * 3_600_000),
            (90 * 86_400_000, 7 * 86_400_000),
        ] {
            assert_eq!(bucket_width(span), want, "span {span}");
        }
        assert_eq!(nice_max(0), 4);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(130), 200);
        assert_eq!(nice_max(500), 500);
    }
}
