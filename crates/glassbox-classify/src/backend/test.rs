//! A deterministic backend for tests and benches of everything around the model.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::{Backend, Batch};
use crate::BackendError;

/// Scores a row by the fraction of its (unpadded) tokens that are in a trigger set, once per
/// label; records every batch's shape; can be told to fail or to take a fixed time per batch.
#[derive(Debug, Clone)]
pub struct TestBackend {
    triggers: HashSet<i64>,
    labels: usize,
    delay: Duration,
    fail: bool,
    log: TestBackendLog,
    gate: Option<Gate>,
}

/// Holds a [`TestBackend`] inside `predict` until opened, so a test can fill the queue while
/// the worker is busy, without timing.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// Lets every batch, now and later, through.
    pub fn open(&self) {
        let (lock, cv) = &*self.0;
        if let Ok(mut open) = lock.lock() {
            *open = true;
        }
        cv.notify_all();
    }

    fn wait(&self) {
        let (lock, cv) = &*self.0;
        let Ok(mut open) = lock.lock() else { return };
        while !*open {
            match cv.wait(open) {
                Ok(g) => open = g,
                Err(_) => return,
            }
        }
    }
}

/// What a [`TestBackend`] saw: one `(rows, seq_len)` per batch, shared with the test.
#[derive(Debug, Clone, Default)]
pub struct TestBackendLog(Arc<Mutex<Vec<(usize, usize)>>>);

impl TestBackendLog {
    /// The batch shapes seen so far.
    pub fn batches(&self) -> Vec<(usize, usize)> {
        self.0.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

impl TestBackend {
    /// A backend whose score is the share of tokens in `triggers`, for `labels` labels.
    pub fn new(triggers: impl IntoIterator<Item = u32>, labels: usize) -> TestBackend {
        TestBackend {
            triggers: triggers.into_iter().map(i64::from).collect(),
            labels,
            delay: Duration::ZERO,
            fail: false,
            log: TestBackendLog::default(),
            gate: None,
        }
    }

    /// Waits in every `predict` (after logging the batch) until the returned gate is opened.
    pub fn gated(mut self) -> (Self, Gate) {
        let gate = Gate::default();
        self.gate = Some(gate.clone());
        (self, gate)
    }

    /// Sleeps this long per batch (to let requests pile up in the queue).
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Fails every batch.
    pub fn failing(mut self) -> Self {
        self.fail = true;
        self
    }

    /// The shared log of batch shapes.
    pub fn log(&self) -> TestBackendLog {
        self.log.clone()
    }
}

impl Backend for TestBackend {
    fn predict(&mut self, batch: &Batch) -> Result<Vec<Vec<f32>>, BackendError> {
        if let Ok(mut l) = self.log.0.lock() {
            l.push((batch.rows, batch.seq_len));
        }
        if let Some(g) = &self.gate {
            g.wait();
        }
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        if self.fail {
            return Err(BackendError("test backend told to fail".into()));
        }
        let mut out = Vec::with_capacity(batch.rows);
        for r in 0..batch.rows {
            let ids = &batch.input_ids[r * batch.seq_len..(r + 1) * batch.seq_len];
            let mask = &batch.attention_mask[r * batch.seq_len..(r + 1) * batch.seq_len];
            let (hits, n) = ids
                .iter()
                .zip(mask)
                .filter(|(_, m)| **m == 1)
                .fold((0usize, 0usize), |(h, n), (id, _)| {
                    (h + usize::from(self.triggers.contains(id)), n + 1)
                });
            let score = if n == 0 { 0.0 } else { hits as f32 / n as f32 };
            out.push(vec![score; self.labels]);
        }
        Ok(out)
    }
}
