//! The audit seam: what the engine, the tower layer, the proxy and `glassbox scan` hand to an
//! audit sink for every decision. `glassbox-audit` turns these into a hash-chained, signed trail;
//! the layer depends on this trait alone, so it works with any sink.
//!
//! Events never carry matched text: findings carry category, action, offsets and lengths.
//! Content is identified by keyed digests a [`ContentDigester`] computes while the text streams.

use serde::{Deserialize, Serialize};

use crate::{Action, Finding};

/// Which traffic a decision was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A prompt / request body going to the model.
    Request,
    /// A model answer coming back (JSON or stream).
    Response,
    /// A text screened by `glassbox scan`.
    Scan,
    /// A served-model licence check before forwarding.
    ModelCheck,
}

/// How the screened exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Screened to the end and delivered (possibly masked).
    Completed,
    /// Refused or cut off by policy.
    Blocked,
    /// The client went away before the end.
    ClientDisconnected,
    /// The upstream failed (refused, reset, bad response).
    UpstreamError,
    /// A timeout ended it.
    Timeout,
    /// glassbox itself failed (detector failure under `on_error: closed`, …).
    Error,
}

/// A finding as recorded: no content, only where and how long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    /// Category string.
    pub category: String,
    /// Action taken.
    pub action: Action,
    /// Detector name.
    pub detector: String,
    /// Byte offset in the screened text.
    pub start: u64,
    /// Span length in bytes.
    pub len: u64,
    /// Score.
    pub score: f32,
}

impl From<&Finding> for FindingRecord {
    fn from(f: &Finding) -> Self {
        FindingRecord {
            category: f.category.to_string(),
            action: f.action,
            detector: f.detector.clone(),
            start: f.start as u64,
            len: f.len() as u64,
            score: f.score,
        }
    }
}

/// What was screened and how tightly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Bytes of text passed through detectors.
    pub bytes_screened: u64,
    /// Bytes released to the client.
    pub bytes_released: u64,
    /// Largest number of bytes held back at once.
    pub max_holdback: u64,
    /// Largest classifier lag (ms) in a stream, if classifiers ran: for a stream, from the
    /// arrival of a window's oldest byte to its verdict; for a whole text, the classification
    /// time.
    pub classifier_lag_ms: Option<u64>,
    /// Whether the hold-back cap forced release of text a pattern could still have matched.
    pub holdback_capped: bool,
    /// Classifier windows sent for a stream (0 when none; omitted from records then, so records
    /// written before this field existed read and verify unchanged).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub classifier_windows: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A detector failure that policy let through (`on_error: open`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailOpen {
    /// Which detector.
    pub detector: String,
    /// Why it failed.
    pub reason: String,
}

/// A keyed digest of some screened content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentDigest {
    /// Which part (`request`, `response`, `text`, `choice.0`, …).
    pub part: String,
    /// Hex HMAC-SHA256 of the bytes, under the deployment key.
    pub hmac_sha256: String,
    /// How many bytes.
    pub bytes: u64,
}

/// Identifies a detector or model version in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectorDigest {
    /// Detector or model name.
    pub name: String,
    /// Version or sha256 of its rules/weights.
    pub digest: String,
}

/// One decision, handed to an [`AuditSink`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionEvent {
    /// Request id (from `x-request-id` or generated).
    pub request_id: String,
    /// Route (`/v1/chat/completions`) or `scan`.
    pub route: String,
    /// What was screened.
    pub direction: Direction,
    /// Tenant, when the caller was identified.
    pub tenant: Option<String>,
    /// Served model name, when known.
    pub model: Option<String>,
    /// The served model's licence (SPDX or `LicenseRef-*`), when known.
    pub model_licence: Option<String>,
    /// Policy id.
    pub policy_id: String,
    /// SHA-256 of the policy source.
    pub policy_sha256: String,
    /// Detector/model versions in use.
    pub detectors: Vec<DetectorDigest>,
    /// What was found (no content).
    pub findings: Vec<FindingRecord>,
    /// Strongest action.
    pub verdict: Action,
    /// Keyed digests of the content.
    pub content_digests: Vec<ContentDigest>,
    /// Coverage of the screening.
    pub coverage: Coverage,
    /// Fail-open events.
    pub fail_open: Vec<FailOpen>,
    /// How it ended.
    pub outcome: Outcome,
    /// Raw content, only when the sink asked for it ([`AuditSink::wants_raw_content`]); the
    /// sink encrypts it before storing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_content: Vec<(String, String)>,
}

/// Computes a keyed digest of content as it streams past.
pub trait ContentDigester: Send {
    /// Feeds bytes.
    fn update(&mut self, bytes: &[u8]);
    /// The hex digest.
    fn finish(self: Box<Self>) -> String;
}

/// Where decisions go. Implementations must not block the caller: queue and return.
pub trait AuditSink: Send + Sync + 'static {
    /// Records a decision.
    fn record(&self, event: DecisionEvent);

    /// A digester for content under the deployment key; `None` when the sink keeps no digests.
    fn digester(&self) -> Option<Box<dyn ContentDigester>> {
        None
    }

    /// Whether the sink wants raw content (encrypted at rest); off by default.
    fn wants_raw_content(&self) -> bool {
        false
    }
}

/// A sink that drops everything (tests, or audit switched off).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _event: DecisionEvent) {}
}

/// A sink that keeps events in memory (tests and the demo's summary).
#[derive(Debug, Default)]
pub struct MemorySink {
    events: std::sync::Mutex<Vec<DecisionEvent>>,
}

impl MemorySink {
    /// A copy of the events recorded so far.
    pub fn events(&self) -> Vec<DecisionEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl AuditSink for MemorySink {
    fn record(&self, event: DecisionEvent) {
        if let Ok(mut e) = self.events.lock() {
            e.push(event);
        }
    }
}
