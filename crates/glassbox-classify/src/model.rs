//! A classifier over one model bundle: tokeniser threads, the model's queue and the backend
//! worker thread that owns the session. Implements [`glassbox_core::Classifier`].
//!
//! ```text
//! classify(text) ──job──▶ tokenizer thread(s) ──windows──▶ Queue ──batch──▶ backend thread
//!      ▲                                                                         │
//!      └──────────────── reply (max score per label over windows) ◀─────────────┘
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use glassbox_core::classify::ClassifyFuture;
use glassbox_core::{Category, Classifier, DetectorError, Match};

use crate::backend::{Backend, Batch, OrtBackend};
use crate::config::RuntimeConfig;
use crate::manifest::{PaddingSide, VerifiedBundle};
use crate::queue::{BatchLimits, Entry, Outcome, Queue, QueueStatsSnapshot, Request};
use crate::reply::{self, ReplySender};
use crate::window::Windower;
use crate::{ClassifyError, QueueError};

/// Texts that may wait for a tokenizer thread before new ones are refused as overload.
const JOB_CAPACITY: usize = 4096;

struct Job {
    text: String,
    reply: ReplySender<Outcome>,
}

/// One model bundle served by a queue and a backend thread.
pub struct ModelClassifier {
    name: String,
    digest: String,
    jobs: SyncSender<Job>,
    queue: Arc<Queue>,
    thresholds: BTreeMap<String, f32>,
}

impl std::fmt::Debug for ModelClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelClassifier")
            .field("name", &self.name)
            .field("digest", &self.digest)
            .finish()
    }
}

