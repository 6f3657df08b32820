//! The [`AuditWriter`]: the `AuditSink` the engine, the tower layer, the proxy and `glassbox scan`
//! write to. `record` puts the event on a bounded queue and returns; a background thread owns the
//! store, chains, signs checkpoints and syncs according to the fsync policy.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use ed25519_dalek::{Signer, SigningKey};
use glassbox_core::audit::{AuditSink, ContentDigester, DecisionEvent};
use serde::{Deserialize, Serialize};

use crate::digest::{self, HmacDigester};
use crate::keys;
use crate::record::{
    self, CheckpointBody, CheckpointReason, DecisionBody, Hash, Kind, OpenBody, OverflowBody,
    GENESIS_PREV,
};
use crate::store::{Encoded, Store};
use crate::time::now_ms;
use crate::AuditError;

/// When records are made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync (file) / commit (PostgreSQL) after every record: a record is durable before the
    /// next is written. Slowest; nothing acknowledged is ever lost.
    EveryRecord,
    /// Write as records arrive, fsync / commit at most this often (and on `flush`/`close`).
    /// A crash loses at most the records of the last interval, never acknowledged ones.
    Batched(Duration),
}

impl std::fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FsyncPolicy::EveryRecord => f.write_str("every_record"),
            FsyncPolicy::Batched(d) => write!(f, "batched:{}ms", d.as_millis()),
        }
    }
}

/// What `record` does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowPolicy {
    /// Drop the event at once and count it; the writer records an `overflow` record with the
    /// count and time range before the next event it writes. The request path never waits.
    DropAndRecord,
    /// Wait up to this long for space, then drop and count as above.
    Block(Duration),
}

impl std::fmt::Display for OverflowPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OverflowPolicy::DropAndRecord => f.write_str("drop_and_record"),
            OverflowPolicy::Block(d) => write!(f, "block:{}ms", d.as_millis()),
        }
    }
}

/// A wall clock in Unix milliseconds. The default reads the system clock; tests and replays
/// may pass their own.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// How an [`AuditWriter`] is set up. [`SinkOptions::default`] is the documented default.
#[derive(Clone)]
pub struct SinkOptions {
    /// Instance id (one chain per instance). Default: the chain's existing instance, else
    /// `$GLASSBOX_INSTANCE`, else the host name.
    pub instance: Option<String>,
    /// Signs checkpoints; without it checkpoints are written unsigned.
    pub signing_key: Option<SigningKey>,
    /// HMAC deployment key for content digests. Without it a random key is made for this
    /// session and the open record says so (digests cannot be re-proven later).
    pub hmac_key: Option<[u8; 32]>,
    /// Raw-content key: when set, raw content is kept, encrypted (XChaCha20-Poly1305). Off by
    /// default.
    pub content_key: Option<[u8; 32]>,
    /// Default: batched every 50 ms.
    pub fsync: FsyncPolicy,
    /// Default: drop and record.
    pub overflow: OverflowPolicy,
    /// Queue capacity in events. Default 8192.
    pub queue_capacity: usize,
    /// A checkpoint every this many records. Default 1000.
    pub checkpoint_every: u64,
    /// A checkpoint at least this often while records arrive. Default 60 s.
    pub checkpoint_interval: Duration,
    /// File store segment rotation size. Default 64 MiB.
    pub segment_max_bytes: u64,
    /// Time source for record and checkpoint times. Default: the system clock.
    pub clock: Option<Clock>,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            instance: None,
            signing_key: None,
            hmac_key: None,
            content_key: None,
            fsync: FsyncPolicy::Batched(Duration::from_millis(50)),
            overflow: OverflowPolicy::DropAndRecord,
            queue_capacity: 8192,
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(60),
            segment_max_bytes: crate::store::file::DEFAULT_SEGMENT_BYTES,
            clock: None,
        }
    }
}

