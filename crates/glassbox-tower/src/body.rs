//! [`ScreenBody`]: the response body, screened as it streams.
//!
//! A streamed (SSE) answer is polled frame by frame straight from the inner body with
//! [`Body::poll_frame`]. Every upstream frame that is ready is screened at once, and what the
//! frames of one burst produce leaves as one downstream frame (up to [`MAX_FRAME`] bytes): the
//! body goes on polling the upstream while it answers `Ready`, and hands over what it has as soon
//! as the upstream answers `Pending`, ends or fails. So the layer never waits for more upstream
//! data than an event and the scanners' hold-back need (no timers, no added latency), and a burst
//! of events read from the upstream in one go goes out in one write instead of one per event.
//! The end of the stream is reported exactly once to the audit sink
//! and the decision hook, whatever ends it: the upstream's end, a block, an upstream error or
//! timeout, or the client going away (the body dropped early; linkerd2-proxy's body-eos
//! pattern).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use glassbox_core::audit::{Direction, Outcome};
use glassbox_core::Action;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::gate::Gate;
use crate::record::Exchange;
use crate::stream::StreamScreen;
use crate::{BoxError, TimedOut};

/// The most bytes one downstream frame of a screened stream gathers from upstream frames that
/// were ready together; a frame that reaches it goes out without polling the upstream further
/// (it may exceed it by what the last upstream frame produced).
pub const MAX_FRAME: usize = 64 * 1024;

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

    pub(crate) fn sse(body: B, mut screen: StreamScreen, exchange: Arc<Exchange>) -> Self {
        let gate = Gate::new(&exchange.engine);
        if gate.is_some() {
            screen.log_released();
        }
        ScreenBody {
            kind: Kind::Sse {
                body,
                state: Box::new(SseState {
                    screen: Some(screen),
                    gate,
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
    /// Classifier windows, when the policy classifies answers.
    gate: Option<Gate>,
    exchange: Arc<Exchange>,
    out: Vec<u8>,
    /// Set when the upstream side is over (or the stream blocked); pending output then drains.
    end: Option<Outcome>,
}

impl SseState {
    /// Polls the classifier windows: verdicts go into the report, a blocking one ends the
    /// stream; bytes whose windows are classified move to `out`.
    fn drive_gate(&mut self, cx: &mut Context<'_>) {
        let (Some(gate), Some(screen)) = (self.gate.as_mut(), self.screen.as_mut()) else {
            return;
        };
        let verdicts = gate.poll_verdicts(cx);
        let before = screen.report.verdict();
        for v in verdicts {
            screen.report.classifier_lag(v.lag);
            screen.report.findings(&v.findings, 0);
            screen.report.failures(&v.failures);
        }
        if screen.report.verdict() == Action::Block && before != Action::Block {
            // A classifier blocks: what is held never goes out; the block ending follows what
            // the client has received.
            let finished = gate.abandon();
            self.out.extend(screen.block_by_verdict(&finished));
            self.end = Some(Outcome::Completed);
            return;
        }
        gate.release(&mut self.out);
    }

    /// Bytes the pattern stage produced: straight out, or held by the gate.
    fn produced(&mut self, bytes: Vec<u8>, last: bool) {
        let (Some(gate), Some(screen)) = (self.gate.as_mut(), self.screen.as_mut()) else {
            self.out.extend(bytes);
            return;
        };
        let now = Instant::now();
        let mut ended = Vec::new();
        for (part, text, end) in screen.take_released() {
            gate.push(&part, &text, now);
            if end {
                gate.end_part(&part);
                ended.push(part);
            }
        }
        let last = last || screen.is_blocked();
        if last {
            gate.end_all();
        }
        gate.hold(bytes, last, &ended, screen.finished_choices());
    }

    /// Hands over what is in `out` as one frame; `Pending` when there is nothing (the
    /// upstream, the gate or its timer then has `cx`'s waker).
    fn flush<E>(&mut self) -> Poll<Option<Result<Frame<Bytes>, E>>> {
        if self.out.is_empty() {
            return Poll::Pending;
        }
        let bytes = Bytes::from(std::mem::take(&mut self.out));
        Poll::Ready(Some(Ok(Frame::data(bytes))))
    }

    fn record(&mut self, outcome: Outcome) {
        if let Some(screen) = self.screen.take() {
            let blocked = screen.is_blocked();
            let mut report = screen.into_report();
            if let Some(gate) = &self.gate {
                report.coverage.classifier_windows = gate.windows;
            }
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
                state.drive_gate(cx);
                if state.out.len() >= MAX_FRAME || (state.end.is_some() && !state.out.is_empty()) {
                    return state.flush();
                }
                if let Some(outcome) = state.end {
                    if state.gate.as_ref().is_some_and(|g| !g.is_idle()) {
                        // The last bytes wait for verdicts (their futures and timer are
                        // registered with `cx`).
                        return Poll::Pending;
                    }
                    state.record(outcome);
                    return Poll::Ready(None);
                }
                if state.screen.is_none() {
                    return Poll::Ready(None);
                }
                if state.gate.as_ref().is_some_and(Gate::is_backlogged) {
                    // Too much waits for classifiers: the upstream waits too.
                    return state.flush();
                }
                // What is ready goes out the moment the upstream has nothing more ready.
                let Poll::Ready(frame) = body.as_mut().poll_frame(cx) else {
                    return state.flush();
                };
                let Some(screen) = state.screen.as_mut() else {
                    return Poll::Ready(None);
                };
                let mut produced = Vec::new();
                match frame {
                    Some(Ok(frame)) => {
                        // SSE has no trailers worth keeping; data frames are screened. Without
                        // classifiers the events go straight into `out`.
                        if let Ok(data) = frame.into_data() {
                            let to = if state.gate.is_some() {
                                &mut produced
                            } else {
                                &mut state.out
                            };
                            screen.feed(&data, to);
                        }
                        if screen.is_blocked() {
                            // The terminal events are produced; the upstream is not read on.
                            state.end = Some(Outcome::Completed);
                        }
                        state.produced(produced, false);
                    }
                    Some(Err(e)) => {
                        let e: BoxError = e.into();
                        let outcome = if is_timeout(&*e) {
                            Outcome::Timeout
                        } else {
                            Outcome::UpstreamError
                        };
                        tracing::warn!(error = %e, "upstream stream failed");
                        // Held text was never screened to its end: dropped, like the pattern
                        // stage's hold-back.
                        if let Some(gate) = state.gate.as_mut() {
                            gate.abandon();
                        }
                        screen.fail(&format!("upstream stream failed: {e}"), &mut state.out);
                        state.end = Some(outcome);
                    }
                    None => {
                        screen.finish(&mut produced);
                        state.end = Some(Outcome::Completed);
                        state.produced(produced, true);
                    }
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