impl ModelClassifier {
    /// Starts a classifier on a verified bundle with the ONNX Runtime backend.
    ///
    /// # Errors
    /// Whatever [`OrtBackend::new`] and [`Windower::new`] report: missing runtime library,
    /// CUDA unavailable, graph or tokenizer not matching the manifest.
    pub fn load(
        bundle: &VerifiedBundle,
        config: &RuntimeConfig,
    ) -> Result<ModelClassifier, ClassifyError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let (workers, intra_threads) = config.sessions(cores);
        let session_config = RuntimeConfig {
            intra_threads,
            ..config.clone()
        };
        let backends = (0..workers)
            .map(|_| OrtBackend::new(bundle, &session_config))
            .collect::<Result<Vec<_>, _>>()?;
        ModelClassifier::with_backends(bundle, backends, config)
    }

    /// Starts a classifier on a verified bundle with any backend (the test backend in tests).
    ///
    /// # Errors
    /// [`ClassifyError::Tokenizer`] when the tokenizer does not match the manifest,
    /// [`ClassifyError::Thread`] when a worker thread cannot be spawned.
    pub fn with_backend<B: Backend>(
        bundle: &VerifiedBundle,
        backend: B,
        config: &RuntimeConfig,
    ) -> Result<ModelClassifier, ClassifyError> {
        ModelClassifier::with_backends(bundle, vec![backend], config)
    }

    /// Starts a classifier whose backends (one worker thread each) take batches from the
    /// model's one queue. A worker takes at most its share of what waits (the queued windows
    /// divided by the workers), so one text's windows are scored side by side.
    ///
    /// # Errors
    /// As [`ModelClassifier::with_backend`]; [`ClassifyError::Thread`] also when `backends`
    /// is empty.
    pub fn with_backends<B: Backend>(
        bundle: &VerifiedBundle,
        backends: Vec<B>,
        config: &RuntimeConfig,
    ) -> Result<ModelClassifier, ClassifyError> {
        let m = &bundle.manifest;
        if backends.is_empty() {
            return Err(ClassifyError::Thread {
                classifier: m.classifier.clone(),
                reason: "no backend to run the model".into(),
            });
        }
        let windower = Arc::new(Windower::new(bundle)?);
        let labels: Arc<[Category]> = m
            .labels
            .iter()
            .map(|l| {
                Category::new(m.category_name(l)).map_err(|e| ClassifyError::Manifest {
                    path: bundle.file("manifest.yaml"),
                    reason: format!("label `{l}`: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?
            .into();
        let queue = Arc::new(Queue::new(
            config.max_queued_tokens.max(m.max_tokens),
            backends.len(),
        ));
        let limits = BatchLimits {
            max_tokens: config.max_batch_tokens.max(m.max_tokens),
            max_rows: if config.batching {
                config.max_batch_rows.max(1)
            } else {
                1
            },
            fixed_len: m.tokenizer.fixed_length.then_some(m.max_tokens),
        };
        let padding = Padding {
            pad_to: if m.tokenizer.fixed_length {
                m.max_tokens
            } else {
                0
            },
            pad_id: m.tokenizer.pad_id,
            left: m.tokenizer.padding == PaddingSide::Left,
        };
        let thread_err = |e: std::io::Error| ClassifyError::Thread {
            classifier: m.classifier.clone(),
            reason: e.to_string(),
        };

        for (i, backend) in backends.into_iter().enumerate() {
            let q = queue.clone();
            std::thread::Builder::new()
                .name(format!("glassbox-{}-model{i}", m.name))
                .spawn(move || run_backend(backend, &q, limits, padding))
                .map_err(thread_err)?;
        }

        let (jobs, rx) = mpsc::sync_channel::<Job>(JOB_CAPACITY);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..config.tokenizer_threads.max(1) {
            let (rx, q, w, labels) = (rx.clone(), queue.clone(), windower.clone(), labels.clone());
            std::thread::Builder::new()
                .name(format!("glassbox-{}-tok{i}", m.name))
                .spawn(move || run_tokenizer(&rx, &q, &w, &labels))
                .map_err(thread_err)?;
        }
        Ok(ModelClassifier {
            name: m.classifier.clone(),
            digest: format!("{}@sha256:{}", m.name, bundle.model_sha256),
            jobs,
            queue,
            thresholds: m.thresholds.clone(),
        })
    }

    /// The bundle's recommended thresholds (category prefix → score), from its evaluation.
    pub fn recommended_thresholds(&self) -> &BTreeMap<String, f32> {
        &self.thresholds
    }

    /// Windows waiting in the model's queue now.
    pub fn queued_windows(&self) -> usize {
        self.queue.len()
    }

    /// Queue counters (batches, windows, dropped windows, overloads) for metrics.
    pub fn stats(&self) -> QueueStatsSnapshot {
        self.queue.stats.snapshot()
    }
}

impl Drop for ModelClassifier {
    fn drop(&mut self) {
        self.queue.shutdown();
    }
}

impl Classifier for ModelClassifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn model_digest(&self) -> String {
        self.digest.clone()
    }

    fn classify(&self, text: String) -> ClassifyFuture {
        let (tx, rx) = reply::channel();
        let name = self.name.clone();
        let refused = match self.jobs.try_send(Job { text, reply: tx }) {
            Ok(()) => None,
            Err(TrySendError::Full(_)) => {
                self.queue.stats.overloaded.fetch_add(1, Ordering::Relaxed);
                Some(format!(
                    "overloaded: {JOB_CAPACITY} texts wait for tokenisation"
                ))
            }
            Err(TrySendError::Disconnected(_)) => Some(QueueError::ShutDown.to_string()),
        };
        Box::pin(async move {
            if let Some(reason) = refused {
                return Err(DetectorError::new(name, reason));
            }
            match rx.await {
                Ok(Ok(matches)) => Ok(matches),
                Ok(Err(e)) => Err(DetectorError::new(name, e.to_string())),
                Err(reply::Disconnected) => {
                    Err(DetectorError::new(name, QueueError::ShutDown.to_string()))
                }
            }
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Padding {
    pad_to: usize,
    pad_id: u32,
    left: bool,
}

fn run_tokenizer(
    rx: &Mutex<Receiver<Job>>,
    queue: &Queue,
    windower: &Windower,
    labels: &Arc<[Category]>,
) {
    loop {
        let job = {
            let Ok(rx) = rx.lock() else { return };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        if job.reply.is_cancelled() {
            continue;
        }
        let windows = match windower.windows(&job.text) {
            Ok(w) => w,
            Err(e) => {
                job.reply.send(Err(QueueError::Tokenize(e)));
                continue;
            }
        };
        if windows.is_empty() {
            // No tokens (empty text, or only words the vocabulary drops): nothing can score.
            let zero = labels
                .iter()
                .map(|c| Match::new(0, 0, c.clone(), 0.0))
                .collect();
            job.reply.send(Ok(zero));
            continue;
        }
        let request = Request::new(job.reply, labels.clone(), windows.len());
        let entries = windows
            .into_iter()
            .map(|w| Entry {
                ids: w.ids,
                start: w.start,
                end: w.end,
                request: request.clone(),
            })
            .collect();
        if let Err(e) = queue.push_all(entries) {
            request.fail(e);
        }
    }
}

fn run_backend<B: Backend>(mut backend: B, queue: &Queue, limits: BatchLimits, padding: Padding) {
    while let Some(entries) = queue.next_batch(limits) {
        let rows: Vec<&[u32]> = entries.iter().map(|e| e.ids.as_slice()).collect();
        let batch = Batch::from_rows(&rows, padding.pad_to, padding.pad_id, padding.left);
        queue.stats.batches.fetch_add(1, Ordering::Relaxed);
        queue
            .stats
            .windows
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        match backend.predict(&batch) {
            Ok(scores) if scores.len() == entries.len() => {
                for (e, s) in entries.iter().zip(&scores) {
                    e.complete(s);
                }
            }
            Ok(scores) => {
                let e = crate::BackendError(format!(
                    "{} score rows for {} windows",
                    scores.len(),
                    entries.len()
                ));
                for entry in &entries {
                    entry.request.fail(e.clone().into());
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, rows = batch.rows, "classifier batch failed");
                for entry in &entries {
                    entry.request.fail(e.clone().into());
                }
            }
        }
    }
}