impl std::fmt::Debug for SinkOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkOptions")
            .field("instance", &self.instance)
            .field("signing_key", &self.signing_key.is_some())
            .field("hmac_key", &self.hmac_key.is_some())
            .field("content_key", &self.content_key.is_some())
            .field("fsync", &self.fsync)
            .field("overflow", &self.overflow)
            .field("queue_capacity", &self.queue_capacity)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("checkpoint_interval", &self.checkpoint_interval)
            .field("segment_max_bytes", &self.segment_max_bytes)
            .field(
                "clock",
                &if self.clock.is_some() {
                    "custom"
                } else {
                    "system"
                },
            )
            .finish()
    }
}

/// Audit settings as written in a configuration file (`audit:` in glassbox.yaml).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// Instance id.
    pub instance: Option<String>,
    /// Signing key file (from `glassbox audit keygen`).
    pub signing_key: Option<PathBuf>,
    /// HMAC key file.
    pub hmac_key: Option<PathBuf>,
    /// Raw-content key file; setting it turns raw content on.
    pub content_key: Option<PathBuf>,
    /// `every_record` or `batched` (default).
    pub fsync: Option<String>,
    /// Batch interval for `batched`, in ms (default 50).
    pub fsync_interval_ms: Option<u64>,
    /// `drop` (default) or `block`.
    pub overflow: Option<String>,
    /// Longest wait for `block`, in ms (default 100).
    pub block_timeout_ms: Option<u64>,
    /// Queue capacity (default 8192).
    pub queue_capacity: Option<usize>,
    /// Checkpoint every N records (default 1000).
    pub checkpoint_every: Option<u64>,
    /// Checkpoint at least every T seconds (default 60).
    pub checkpoint_interval_secs: Option<u64>,
    /// Segment rotation size in bytes (default 64 MiB).
    pub segment_max_bytes: Option<u64>,
}

impl SinkOptions {
    /// Builds options from a configuration, loading the key files it names.
    ///
    /// # Errors
    /// A key file cannot be read, or a value is not one of the documented ones.
    pub fn from_config(c: &SinkConfig) -> Result<SinkOptions, AuditError> {
        let d = SinkOptions::default();
        let fsync = match c.fsync.as_deref() {
            None | Some("batched") => {
                FsyncPolicy::Batched(Duration::from_millis(c.fsync_interval_ms.unwrap_or(50)))
            }
            Some("every_record") => FsyncPolicy::EveryRecord,
            Some(o) => {
                return Err(AuditError::Config(format!(
                    "fsync: {o:?} is not `every_record` or `batched`"
                )))
            }
        };
        let overflow = match c.overflow.as_deref() {
            None | Some("drop") => OverflowPolicy::DropAndRecord,
            Some("block") => {
                OverflowPolicy::Block(Duration::from_millis(c.block_timeout_ms.unwrap_or(100)))
            }
            Some(o) => {
                return Err(AuditError::Config(format!(
                    "overflow: {o:?} is not `drop` or `block`"
                )))
            }
        };
        Ok(SinkOptions {
            instance: c.instance.clone(),
            signing_key: c
                .signing_key
                .as_deref()
                .map(keys::load_signing_key)
                .transpose()?,
            hmac_key: c.hmac_key.as_deref().map(keys::load_hmac_key).transpose()?,
            content_key: c
                .content_key
                .as_deref()
                .map(keys::load_content_key)
                .transpose()?,
            fsync,
            overflow,
            queue_capacity: c.queue_capacity.unwrap_or(d.queue_capacity),
            checkpoint_every: c.checkpoint_every.unwrap_or(d.checkpoint_every),
            checkpoint_interval: c
                .checkpoint_interval_secs
                .map(Duration::from_secs)
                .unwrap_or(d.checkpoint_interval),
            segment_max_bytes: c.segment_max_bytes.unwrap_or(d.segment_max_bytes),
            clock: None,
        })
    }

    /// Sets the signing key from a key file.
    ///
    /// # Errors
    /// As [`keys::load_signing_key`].
    pub fn signing_key_file(mut self, path: &Path) -> Result<Self, AuditError> {
        self.signing_key = Some(keys::load_signing_key(path)?);
        Ok(self)
    }
}

