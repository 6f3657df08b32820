//! One queue per model (TEI's design): windows from every concurrent request and stream wait
//! here; the model's worker takes batches filled up to a padded-token budget, skipping windows
//! whose caller went away; a queue over its token limit refuses new work as overload.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use glassbox_core::{Category, Match};

use crate::reply::ReplySender;
use crate::QueueError;

/// What a classification request resolves to.
pub(crate) type Outcome = Result<Vec<Match>, QueueError>;

/// One text being classified: its windows' scores are folded in as batches finish.
pub(crate) struct Request {
    reply: ReplySender<Outcome>,
    labels: Arc<[Category]>,
    state: Mutex<RequestState>,
}

struct RequestState {
    remaining: usize,
    /// Per label: best score and the span of the window that gave it.
    best: Vec<(f32, usize, usize)>,
}

impl Request {
    pub(crate) fn new(
        reply: ReplySender<Outcome>,
        labels: Arc<[Category]>,
        windows: usize,
    ) -> Arc<Request> {
        let best = vec![(f32::NEG_INFINITY, 0, 0); labels.len()];
        Arc::new(Request {
            reply,
            labels,
            state: Mutex::new(RequestState {
                remaining: windows,
                best,
            }),
        })
    }

    /// Whether the request no longer needs work: its caller went away or it already failed.
    pub(crate) fn is_dead(&self) -> bool {
        self.reply.is_cancelled() || self.reply.is_sent()
    }

    pub(crate) fn fail(&self, e: QueueError) {
        self.reply.send(Err(e));
    }

    /// Folds in one window's scores (row score = max over windows); replies after the last.
    fn complete_window(&self, scores: &[f32], start: usize, end: usize) {
        let Ok(mut st) = self.state.lock() else {
            self.fail(QueueError::ShutDown);
            return;
        };
        for (b, &s) in st.best.iter_mut().zip(scores) {
            if s > b.0 {
                *b = (s, start, end);
            }
        }
        st.remaining = st.remaining.saturating_sub(1);
        if st.remaining == 0 {
            let matches = self
                .labels
                .iter()
                .zip(&st.best)
                .map(|(c, &(score, start, end))| {
                    Match::new(start, end, c.clone(), score.clamp(0.0, 1.0))
                })
                .collect();
            self.reply.send(Ok(matches));
        }
    }
}

/// A window waiting in the queue.
pub(crate) struct Entry {
    pub(crate) ids: Vec<u32>,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) request: Arc<Request>,
}

impl Entry {
    /// Marks this window scored.
    pub(crate) fn complete(&self, scores: &[f32]) {
        self.request.complete_window(scores, self.start, self.end);
    }
}

/// How batches are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Padded tokens per batch (rows × longest row); a single longer window still runs alone.
    pub max_tokens: usize,
    /// Rows per batch.
    pub max_rows: usize,
    /// Every row is padded to this length (fixed-length models), if set.
    pub fixed_len: Option<usize>,
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Batches handed to the backend.
    pub batches: AtomicU64,
    /// Windows scored.
    pub windows: AtomicU64,
    /// Windows skipped because their caller went away or their request already failed.
    pub dropped: AtomicU64,
    /// Requests refused as overload.
    pub overloaded: AtomicU64,
}

/// A snapshot of [`QueueStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStatsSnapshot {
    /// Batches handed to the backend.
    pub batches: u64,
    /// Windows scored.
    pub windows: u64,
    /// Windows skipped because their caller went away or their request already failed.
    pub dropped: u64,
    /// Requests refused as overload.
    pub overloaded: u64,
}

impl QueueStats {
    /// Reads the counters.
    pub fn snapshot(&self) -> QueueStatsSnapshot {
        QueueStatsSnapshot {
            batches: self.batches.load(Ordering::Relaxed),
            windows: self.windows.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            overloaded: self.overloaded.load(Ordering::Relaxed),
        }
    }
}

