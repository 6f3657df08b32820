//! Verification: walks every chain of a store, recomputes every hash, checks seq continuity,
//! `prev_hash` links and checkpoint signatures, and names the first bad record of each chain.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::Serialize;

use crate::keys;
use crate::record::{self, CheckpointBody, CheckpointReason, Hash, Kind, OpenBody, GENESIS_PREV};
use crate::store::{self, Item, Location};
use crate::time::format_rfc3339;
use crate::AuditError;

/// The first thing wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Seq of the bad record, when it could be read.
    pub seq: Option<u64>,
    /// Where it sits in the store.
    pub location: String,
    /// What is wrong.
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(s) => write!(f, "record seq {s} ({}): {}", self.location, self.what),
            None => write!(f, "record at {}: {}", self.location, self.what),
        }
    }
}

/// A checkpoint seen in a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointInfo {
    /// Seq of the checkpoint record.
    pub seq: u64,
    /// Time signed.
    pub ts_ms: i64,
    /// Time signed, RFC 3339.
    pub time: String,
    /// Why it was written.
    pub reason: CheckpointReason,
    /// Whether it carries a signature that verified.
    pub signed: bool,
}

/// Which key checkpoint signatures were checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// The public key given to `verify` (independent trust).
    Trusted,
    /// The key the chain's `open` records declare (proves integrity against anyone who does
    /// not also replace the key in the chain; pass `--public-key` for independent trust).
    Declared,
    /// No checkpoint was signed.
    Unsigned,
}

/// What verification found in one chain.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// The chain (directory, or URL and instance).
    pub chain: String,
    /// Instance id.
    pub instance: Option<String>,
    /// Records checked.
    pub records: u64,
    /// Seq of the last good record.
    pub last_seq: Option<u64>,
    /// Hex hash of the last good record.
    pub last_hash: Option<String>,
    /// Time of the first and last good records.
    pub first_ts_ms: Option<i64>,
    /// Time of the last good record.
    pub last_ts_ms: Option<i64>,
    /// Writer sessions (`open` records).
    pub sessions: u64,
    /// Checkpoints.
    pub checkpoints: Vec<CheckpointInfo>,
    /// Last seq covered by a verified signature.
    pub signed_through: Option<u64>,
    /// Records after the last verified signature (written after it, by a writer still running
    /// or one that crashed; not provable against truncation).
    pub unsigned_tail: u64,
    /// Whether the last record is a closing checkpoint.
    pub closed: bool,
    /// Which key signatures were checked against.
    pub key_status: KeyStatus,
    /// `recovered` records (torn tails cut after crashes).
    pub recoveries: u64,
    /// The first problem; `None` when the chain is intact.
    pub problem: Option<Problem>,
}

impl ChainReport {
    /// Whether the chain is intact.
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// What verification found in a store.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The store.
    pub store: String,
    /// Id of the trusted public key, when one was given.
    pub trusted_key_id: Option<String>,
    /// One report per chain.
    pub chains: Vec<ChainReport>,
}

impl VerifyReport {
    /// Whether every chain is intact.
    pub fn ok(&self) -> bool {
        self.chains.iter().all(ChainReport::ok)
    }

    /// The report as text lines, one per chain, then a summary line.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for c in &self.chains {
            s.push_str(&c.summary_line());
            s.push('\n');
        }
        let bad = self.chains.iter().filter(|c| !c.ok()).count();
        if bad == 0 {
            s.push_str(&format!(
                "OK: {} chain(s) intact in {}\n",
                self.chains.len(),
                self.store
            ));
        } else {
            s.push_str(&format!(
                "FAILED: {bad} of {} chain(s) in {} are not intact\n",
                self.chains.len(),
                self.store
            ));
        }
        s
    }
}

