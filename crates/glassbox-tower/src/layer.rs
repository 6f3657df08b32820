//! [`ScreenLayer`]: the layer and its builder.

use std::sync::Arc;

use glassbox_core::audit::NoAudit;
use glassbox_core::{AuditSink, Engine};
use tower::Layer;

use crate::hooks::{DefaultOnDecision, ModelGate, OnDecision, Selector};
use crate::Screen;

/// Default limit on a request body: 8 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 8 << 20;
/// Default limit on a non-streamed response body: 32 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 << 20;

/// Everything a [`Screen`] needs; shared by all its clones.
#[derive(Clone)]
pub(crate) struct Config {
    pub engine: Engine,
    pub sink: Arc<dyn AuditSink>,
    pub hook: Arc<dyn OnDecision>,
    pub selector: Arc<dyn Selector>,
    pub gate: Arc<dyn ModelGate>,
    pub max_request_bytes: usize,
    pub max_response_bytes: usize,
}

/// Screens LLM API requests and responses of the wrapped service; see the crate docs.
///
/// Cheap to clone. Defaults: no audit sink ([`NoAudit`]), decisions logged by
/// [`DefaultOnDecision`], one engine for every request, every model allowed, 8 MiB request
/// and 32 MiB non-streamed response limits.
#[derive(Clone)]
pub struct ScreenLayer {
    config: Config,
}

impl std::fmt::Debug for ScreenLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScreenLayer")
            .field("engine", &self.config.engine)
            .field("max_request_bytes", &self.config.max_request_bytes)
            .field("max_response_bytes", &self.config.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl ScreenLayer {
    /// A layer screening with `engine` (the default engine when a [`Selector`] picks none).
    pub fn new(engine: Engine) -> Self {
        ScreenLayer {
            config: Config {
                engine,
                sink: Arc::new(NoAudit),
                hook: Arc::new(DefaultOnDecision),
                selector: Arc::new(()),
                gate: Arc::new(()),
                max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
                max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            },
        }
    }

    /// Sets the default engine (policy).
    #[must_use]
    pub fn engine(mut self, engine: Engine) -> Self {
        self.config.engine = engine;
        self
    }

    /// Sets the audit sink every decision goes to; its [`AuditSink::digester`] provides the
    /// content digests.
    #[must_use]
    pub fn audit_sink(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.config.sink = sink;
        self
    }

    /// Sets the decision hook (a closure `Fn(&DecisionEvent)`, `()` or [`DefaultOnDecision`]).
    ///
    /// [`DecisionEvent`]: glassbox_core::DecisionEvent
    #[must_use]
    pub fn on_decision(mut self, hook: impl OnDecision) -> Self {
        self.config.hook = Arc::new(hook);
        self
    }

    /// Sets the engine selector (per tenant, route or model).
    #[must_use]
    pub fn selector(mut self, selector: impl Selector) -> Self {
        self.config.selector = Arc::new(selector);
        self
    }

    /// Sets the model gate checked before a request is forwarded.
    #[must_use]
    pub fn model_gate(mut self, gate: impl ModelGate) -> Self {
        self.config.gate = Arc::new(gate);
        self
    }

    /// Largest request body accepted on a screened route; larger ones get 413.
    #[must_use]
    pub fn max_request_bytes(mut self, limit: usize) -> Self {
        self.config.max_request_bytes = limit;
        self
    }

    /// Largest non-streamed response body screened; larger ones get a 500 error in the API's
    /// shape (streams have no limit: they are screened as they pass).
    #[must_use]
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.config.max_response_bytes = limit;
        self
    }
}

impl<S> Layer<S> for ScreenLayer {
    type Service = Screen<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Screen::new(inner, Arc::new(self.config.clone()))
    }
}
