//! Decision records: what one request or one response screening found, built up while the text
//! passes and handed to the audit sink and the decision hook exactly once.

use std::sync::Arc;

use glassbox_core::audit::{
    ContentDigest, ContentDigester, Coverage, DecisionEvent, Direction, FailOpen, FindingRecord,
    Outcome,
};
use glassbox_core::engine::Failure;
use glassbox_core::{Action, AuditSink, Engine, Finding, StreamScanner};

use crate::hooks::OnDecision;
use crate::Api;

/// Who and what a request is, shared by its request and response decisions.
pub(crate) struct Exchange {
    pub request_id: String,
    pub api: Api,
    pub tenant: Option<String>,
    pub model: Option<String>,
    pub licence: Option<String>,
    pub engine: Engine,
    pub sink: Arc<dyn AuditSink>,
    pub hook: Arc<dyn OnDecision>,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("request_id", &self.request_id)
            .field("api", &self.api)
            .field("tenant", &self.tenant)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl Exchange {
    /// Hands one decision to the hook and the sink.
    pub fn emit(&self, direction: Direction, report: Report, outcome: Outcome) {
        let policy = self.engine.policy();
        let event = DecisionEvent {
            request_id: self.request_id.clone(),
            route: self.api.route().to_string(),
            direction,
            tenant: self.tenant.clone(),
            model: self.model.clone(),
            model_licence: self.licence.clone(),
            policy_id: policy.id.clone(),
            policy_sha256: policy.sha256.clone(),
            detectors: self.engine.digests(),
            verdict: report.verdict(),
            findings: report.findings,
            content_digests: report.digests,
            coverage: report.coverage,
            fail_open: report.fail_open,
            outcome,
            raw_content: report.raw,
        };
        self.hook.on_decision(&event);
        self.sink.record(event);
    }
}

/// What a screening found so far.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub findings: Vec<FindingRecord>,
    pub fail_open: Vec<FailOpen>,
    /// Detector failures under `on_error: closed`.
    pub failed_closed: Vec<String>,
    pub coverage: Coverage,
    pub digests: Vec<ContentDigest>,
    pub raw: Vec<(String, String)>,
    /// Set when something forced a block beyond the findings (a fail-closed failure).
    pub forced_block: bool,
}

impl Report {
    /// The strongest action.
    pub fn verdict(&self) -> Action {
        let v = self
            .findings
            .iter()
            .map(|f| f.action)
            .max()
            .unwrap_or(Action::Allow);
        if self.forced_block {
            Action::Block
        } else {
            v
        }
    }

    /// Records findings, shifting their offsets by `base`.
    pub fn findings(&mut self, findings: &[Finding], base: usize) {
        for f in findings {
            let mut r = FindingRecord::from(f);
            r.start += base as u64;
            self.findings.push(r);
        }
    }

    /// Records detector failures.
    pub fn failures(&mut self, failures: &[Failure]) {
        for f in failures {
            if f.fail_open {
                self.fail_open.push(FailOpen {
                    detector: f.error.detector.clone(),
                    reason: f.error.reason.clone(),
                });
            } else {
                self.failed_closed.push(f.error.to_string());
                self.forced_block = true;
            }
        }
    }

    /// Records a classifier lag; the coverage keeps the largest.
    pub fn classifier_lag(&mut self, lag: std::time::Duration) {
        let lag = u64::try_from(lag.as_millis()).unwrap_or(u64::MAX);
        let max = &mut self.coverage.classifier_lag_ms;
        *max = Some(max.map_or(lag, |m| m.max(lag)));
    }

    /// Adds one finished scanner's coverage.
    pub fn scanner(&mut self, s: &StreamScanner) {
        let c = &mut self.coverage;
        c.bytes_screened += s.bytes_in() as u64;
        c.bytes_released += s.bytes_released() as u64;
        c.max_holdback = c.max_holdback.max(s.max_held() as u64);
        c.holdback_capped |= s.holdback_capped();
    }

    /// The categories of blocking findings, for messages (`secret.private_key, keyword.x`).
    pub fn block_reason(&self) -> String {
        let mut cats: Vec<&str> = self
            .findings
            .iter()
            .filter(|f| f.action == Action::Block)
            .map(|f| f.category.as_str())
            .collect();
        cats.sort_unstable();
        cats.dedup();
        let mut parts = Vec::new();
        if !cats.is_empty() {
            parts.push(format!("categories {}", cats.join(", ")));
        }
        if !self.failed_closed.is_empty() {
            parts.push(format!(
                "screening failed and policy says on_error: closed ({})",
                self.failed_closed.join("; ")
            ));
        }
        parts.join("; ")
    }
}

/// A keyed digest of one content part, fed as the text passes.
pub(crate) struct PartDigest {
    part: String,
    digester: Option<Box<dyn ContentDigester>>,
    bytes: u64,
}

impl PartDigest {
    pub fn new(sink: &dyn AuditSink, part: String) -> Self {
        PartDigest {
            part,
            digester: sink.digester(),
            bytes: 0,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        if let Some(d) = &mut self.digester {
            d.update(bytes);
        }
    }

    /// The digest, or `None` when the sink keeps none.
    pub fn finish(self) -> Option<ContentDigest> {
        self.digester.map(|d| ContentDigest {
            part: self.part,
            hmac_sha256: d.finish(),
            bytes: self.bytes,
        })
    }
}
