//! [`ScreenBody`]: the response body, screened as it streams.
//!
//! A streamed (SSE) answer is polled frame by frame straight from the inner body with
//! [`Body::poll_frame`]; each upstream frame yields at most one downstream frame with every event
//! it completed, so the layer never waits for more upstream data than an event and the
//! scanners' hold-back need. The end of the stream is reported exactly once to the audit sink
//! and the decision hook, whatever ends it: the upstream's end, a block, an upstream error or
//! timeout, or the client going away (the body dropped early; linkerd2-proxy's body-eos
//! pattern).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use glassbox_core::audit::{Direction, Outcome};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::record::Exchange;
use crate::stream::StreamScreen;
use crate::{BoxError, TimedOut};

pin_project! {
    /// Response body of [`Screen`](crate::Screen): passed through, replaced, or screened
    /// event by event.
    pub struct ScreenBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Full { data: Option<Bytes> },
        Passthrough { #[pin] body: B },
        Sse { #[pin] body: B, state: Box<SseState> },
    }
}

impl<B> std::fmt::Debug for ScreenBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Full { .. } => "full",
            Kind::Passthrough { .. } => "passthrough",
            Kind::Sse { .. } => "sse",
        };
        f.debug_struct("ScreenBody").field("kind", &kind).finish()
    }
}

impl<B> ScreenBody<B> {
    /// A body of fixed bytes (error answers, rewritten JSON).
    pub fn full(data: impl Into<Bytes>) -> Self {
        let data = data.into();
        ScreenBody {
            kind: Kind::Full {
                data: (!data.is_empty()).then_some(data),
            },
        }
    }

    /// The inner body, unchanged (routes that are not screened).
    pub fn passthrough(body: B) -> Self {
        ScreenBody {
            kind: Kind::Passthrough { body },
        }
    }

    pub(crate) fn sse(body: B, screen: StreamScreen, exchange: Arc<Exchange>) -> Self {
        ScreenBody {
            kind: Kind::Sse {
                body,
                state: Box::new(SseState {
                    screen: Some(screen),
                    exchange,
                    out: Vec::new(),
                    end: None,
                }),
            },
        }
    }
}

impl<B> From<Bytes> for ScreenBody<B> {
    fn from(data: Bytes) -> Self {
        ScreenBody::full(data)
    }
}

/// A screened stream in flight. Dropping it before the end records `ClientDisconnected`.
struct SseState {
    /// `None` once the decision is recorded.
    screen: Option<StreamScreen>,
    exchange: Arc<Exchange>,
    out: Vec<u8>,
    /// Set when the upstream side is over (or the stream blocked); pending output then drains.
    end: Option<Outcome>,
}

impl SseState {
    fn record(&mut self, outcome: Outcome) {
        if let Some(screen) = self.screen.take() {
            let blocked = screen.is_blocked();
            let report = screen.into_report();
            let outcome = match outcome {
                Outcome::Completed if blocked && !report.failed_closed.is_empty() => Outcome::Error,
                Outcome::Completed if blocked => Outcome::Blocked,
                o => o,
            };
            self.exchange.emit(Direction::Response, report, outcome);
        }
    }
}

impl Drop for SseState {
    fn drop(&mut self) {
        // Still here: the client went away before the end (or the end was never polled).
        self.record(Outcome::ClientDisconnected);
    }
}

fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if e.is::<TimedOut>()
            || e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cur = e.source();
    }
    false
}

impl<B> Body for ScreenBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            KindProj::Passthrough { body } => body.poll_frame(cx),
            KindProj::Sse { mut body, state } => loop {
                if !state.out.is_empty() {
                    let bytes = Bytes::from(std::mem::take(&mut state.out));
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                if let Some(outcome) = state.end {
                    state.record(outcome);
                    return Poll::Ready(None);
                }
                let Some(screen) = state.screen.as_mut() else {
                    return Poll::Ready(None);
                };
                match ready!(body.as_mut().poll_frame(cx)) {
                    Some(Ok(frame)) => {
                        // SSE has no trailers worth keeping; data frames are screened.
                        if let Ok(data) = frame.into_data() {
                            screen.feed(&data, &mut state.out);
                        }
                    }
                    Some(Err(e)) => {
                        let e: BoxError = e.into();
                        let outcome = if is_timeout(&*e) {
                            Outcome::Timeout
                        } else {
                            Outcome::UpstreamError
                        };
                        tracing::warn!(error = %e, "upstream stream failed");
                        screen.fail(&format!("upstream stream failed: {e}"), &mut state.out);
                        state.end = Some(outcome);
                        continue;
                    }
                    None => {
                        screen.finish(&mut state.out);
                        state.end = Some(Outcome::Completed);
                        continue;
                    }
                }
                if screen.is_blocked() {
                    // The terminal events are in `out`; the upstream is not read any further.
                    state.end = Some(Outcome::Completed);
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full { data } => data.is_none(),
            Kind::Passthrough { body } => body.is_end_stream(),
            Kind::Sse { state, .. } => state.screen.is_none() && state.out.is_empty(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Kind::Passthrough { body } => body.size_hint(),
            Kind::Sse { .. } => SizeHint::default(),
        }
    }
}