impl ChainReport {
    fn summary_line(&self) -> String {
        let inst = self.instance.as_deref().unwrap_or("?");
        if let Some(p) = &self.problem {
            return format!("FAIL {} (instance {inst}): {p}", self.chain);
        }
        if self.records == 0 {
            return format!("ok   {} : empty", self.chain);
        }
        let signed = match self.key_status {
            KeyStatus::Trusted => "signatures verified with the trusted public key",
            KeyStatus::Declared => {
                "signatures verified with the key declared in the chain (pass --public-key for independent trust)"
            }
            KeyStatus::Unsigned => "checkpoints are UNSIGNED",
        };
        let mut line = format!(
            "ok   {} (instance {inst}): {} records, seq 0..={}, {} checkpoints, {signed}",
            self.chain,
            self.records,
            self.last_seq.unwrap_or(0),
            self.checkpoints.len()
        );
        if let Some(c) = self.checkpoints.iter().rev().find(|c| c.signed) {
            line.push_str(&format!(
                "; last signed checkpoint seq {} at {}",
                c.seq, c.time
            ));
        }
        if self.unsigned_tail > 0 {
            line.push_str(&format!(
                "; warning: the last {} record(s) are not covered by a signed checkpoint",
                self.unsigned_tail
            ));
        }
        line.push_str(if self.closed {
            "; closed"
        } else {
            "; open (writer running or crashed)"
        });
        if self.recoveries > 0 {
            line.push_str(&format!("; {} torn tail(s) recovered", self.recoveries));
        }
        line
    }
}

/// Checks one chain record by record. Used by [`verify_store`] and by the report.
#[derive(Debug)]
pub struct ChainVerifier {
    trusted: Option<VerifyingKey>,
    declared: Option<VerifyingKey>,
    prev_hash: Hash,
    last_good_signed: Option<u64>,
    any_unsigned: bool,
    last_kind: Option<(Kind, Option<CheckpointReason>)>,
    report: ChainReport,
}

/// Result of pushing one record: accepted (with its decoded header) or not.
pub type Accepted<'a> = Option<record::Header<'a>>;

impl ChainVerifier {
    /// A verifier for chain `label`, checking signatures against `trusted` when given.
    pub fn new(label: String, trusted: Option<VerifyingKey>) -> Self {
        ChainVerifier {
            trusted,
            declared: None,
            prev_hash: GENESIS_PREV,
            last_good_signed: None,
            any_unsigned: false,
            last_kind: None,
            report: ChainReport {
                chain: label,
                instance: None,
                records: 0,
                last_seq: None,
                last_hash: None,
                first_ts_ms: None,
                last_ts_ms: None,
                sessions: 0,
                checkpoints: Vec::new(),
                signed_through: None,
                unsigned_tail: 0,
                closed: false,
                key_status: KeyStatus::Unsigned,
                recoveries: 0,
                problem: None,
            },
        }
    }

    fn fail(&mut self, seq: Option<u64>, loc: &Location, what: String) {
        if self.report.problem.is_none() {
            self.report.problem = Some(Problem {
                seq,
                location: loc.to_string(),
                what,
            });
        }
    }

    /// Notes a structural fault from the store scan.
    pub fn fault(&mut self, loc: &Location, what: &str) {
        let after = match self.report.last_seq {
            Some(s) => format!("after seq {s}: {what}"),
            None => what.to_string(),
        };
        self.fail(None, loc, after);
    }

    /// Whether a problem was found.
    pub fn failed(&self) -> bool {
        self.report.problem.is_some()
    }

