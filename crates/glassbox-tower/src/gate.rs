//! Classifier windows over a screened stream (the policy's `classifiers:` with `responses: true`).
//!
//! The pattern stage ([`StreamScreen`](crate::stream::StreamScreen)) turns upstream events into
//! downstream events and reports, per logical text stream ("part": a choice, a content block, a
//! tool call's arguments), the text it released. The gate cuts that released text into
//! overlapping windows per classifier ([`StreamWindows`]) and classifies them while the stream
//! goes on. What it does with the downstream bytes depends on the classifiers' modes:
//!
//! - `hold`: the bytes of a feed wait in a FIFO until every window covering the text released
//!   up to that feed has been classified, so no byte a `hold` classifier has not seen reaches
//!   the client; the delay is bounded by the window size, `max_wait_ms` and the model's
//!   latency. Order is kept: the FIFO releases whole feeds, front first, and events are never
//!   split, merged or re-numbered.
//! - `observe`: the bytes go out at once, except those that end a part (a choice's
//!   `finish_reason`, `content_block_stop`, a Responses `*.done`), which wait for that part's
//!   verdicts; a later blocking verdict stops the stream there, so the client still learns of
//!   the block in the protocol's form for the part that carried it.
//!
//! In both modes the stream's last bytes (its end, or a pattern block's terminal events) wait
//! for every outstanding window, so the decision record holds every verdict and a blocking
//! verdict still ends the stream in the protocol's block form. A blocking verdict drops what
//! the FIFO holds. Windows are cut when `window_bytes` of new text are there, when the oldest
//! unsent byte has waited `max_wait_ms` (a tokio timer when a tokio runtime is present, else
//! checked on the next upstream frame), and when a part ends.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use glassbox_core::audit::Direction;
use glassbox_core::engine::Failure;
use glassbox_core::policy::ClassifierMode;
use glassbox_core::windows::{ClassifiedFuture, StreamWindowConfig, StreamWindows};
use glassbox_core::{Classifier, Engine, Finding};

/// Held bytes beyond which the upstream is not read until windows complete.
const MAX_HELD_BYTES: usize = 1 << 20;
/// Windows in flight beyond which the upstream is not read until some complete.
const MAX_IN_FLIGHT: usize = 64;

struct InFlight {
    part: String,
    classifier: usize,
    id: u64,
    /// Offset of the window in its part's released text.
    base: usize,
    fut: ClassifiedFuture,
}

/// Downstream bytes waiting for verdicts.
struct Held {
    bytes: Vec<u8>,
    /// `(part, classifier, offset)`: released only when that classifier has classified the
    /// part's text up to `offset`.
    needs: Vec<(String, usize, usize)>,
    /// The stream's last bytes: released only when nothing is in flight or unsent.
    last: bool,
    /// Opaque protocol state at the time these bytes were produced (finished choices).
    state: Vec<u64>,
}

/// One completed window's verdict, shifted to offsets in its part.
pub(crate) struct WindowVerdict {
    pub findings: Vec<Finding>,
    pub failures: Vec<Failure>,
    pub lag: Duration,
}

/// The classifier windows of one screened stream.
pub(crate) struct Gate {
    engine: Engine,
    classifiers: Vec<(Arc<dyn Classifier>, StreamWindowConfig)>,
    parts: BTreeMap<String, Vec<StreamWindows>>,
    in_flight: Vec<InFlight>,
    held: VecDeque<Held>,
    held_bytes: usize,
    /// Protocol state of the last bytes released.
    released_state: Vec<u64>,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Windows sent to classifiers.
    pub windows: u64,
}

impl Gate {
    /// The gate for `engine`'s response classifiers; `None` when there are none.
    pub fn new(engine: &Engine) -> Option<Gate> {
        let classifiers: Vec<_> = engine
            .classifiers_for(Direction::Response)
            .into_iter()
            .filter_map(|c| {
                let settings = engine.policy().classifiers.0.get(c.name())?;
                Some((c, StreamWindowConfig::from_policy(settings)))
            })
            .collect();
        (!classifiers.is_empty()).then(|| Gate {
            engine: engine.clone(),
            classifiers,
            parts: BTreeMap::new(),
            in_flight: Vec::new(),
            held: VecDeque::new(),
            held_bytes: 0,
            released_state: Vec::new(),
            timer: None,
            windows: 0,
        })
    }

    /// Text the pattern stage released for `part`.
    pub fn push(&mut self, part: &str, text: &str, now: Instant) {
        if text.is_empty() {
            return;
        }
        let windows = self.part(part);
        let mut cut = Vec::new();
        for (i, w) in windows.iter_mut().enumerate() {
            cut.extend(w.push(text, now).into_iter().map(|w| (i, w)));
        }
        for (i, w) in cut {
            self.send(part, i, w);
        }
    }

    /// `part` ended: its unsent text is cut into a last window.
    pub fn end_part(&mut self, part: &str) {
        self.cut(part, |_| true);
    }

    /// The stream ended (or was blocked by a pattern): every part's unsent text is sent.
    pub fn end_all(&mut self) {
        self.cut_all(|_| true);
    }

    /// Queues downstream bytes produced after the text pushed so far; `last` marks the stream's
    /// final bytes, `ended` the parts whose end they carry. `state` is the protocol state to
    /// restore if a later verdict blocks.
    pub fn hold(&mut self, bytes: Vec<u8>, last: bool, ended: &[String], state: Vec<u64>) {
        if bytes.is_empty() && !last {
            return;
        }
        let mut needs = Vec::new();
        for (part, windows) in &self.parts {
            for (i, w) in windows.iter().enumerate() {
                // `hold` text waits for its verdict; in `observe` mode only a part's end does.
                let gated = w.mode() == ClassifierMode::Hold || ended.contains(part);
                if gated && w.classified_to() < w.received() {
                    needs.push((part.clone(), i, w.received()));
                }
            }
        }
        self.held_bytes += bytes.len();
        self.held.push_back(Held {
            bytes,
            needs,
            last,
            state,
        });
    }