struct Inner {
    entries: VecDeque<Entry>,
    queued_tokens: usize,
    shutdown: bool,
}

/// The per-model queue.
pub(crate) struct Queue {
    inner: Mutex<Inner>,
    ready: Condvar,
    max_queued_tokens: usize,
    /// Workers taking batches (each takes at most its share of what waits).
    workers: usize,
    pub(crate) stats: QueueStats,
}

impl Queue {
    pub(crate) fn new(max_queued_tokens: usize, workers: usize) -> Queue {
        Queue {
            inner: Mutex::new(Inner {
                entries: VecDeque::new(),
                queued_tokens: 0,
                shutdown: false,
            }),
            ready: Condvar::new(),
            max_queued_tokens,
            workers: workers.max(1),
            stats: QueueStats::default(),
        }
    }

    /// Appends all windows of one request, or none of them when that would pass the token
    /// limit (a request is never half queued).
    pub(crate) fn push_all(&self, entries: Vec<Entry>) -> Result<(), QueueError> {
        let tokens: usize = entries.iter().map(|e| e.ids.len()).sum();
        let mut inner = self.inner.lock().map_err(|_| QueueError::ShutDown)?;
        if inner.shutdown {
            return Err(QueueError::ShutDown);
        }
        // An empty queue always takes a request, however long, so one big text cannot be
        // refused forever.
        if inner.queued_tokens > 0 && inner.queued_tokens + tokens > self.max_queued_tokens {
            self.stats.overloaded.fetch_add(1, Ordering::Relaxed);
            return Err(QueueError::Overloaded {
                queued_tokens: inner.queued_tokens,
                limit: self.max_queued_tokens,
            });
        }
        let many = entries.len() > 1;
        inner.queued_tokens += tokens;
        inner.entries.extend(entries);
        drop(inner);
        // Several windows can go to several idle workers.
        if many {
            self.ready.notify_all();
        } else {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// Waits for work and takes the next batch: windows in arrival order while the padded
    /// batch fits `limits`, skipping dead requests. `None` once shut down.
    pub(crate) fn next_batch(&self, limits: BatchLimits) -> Option<Vec<Entry>> {
        let mut inner = self.inner.lock().ok()?;
        loop {
            if inner.shutdown {
                return None;
            }
            // This worker's share: the waiting windows spread over all workers, so one text's
            // two windows go to two workers, and a worker that comes free later still finds
            // work. Taking everything when alone was tried: under load one worker then ran
            // most windows while the other waited (half the throughput at 32 callers); on a
            // CPU a bigger batch saves nothing per row.
            let share = inner.entries.len().div_ceil(self.workers).max(1);
            let max_rows = limits.max_rows.min(share);
            let mut batch: Vec<Entry> = Vec::new();
            let mut longest = 0usize;
            while let Some(front) = inner.entries.front() {
                if front.request.is_dead() {
                    let e = inner.entries.pop_front();
                    inner.queued_tokens -= e.map_or(0, |e| e.ids.len());
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let len = limits.fixed_len.unwrap_or(0).max(front.ids.len());
                let cost = (batch.len() + 1) * longest.max(len);
                if !batch.is_empty() && (batch.len() >= max_rows || cost > limits.max_tokens) {
                    break;
                }
                longest = longest.max(len);
                if let Some(e) = inner.entries.pop_front() {
                    inner.queued_tokens -= e.ids.len();
                    batch.push(e);
                }
            }
            if !batch.is_empty() {
                return Some(batch);
            }
            inner = self.ready.wait(inner).ok()?;
        }
    }

    /// Windows waiting (dead ones included until a batch is cut).
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().map(|i| i.entries.len()).unwrap_or(0)
    }

    /// Stops the worker; queued requests fail with [`QueueError::ShutDown`].
    pub(crate) fn shutdown(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.shutdown = true;
            for e in inner.entries.drain(..) {
                e.request.fail(QueueError::ShutDown);
            }
            inner.queued_tokens = 0;
        }
        self.ready.notify_all();
    }
}