    /// Checks the next record. Returns its header when it is good; once a problem was found,
    /// every later record is ignored (the first bad record is what counts).
    pub fn push<'a>(&mut self, loc: &Location, bytes: &'a [u8], stored: &Hash) -> Accepted<'a> {
        if self.failed() {
            return None;
        }
        let computed = record::hash(bytes);
        let header = record::decode(bytes);
        let seq = header.as_ref().ok().map(|h| h.seq);
        if computed != *stored {
            self.fail(
                seq,
                loc,
                format!(
                    "hash mismatch: stored {} computed {} (the record's bytes were changed)",
                    hex::encode(stored),
                    hex::encode(computed)
                ),
            );
            return None;
        }
        let h = match header {
            Ok(h) => h,
            Err(e) => {
                self.fail(None, loc, format!("malformed record: {e}"));
                return None;
            }
        };
        match &self.report.instance {
            None => self.report.instance = Some(h.instance.to_string()),
            Some(i) if i != h.instance => {
                let what = format!("instance {:?} in a chain of instance {i:?}", h.instance);
                self.fail(Some(h.seq), loc, what);
                return None;
            }
            Some(_) => {}
        }
        let expected = self.report.last_seq.map_or(0, |s| s + 1);
        if h.seq != expected {
            let what = match self.report.last_seq {
                None => format!(
                    "the chain starts at seq {} instead of 0: records 0..={} are missing (deleted or cut from the front)",
                    h.seq,
                    h.seq.saturating_sub(1)
                ),
                Some(last) if h.seq > expected => format!(
                    "seq {} follows seq {last}: records {expected}..={} are missing (deleted or moved)",
                    h.seq,
                    h.seq - 1
                ),
                Some(last) => format!(
                    "seq {} follows seq {last}: out of order or duplicated (reordered or inserted)",
                    h.seq
                ),
            };
            self.fail(Some(h.seq), loc, what);
            return None;
        }
        if h.prev_hash != self.prev_hash {
            let what = format!(
                "prev_hash {} does not match the hash {} of the record before it (a record was inserted, removed or replaced here)",
                hex::encode(h.prev_hash),
                hex::encode(self.prev_hash)
            );
            self.fail(Some(h.seq), loc, what);
            return None;
        }
        let mut ck_reason = None;
        match h.kind {
            Kind::Open => match serde_json::from_slice::<OpenBody>(h.body) {
                Ok(open) => {
                    self.report.sessions += 1;
                    self.declared = open
                        .public_key
                        .as_deref()
                        .and_then(|k| hex::decode(k).ok())
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .and_then(|b| VerifyingKey::from_bytes(&b).ok());
                    if open.public_key.is_some() && self.declared.is_none() {
                        self.fail(
                            Some(h.seq),
                            loc,
                            "open record: public_key is not a valid Ed25519 key".into(),
                        );
                        return None;
                    }
                }
                Err(e) => {
                    self.fail(Some(h.seq), loc, format!("open record body: {e}"));
                    return None;
                }
            },
            Kind::Checkpoint => {
                let ck = match serde_json::from_slice::<CheckpointBody>(h.body) {
                    Ok(c) => c,
                    Err(e) => {
                        self.fail(Some(h.seq), loc, format!("checkpoint body: {e}"));
                        return None;
                    }
                };
                if let Err(what) = self.check_checkpoint(&h, &ck) {
                    self.fail(Some(h.seq), loc, what);
                    return None;
                }
                ck_reason = Some(ck.reason);
            }
            Kind::Recovered => self.report.recoveries += 1,
            Kind::Decision | Kind::Overflow => {}
        }
        let r = &mut self.report;
        r.records += 1;
        r.last_seq = Some(h.seq);
        r.first_ts_ms.get_or_insert(h.ts_ms);
        r.last_ts_ms = Some(h.ts_ms);
        self.prev_hash = computed;
        self.last_kind = Some((h.kind, ck_reason));
        self.report.signed_through = self.last_good_signed;
        Some(h)
    }

    fn check_checkpoint(
        &mut self,
        h: &record::Header<'_>,
        ck: &CheckpointBody,
    ) -> Result<(), String> {
        let signed_seq = h
            .seq
            .checked_sub(1)
            .ok_or("a checkpoint cannot be the first record")?;
        if ck.signed_seq != signed_seq {
            return Err(format!(
                "checkpoint signs seq {} but the record before it is seq {signed_seq}",
                ck.signed_seq
            ));
        }
        if record::parse_hash(&ck.signed_hash) != Some(self.prev_hash) {
            return Err(format!(
                "checkpoint signs hash {} but record seq {signed_seq} has hash {}",
                ck.signed_hash,
                hex::encode(self.prev_hash)
            ));
        }
        if ck.signed_ts_ms != h.ts_ms {
            return Err(format!(
                "checkpoint signs time {} but the record's time is {}",
                ck.signed_ts_ms, h.ts_ms
            ));
        }
        let key = self.trusted.or(self.declared);
        let signed = match (&ck.signature, key) {
            (None, _) if self.trusted.is_some() => {
                return Err(
                    "checkpoint is unsigned, but a public key was given: every checkpoint must be signed by it"
                        .into(),
                )
            }
            (None, _) => {
                self.any_unsigned = true;
                false
            }
            (Some(_), None) => {
                return Err("checkpoint carries a signature but no key is declared in the chain; pass --public-key".into())
            }
            (Some(sig), Some(key)) => {
                let which = if self.trusted.is_some() { "the trusted public key" } else { "the key declared in the chain" };
                let since = match self.last_good_signed {
                    Some(s) => format!("after seq {s}"),
                    None => "from the start".to_string(),
                };
                let sig = hex::decode(sig)
                    .ok()
                    .and_then(|b| Signature::from_slice(&b).ok())
                    .ok_or("checkpoint signature is not 64 hex bytes")?;
                let msg = record::checkpoint_message(h.instance, signed_seq, &self.prev_hash, h.ts_ms);
                if key.verify(&msg, &sig).is_err() {
                    return Err(format!(
                        "checkpoint signature does not verify with {which} (key id {}): the records {since} up to seq {signed_seq} were altered after signing, or the checkpoint is forged",
                        keys::public_key_id(&key)
                    ));
                }
                true
            }
        };
        if signed {
            self.last_good_signed = Some(h.seq);
            self.report.key_status = if self.trusted.is_some() {
                KeyStatus::Trusted
            } else {
                KeyStatus::Declared
            };
        }
        self.report.checkpoints.push(CheckpointInfo {
            seq: h.seq,
            ts_ms: h.ts_ms,
            time: format_rfc3339(h.ts_ms),
            reason: ck.reason,
            signed,
        });
        Ok(())
    }

    /// Finishes the chain.
    pub fn finish(mut self) -> ChainReport {
        let r = &mut self.report;
        r.last_hash = r.last_seq.map(|_| hex::encode(self.prev_hash));
        r.unsigned_tail = match (r.last_seq, self.last_good_signed) {
            (Some(last), Some(s)) => last - s,
            (Some(last), None) => last + 1,
            (None, _) => 0,
        };
        r.closed = matches!(
            self.last_kind,
            Some((Kind::Checkpoint, Some(CheckpointReason::Close)))
        );
        if self.any_unsigned && r.key_status != KeyStatus::Unsigned {
            // Mixed sessions: some signed, some not. Report the weaker status.
            r.key_status = KeyStatus::Unsigned;
        }
        self.report
    }
}