    /// Moves the held bytes whose windows are all classified to `out`, front first.
    pub fn release(&mut self, out: &mut Vec<u8>) {
        while let Some(h) = self.held.front() {
            let ready = if h.last {
                self.in_flight.is_empty() && self.unsent() == 0
            } else {
                h.needs.iter().all(|(part, i, offset)| {
                    self.parts
                        .get(part)
                        .and_then(|w| w.get(*i))
                        .is_some_and(|w| w.classified_to() >= *offset)
                })
            };
            if !ready {
                break;
            }
            let Some(h) = self.held.pop_front() else {
                break;
            };
            self.held_bytes -= h.bytes.len();
            out.extend_from_slice(&h.bytes);
            self.released_state = h.state;
        }
    }

    /// A verdict blocked the stream: held bytes are dropped, windows in flight abandoned (their
    /// queue entries are skipped). Returns the protocol state of the last bytes released.
    pub fn abandon(&mut self) -> Vec<u64> {
        self.held.clear();
        self.held_bytes = 0;
        self.in_flight.clear();
        self.timer = None;
        std::mem::take(&mut self.released_state)
    }

    /// Whether the stream's bytes are all out and every window answered.
    pub fn is_idle(&self) -> bool {
        self.held.is_empty() && self.in_flight.is_empty()
    }

    /// Whether the upstream should wait: too much held or in flight.
    pub fn is_backlogged(&self) -> bool {
        self.held_bytes > MAX_HELD_BYTES || self.in_flight.len() > MAX_IN_FLIGHT
    }

    /// Polls the windows in flight and the `max_wait` timer; returns the verdicts that arrived.
    pub fn poll_verdicts(&mut self, cx: &mut Context<'_>) -> Vec<WindowVerdict> {
        let now = Instant::now();
        // Windows whose oldest byte waited `max_wait`.
        self.cut_all(|w| w.due(now));
        let mut verdicts = Vec::new();
        let mut k = 0;
        while k < self.in_flight.len() {
            let Poll::Ready(classified) = self.in_flight[k].fut.as_mut().poll(cx) else {
                k += 1;
                continue;
            };
            let f = self.in_flight.swap_remove(k);
            let lag = self
                .parts
                .get_mut(&f.part)
                .and_then(|ws| ws[f.classifier].complete(f.id, Instant::now()))
                .unwrap_or_default();
            let findings = classified
                .findings
                .into_iter()
                .map(|mut x| {
                    x.start += f.base;
                    x.end += f.base;
                    x
                })
                .collect();
            verdicts.push(WindowVerdict {
                findings,
                failures: classified.failures,
                lag,
            });
        }
        self.arm_timer(cx);
        verdicts
    }

    /// Sets the timer for the next window that becomes due and polls it once (registering the
    /// waker). Without a tokio runtime, due windows are cut on the next poll.
    fn arm_timer(&mut self, cx: &mut Context<'_>) {
        let next = self
            .parts
            .values()
            .flat_map(|ws| ws.iter().filter_map(StreamWindows::next_due))
            .min();
        let Some(next) = next else {
            self.timer = None;
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let deadline = tokio::time::Instant::from_std(next);
        match &mut self.timer {
            Some(t) if t.deadline() == deadline => {}
            Some(t) => t.as_mut().reset(deadline),
            None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
        if let Some(t) = &mut self.timer {
            if t.as_mut().poll(cx).is_ready() {
                // Already due: wake at once so the next poll cuts the window.
                cx.waker().wake_by_ref();
            }
        }
    }

    /// Cuts and sends a window of the unsent text of each of `part`'s windows that `when`
    /// selects.
    fn cut(&mut self, part: &str, when: impl Fn(&StreamWindows) -> bool) {
        let Some(windows) = self.parts.get_mut(part) else {
            return;
        };
        let cut: Vec<_> = windows
            .iter_mut()
            .enumerate()
            .filter(|(_, w)| when(w))
            .filter_map(|(i, w)| w.flush().map(|w| (i, w)))
            .collect();
        for (i, w) in cut {
            self.send(part, i, w);
        }
    }

    /// [`Gate::cut`] over every part with a window `when` selects.
    fn cut_all(&mut self, when: impl Fn(&StreamWindows) -> bool) {
        let parts: Vec<String> = self
            .parts
            .iter()
            .filter(|(_, ws)| ws.iter().any(&when))
            .map(|(p, _)| p.clone())
            .collect();
        for p in parts {
            self.cut(&p, &when);
        }
    }

    /// Bytes pushed but not yet sent in a window.
    fn unsent(&self) -> usize {
        self.parts
            .values()
            .flat_map(|ws| ws.iter())
            .map(|w| w.received() - w.scheduled_to())
            .sum()
    }

    fn part(&mut self, part: &str) -> &mut Vec<StreamWindows> {
        let classifiers = &self.classifiers;
        self.parts.entry(part.to_string()).or_insert_with(|| {
            classifiers
                .iter()
                .map(|(_, c)| StreamWindows::new(*c))
                .collect()
        })
    }

    fn send(&mut self, part: &str, classifier: usize, w: glassbox_core::windows::StreamWindow) {
        let fut = self
            .engine
            .classify_window(&self.classifiers[classifier].0, &w.text);
        self.windows += 1;
        self.in_flight.push(InFlight {
            part: part.to_string(),
            classifier,
            id: w.id,
            base: w.start,
            fut,
        });
    }
}