/// Counts a writer reports on `flush` and `close`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WriteStats {
    /// Records written by this session (all kinds, including open and checkpoints).
    pub written: u64,
    /// Decision records written by this session.
    pub decisions: u64,
    /// Events dropped because the queue was full (each drop is in an `overflow` record).
    pub dropped: u64,
    /// Seq of the last durable record, if any.
    pub last_seq: Option<u64>,
}

enum Msg {
    Event(Box<DecisionEvent>, i64),
    Flush(Sender<Result<WriteStats, String>>),
    Close(Sender<Result<WriteStats, String>>),
}

#[derive(Debug, Default)]
struct Dropped {
    count: u64,
    first_ms: i64,
    last_ms: i64,
}

#[derive(Debug, Default)]
struct Shared {
    dropped: Mutex<Dropped>,
    dropped_total: AtomicU64,
    failure: Mutex<Option<String>>,
}

/// The audit sink: see the crate README for the queue, fsync and overflow policies.
pub struct AuditWriter {
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    hmac_key: [u8; 32],
    raw_content: bool,
    overflow: OverflowPolicy,
    instance: String,
    label: String,
    clock: Clock,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter")
            .field("store", &self.label)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

pub(crate) fn default_instance() -> String {
    if let Ok(i) = std::env::var("GLASSBOX_INSTANCE") {
        if !i.is_empty() {
            return i;
        }
    }
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "glassbox".to_string())
}

/// Checks an instance id: 1..=128 bytes of `[A-Za-z0-9._:-]`.
pub(crate) fn check_instance(i: &str) -> Result<(), AuditError> {
    if i.is_empty()
        || i.len() > 128
        || !i
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
    {
        return Err(AuditError::Config(format!(
            "instance {i:?}: use 1 to 128 of A-Z a-z 0-9 . _ : -"
        )));
    }
    Ok(())
}

impl AuditWriter {
    /// Starts a writer on an opened store: writes the `open` record (and a `recovered` record
    /// when the store cut a torn tail), then serves the queue on a background thread.
    ///
    /// # Errors
    /// Bad options, or the first records cannot be written.
    pub fn start(store: Box<dyn Store>, opts: SinkOptions) -> Result<AuditWriter, AuditError> {
        let instance = match (&opts.instance, store.existing_instance()) {
            (Some(want), Some(have)) if *want != have => {
                return Err(AuditError::Config(format!(
                    "store {} holds the chain of instance {have:?}, not {want:?}",
                    store.label()
                )))
            }
            (Some(want), _) => want.clone(),
            (None, Some(have)) => have,
            (None, None) => default_instance(),
        };
        check_instance(&instance)?;
        if opts.queue_capacity == 0 || opts.checkpoint_every == 0 {
            return Err(AuditError::Config(
                "queue_capacity and checkpoint_every must be at least 1".into(),
            ));
        }
        let (hmac_key, ephemeral) = match opts.hmac_key {
            Some(k) => (k, false),
            None => (keys::random_key()?, true),
        };
        let label = store.label();
        let clock: Clock = opts.clock.clone().unwrap_or_else(|| Arc::new(now_ms));
        let mut state = WriterState::new(store, &opts, instance.clone(), hmac_key, clock.clone());
        let open = OpenBody {
            writer: format!("glassbox-audit {}", env!("CARGO_PKG_VERSION")),
            public_key: opts
                .signing_key
                .as_ref()
                .map(|k| hex::encode(k.verifying_key().as_bytes())),
            key_id: opts
                .signing_key
                .as_ref()
                .map(|k| keys::public_key_id(&k.verifying_key())),
            hmac_key_id: state.hmac_key_id.clone(),
            hmac_key_ephemeral: ephemeral,
            content_key_id: opts.content_key.as_ref().map(keys::content_key_id),
            fsync: opts.fsync.to_string(),
            overflow: opts.overflow.to_string(),
            queue_capacity: opts.queue_capacity as u64,
            checkpoint_every: opts.checkpoint_every,
            checkpoint_interval_ms: opts.checkpoint_interval.as_millis() as u64,
        };
        // Validation is done: now a torn tail may be cut, and is recorded right after `open`.
        let recovered = state.store.take_recovery()?;
        state.write_json(Kind::Open, clock(), &open)?;
        if let Some(rec) = recovered {
            state.write_json(Kind::Recovered, clock(), &rec)?;
        }
        state.sync()?;
        let (tx, rx) = bounded(opts.queue_capacity);
        let shared = Arc::new(Shared::default());
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("glassbox-audit".into())
            .spawn(move || state.run(rx, &sh))
            .map_err(|e| AuditError::WriterStopped(format!("cannot start thread: {e}")))?;
        Ok(AuditWriter {
            tx,
            shared,
            thread: Mutex::new(Some(thread)),
            hmac_key,
            raw_content: opts.content_key.is_some(),
            overflow: opts.overflow,
            instance,
            label,
            clock,
        })
    }