/// Verifies every chain in `store` (a directory or a `postgres://` URL).
///
/// # Errors
/// The store cannot be read at all (missing directory, connection refused). Damage inside the
/// store is not an error: it is reported in the chain's [`ChainReport::problem`].
pub fn verify_store(
    store: &str,
    trusted: Option<VerifyingKey>,
) -> Result<VerifyReport, AuditError> {
    let mut chains = Vec::new();
    let mut cur: Option<ChainVerifier> = None;
    store::scan(store, &mut |item| {
        match item {
            Item::Chain(label) => {
                if let Some(v) = cur.replace(ChainVerifier::new(label, trusted)) {
                    chains.push(v.finish());
                }
            }
            Item::Record {
                loc,
                bytes,
                stored_hash,
            } => {
                if let Some(v) = cur.as_mut() {
                    v.push(&loc, bytes, &stored_hash);
                }
            }
            Item::Fault { loc, what } => {
                if let Some(v) = cur.as_mut() {
                    v.fault(&loc, &what);
                }
            }
        }
        Ok(())
    })?;
    if let Some(v) = cur {
        chains.push(v.finish());
    }
    Ok(VerifyReport {
        store: redacted_store(store),
        trusted_key_id: trusted.as_ref().map(keys::public_key_id),
        chains,
    })
}

pub(crate) fn redacted_store(store: &str) -> String {
    #[cfg(feature = "postgres")]
    if store::is_postgres_url(store) {
        return store::pg::redact(store);
    }
    store.to_string()
}
