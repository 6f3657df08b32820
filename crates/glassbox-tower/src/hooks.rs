//! The layer's hooks: which engine screens a request ([`Selector`]), whether the requested model
//! may be served ([`ModelGate`]) and who hears about decisions ([`OnDecision`]).
//!
//! Each hook is a trait with an impl for closures and for `()`, as in tower-http's
//! `trace/on_body_chunk.rs`; [`DefaultOnDecision`] logs through `tracing`.

use glassbox_core::audit::{DecisionEvent, Outcome};
use glassbox_core::{Action, Engine};

// === Selector ===

/// The engine (policy) chosen for one request, and the tenant it is recorded under.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The engine that screens the request and its response.
    pub engine: Engine,
    /// Tenant label for the audit record.
    pub tenant: Option<String>,
}

impl Selection {
    /// Selects `engine` with no tenant.
    pub fn new(engine: Engine) -> Self {
        Selection {
            engine,
            tenant: None,
        }
    }

    /// Sets the tenant label.
    #[must_use]
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }
}

/// Picks the engine for a request. Called once per screened request, after its body is parsed,
/// with the request head and the requested `model` field.
///
/// Implemented for `Fn(&http::request::Parts, Option<&str>) -> Selection` closures. Returning
/// `None` (from the `Option` impl) falls back to the layer's default engine.
pub trait Selector: Send + Sync + 'static {
    /// The engine and tenant for this request; `None` uses the layer's default engine.
    fn select(&self, parts: &http::request::Parts, model: Option<&str>) -> Option<Selection>;
}

impl Selector for () {
    fn select(&self, _: &http::request::Parts, _: Option<&str>) -> Option<Selection> {
        None
    }
}

impl<F> Selector for F
where
    F: Fn(&http::request::Parts, Option<&str>) -> Selection + Send + Sync + 'static,
{
    fn select(&self, parts: &http::request::Parts, model: Option<&str>) -> Option<Selection> {
        Some(self(parts, model))
    }
}

// === ModelGate ===

/// What a [`ModelGate`] decided about the requested model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateDecision {
    /// Forward the request. `licence` is recorded with every decision about it.
    Allow {
        /// The served model's licence (SPDX id or `LicenseRef-*`), when known.
        licence: Option<String>,
    },
    /// Refuse with 403 in the API's error shape; `reason` is shown to the client.
    Block {
        /// Why, for the client and the audit record (no secrets, please).
        reason: String,
        /// The model's licence, when known.
        licence: Option<String>,
    },
}

impl GateDecision {
    /// Allows with no licence known.
    pub fn allow() -> Self {
        GateDecision::Allow { licence: None }
    }

    /// The licence either way.
    pub fn licence(&self) -> Option<&str> {
        match self {
            GateDecision::Allow { licence } | GateDecision::Block { licence, .. } => {
                licence.as_deref()
            }
        }
    }
}

/// Decides whether a tenant may use a model, before the request is forwarded.
///
/// Implemented for `()` (allows everything) and for
/// `Fn(Option<&str>, Option<&str>) -> GateDecision` closures taking `(tenant, model)`.
pub trait ModelGate: Send + Sync + 'static {
    /// Checks `model` for `tenant`.
    fn check(&self, tenant: Option<&str>, model: Option<&str>) -> GateDecision;
}

impl ModelGate for () {
    fn check(&self, _: Option<&str>, _: Option<&str>) -> GateDecision {
        GateDecision::allow()
    }
}

impl<F> ModelGate for F
where
    F: Fn(Option<&str>, Option<&str>) -> GateDecision + Send + Sync + 'static,
{
    fn check(&self, tenant: Option<&str>, model: Option<&str>) -> GateDecision {
        self(tenant, model)
    }
}

// === OnDecision ===

/// Hears every decision the layer makes, just before it goes to the audit sink.
///
/// Implemented for `()` (does nothing), for `Fn(&DecisionEvent)` closures and by
/// [`DefaultOnDecision`].
pub trait OnDecision: Send + Sync + 'static {
    /// Called once per request decision and once per response decision.
    fn on_decision(&self, event: &DecisionEvent);
}

impl OnDecision for () {
    fn on_decision(&self, _: &DecisionEvent) {}
}

impl<F> OnDecision for F
where
    F: Fn(&DecisionEvent) + Send + Sync + 'static,
{
    fn on_decision(&self, event: &DecisionEvent) {
        self(event)
    }
}

/// Logs each decision through `tracing`: `debug` for clean ones, `info` for annotate/mask,
/// `warn` for blocks and abnormal ends. Categories and counts only, never content.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultOnDecision;

impl OnDecision for DefaultOnDecision {
    fn on_decision(&self, e: &DecisionEvent) {
        let categories: Vec<&str> = e.findings.iter().map(|f| f.category.as_str()).collect();
        let abnormal = !matches!(e.outcome, Outcome::Completed);
        macro_rules! log {
            ($lvl:ident) => {
                tracing::$lvl!(
                    request_id = %e.request_id,
                    route = %e.route,
                    direction = ?e.direction,
                    verdict = %e.verdict,
                    outcome = ?e.outcome,
                    policy = %e.policy_id,
                    ?categories,
                    bytes_screened = e.coverage.bytes_screened,
                    max_holdback = e.coverage.max_holdback,
                    fail_open = e.fail_open.len(),
                    "glassbox decision"
                )
            };
        }
        if e.verdict == Action::Block || abnormal {
            log!(warn);
        } else if e.verdict >= Action::Annotate || !e.fail_open.is_empty() {
            log!(info);
        } else {
            log!(debug);
        }
    }
}