    /// The chain's instance id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Events dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped_total.load(Ordering::Relaxed)
    }

    /// Why the writer thread stopped writing, if it did (a store error).
    pub fn failure(&self) -> Option<String> {
        self.shared.failure.lock().ok().and_then(|f| f.clone())
    }

    fn request(
        &self,
        make: fn(Sender<Result<WriteStats, String>>) -> Msg,
    ) -> Result<WriteStats, AuditError> {
        let (rtx, rrx) = bounded(1);
        self.tx
            .send(make(rtx))
            .map_err(|_| AuditError::WriterStopped("the writer has closed".into()))?;
        match rrx.recv() {
            Ok(Ok(stats)) => Ok(stats),
            Ok(Err(e)) => Err(AuditError::WriterStopped(e)),
            Err(_) => Err(AuditError::WriterStopped(
                self.failure()
                    .unwrap_or_else(|| "the writer thread ended".into()),
            )),
        }
    }

    /// Waits until every event queued before this call is written and durable (fsync /
    /// commit), and returns the session's counts. `last_seq` is then acknowledged: it survives
    /// a crash.
    ///
    /// # Errors
    /// The writer stopped after a store error, or was closed.
    pub fn flush(&self) -> Result<WriteStats, AuditError> {
        self.request(Msg::Flush)
    }

    /// Orderly shutdown: writes what is queued, a closing checkpoint, syncs, and stops the
    /// thread. Returns the session's counts. Later `record` calls count as dropped.
    ///
    /// # Errors
    /// As [`AuditWriter::flush`].
    pub fn close(&self) -> Result<WriteStats, AuditError> {
        let r = self.request(Msg::Close);
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
        r
    }

    fn count_drop(&self, ts: i64) {
        if let Ok(mut d) = self.shared.dropped.lock() {
            if d.count == 0 {
                d.first_ms = ts;
            }
            d.count += 1;
            d.last_ms = ts;
        }
        self.shared.dropped_total.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for AuditWriter {
    fn drop(&mut self) {
        let running = self.thread.get_mut().ok().and_then(|t| t.take());
        if let Some(t) = running {
            let (rtx, _rrx) = bounded(1);
            if self.tx.send(Msg::Close(rtx)).is_ok() {
                let _ = t.join();
            }
        }
    }
}

impl AuditSink for AuditWriter {
    fn record(&self, event: DecisionEvent) {
        let ts = (self.clock)();
        let msg = Msg::Event(Box::new(event), ts);
        let sent = match self.overflow {
            OverflowPolicy::DropAndRecord => match self.tx.try_send(msg) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
            OverflowPolicy::Block(d) => self.tx.send_timeout(msg, d).is_ok(),
        };
        if !sent {
            self.count_drop(ts);
        }
    }

    fn digester(&self) -> Option<Box<dyn ContentDigester>> {
        Some(Box::new(HmacDigester::new(&self.hmac_key)))
    }

    fn wants_raw_content(&self) -> bool {
        self.raw_content
    }
}

// === impl WriterState ===

struct WriterState {
    store: Box<dyn Store>,
    instance: String,
    next_seq: u64,
    prev_hash: Hash,
    signing_key: Option<SigningKey>,
    key_id: Option<String>,
    hmac_key_id: String,
    content_key: Option<([u8; 32], String)>,
    fsync: FsyncPolicy,
    overflow: OverflowPolicy,
    checkpoint_every: u64,
    checkpoint_interval: Duration,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    dirty: bool,
    last_sync: Instant,
    stats: WriteStats,
    durable_seq: Option<u64>,
    clock: Clock,
}

impl WriterState {
    fn new(
        store: Box<dyn Store>,
        opts: &SinkOptions,
        instance: String,
        hmac_key: [u8; 32],
        clock: Clock,
    ) -> Self {
        let (next_seq, prev_hash) = match store.tail() {
            Some((seq, h)) => (seq + 1, h),
            None => (0, GENESIS_PREV),
        };
        WriterState {
            durable_seq: next_seq.checked_sub(1),
            store,
            instance,
            next_seq,
            prev_hash,
            key_id: opts
                .signing_key
                .as_ref()
                .map(|k| keys::public_key_id(&k.verifying_key())),
            signing_key: opts.signing_key.clone(),
            hmac_key_id: keys::hmac_key_id(&hmac_key),
            content_key: opts.content_key.map(|k| (k, keys::content_key_id(&k))),
            fsync: opts.fsync,
            overflow: opts.overflow,
            checkpoint_every: opts.checkpoint_every,
            checkpoint_interval: opts.checkpoint_interval,
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
            dirty: false,
            last_sync: Instant::now(),
            stats: WriteStats::default(),
            clock,
        }
    }

    /// Appends a record whose body `write_body` serialises straight after the header.
    fn append(
        &mut self,
        kind: Kind,
        ts_ms: i64,
        write_body: impl FnOnce(&mut Vec<u8>) -> Result<(), AuditError>,
    ) -> Result<(), AuditError> {
        let seq = self.next_seq;
        let mut bytes = record::encode(kind, seq, ts_ms, &self.prev_hash, &self.instance, &[]);
        write_body(&mut bytes)?;
        let hash = record::hash(&bytes);
        let rec = Encoded {
            seq,
            kind,
            ts_ms,
            prev_hash: self.prev_hash,
            hash,
            bytes,
        };
        self.store.append(&rec)?;
        self.next_seq += 1;
        self.prev_hash = hash;
        self.stats.written += 1;
        self.dirty = true;
        if kind != Kind::Checkpoint {
            self.since_checkpoint += 1;
        }
        if self.fsync == FsyncPolicy::EveryRecord {
            self.sync()?;
        }
        Ok(())
    }

    fn write_json<T: Serialize>(
        &mut self,
        kind: Kind,
        ts_ms: i64,
        body: &T,
    ) -> Result<(), AuditError> {
        self.append(kind, ts_ms, |out| {
            serde_json::to_writer(out, body).map_err(|e| AuditError::Encode(e.to_string()))
        })
    }

    fn sync(&mut self) -> Result<(), AuditError> {
        if self.dirty {
            self.store.sync()?;
            self.dirty = false;
            self.durable_seq = self.next_seq.checked_sub(1);
        }
        self.last_sync = Instant::now();
        Ok(())
    }

    fn write_decision(&mut self, mut ev: DecisionEvent, ts_ms: i64) -> Result<(), AuditError> {
        let raw = std::mem::take(&mut ev.raw_content);
        let sealed = match (&self.content_key, raw.is_empty()) {
            (Some((key, id)), false) => {
                Some(digest::seal(key, id, &self.instance, self.next_seq, &raw)?)
            }
            // Raw content is off (or there is none): it is dropped here and never stored.
            _ => None,
        };
        let body = DecisionBody {
            event: ev,
            hmac_key_id: self.hmac_key_id.clone(),
            sealed_content: sealed,
        };
        self.write_json(Kind::Decision, ts_ms, &body)?;
        self.stats.decisions += 1;
        Ok(())
    }

    fn checkpoint(&mut self, reason: CheckpointReason) -> Result<(), AuditError> {
        let Some(signed_seq) = self.next_seq.checked_sub(1) else {
            return Ok(());
        };
        let ts = (self.clock)();
        let signature = self.signing_key.as_ref().map(|k| {
            let msg = record::checkpoint_message(&self.instance, signed_seq, &self.prev_hash, ts);
            hex::encode(k.sign(&msg).to_bytes())
        });
        let body = CheckpointBody {
            signed_seq,
            signed_hash: hex::encode(self.prev_hash),
            signed_ts_ms: ts,
            reason,
            key_id: self.key_id.clone(),
            signature,
        };
        self.write_json(Kind::Checkpoint, ts, &body)?;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        Ok(())
    }

    fn write_overflow(&mut self, shared: &Shared) -> Result<(), AuditError> {
        let taken = match shared.dropped.lock() {
            Ok(mut d) if d.count > 0 => std::mem::take(&mut *d),
            _ => return Ok(()),
        };
        self.stats.dropped += taken.count;
        let body = OverflowBody {
            dropped: taken.count,
            first_dropped_ms: taken.first_ms,
            last_dropped_ms: taken.last_ms,
            policy: self.overflow.to_string(),
        };
        let ts = (self.clock)();
        self.write_json(Kind::Overflow, ts, &body)
    }

    fn after_write(&mut self) -> Result<(), AuditError> {
        if self.since_checkpoint >= self.checkpoint_every {
            self.checkpoint(CheckpointReason::Records)?;
        } else if self.since_checkpoint > 0
            && self.last_checkpoint.elapsed() >= self.checkpoint_interval
        {
            self.checkpoint(CheckpointReason::Interval)?;
        }
        if let FsyncPolicy::Batched(d) = self.fsync {
            if self.dirty && self.last_sync.elapsed() >= d {
                self.sync()?;
            }
        }
        Ok(())
    }

    fn stats(&self) -> WriteStats {
        WriteStats {
            last_seq: self.durable_seq,
            ..self.stats
        }
    }

    /// How long to wait for the next message before a timed duty (sync, checkpoint) is due.
    fn next_timeout(&self) -> Duration {
        let mut t = Duration::from_secs(3600);
        if self.dirty {
            if let FsyncPolicy::Batched(d) = self.fsync {
                t = t.min(d.saturating_sub(self.last_sync.elapsed()));
            }
        }
        if self.since_checkpoint > 0 {
            t = t.min(
                self.checkpoint_interval
                    .saturating_sub(self.last_checkpoint.elapsed()),
            );
        }
        t
    }

    fn step(&mut self, msg: Option<Msg>, shared: &Shared) -> Result<bool, AuditError> {
        match msg {
            Some(Msg::Event(ev, ts)) => {
                self.write_overflow(shared)?;
                self.write_decision(*ev, ts)?;
            }
            Some(Msg::Flush(reply)) => {
                self.write_overflow(shared)?;
                self.sync()?;
                let _ = reply.send(Ok(self.stats()));
                return Ok(true);
            }
            Some(Msg::Close(reply)) => {
                self.write_overflow(shared)?;
                self.checkpoint(CheckpointReason::Close)?;
                self.sync()?;
                let _ = reply.send(Ok(self.stats()));
                return Ok(false);
            }
            None => {}
        }
        self.after_write()?;
        Ok(true)
    }

    fn run(mut self, rx: Receiver<Msg>, shared: &Shared) {
        loop {
            let msg = match rx.recv_timeout(self.next_timeout()) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    let (rtx, _r) = bounded(1);
                    Some(Msg::Close(rtx))
                }
            };
            match self.step(msg, shared) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    self.fail(e.to_string(), rx, shared);
                    return;
                }
            }
        }
    }

    /// After a store error: nothing more can be chained honestly. Answer every request with
    /// the error and count events as dropped until the writer is closed.
    fn fail(self, err: String, rx: Receiver<Msg>, shared: &Shared) {
        if let Ok(mut f) = shared.failure.lock() {
            *f = Some(format!("{}: {err}", self.store.label()));
        }
        for msg in rx.iter() {
            match msg {
                Msg::Event(..) => {
                    shared.dropped_total.fetch_add(1, Ordering::Relaxed);
                }
                Msg::Flush(r) => {
                    let _ = r.send(Err(err.clone()));
                }
                Msg::Close(r) => {
                    let _ = r.send(Err(err.clone()));
                    return;
                }
            }
        }
    }
}
