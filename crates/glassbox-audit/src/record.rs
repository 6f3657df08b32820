//! Audit records: the canonical byte encoding, the chain hash and the checkpoint signature input.
//! FORMAT.md documents every byte; this module is its implementation.

use glassbox_core::DecisionEvent;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Magic at the start of every canonical record.
pub const RECORD_MAGIC: &[u8; 4] = b"GBR1";
/// Length of the fixed header before the instance id.
pub const FIXED_HEADER: usize = 4 + 1 + 8 + 8 + 32 + 2;
/// Domain separator of the checkpoint signature input.
pub const CHECKPOINT_DOMAIN: &[u8] = b"glassbox-audit/checkpoint/v1\0";
/// A SHA-256 hash.
pub type Hash = [u8; 32];
/// The `prev_hash` of the first record of a chain.
pub const GENESIS_PREV: Hash = [0u8; 32];

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A writer session started: keys in use and policies ([`OpenBody`]).
    Open = 1,
    /// A decision ([`DecisionBody`]).
    Decision = 2,
    /// A checkpoint over the record before it ([`CheckpointBody`]).
    Checkpoint = 3,
    /// Events dropped because the queue was full ([`OverflowBody`]).
    Overflow = 4,
    /// A torn tail was truncated after a crash ([`RecoveredBody`]).
    Recovered = 5,
}

impl Kind {
    /// The byte stored in the header.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The kind for a header byte.
    pub fn from_code(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Open,
            2 => Kind::Decision,
            3 => Kind::Checkpoint,
            4 => Kind::Overflow,
            5 => Kind::Recovered,
            _ => return None,
        })
    }

    /// The kind's name (`open`, `decision`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Open => "open",
            Kind::Decision => "decision",
            Kind::Checkpoint => "checkpoint",
            Kind::Overflow => "overflow",
            Kind::Recovered => "recovered",
        }
    }
}

/// Body of an `open` record: how this writer session is configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    /// `glassbox-audit <version>`.
    pub writer: String,
    /// Hex Ed25519 public key that signs this session's checkpoints; `None` when unsigned.
    pub public_key: Option<String>,
    /// Key id (first 8 bytes of SHA-256 of the public key, hex).
    pub key_id: Option<String>,
    /// Id of the HMAC deployment key used for content digests.
    pub hmac_key_id: String,
    /// Whether the HMAC key was generated for this session only (digests cannot be re-proven).
    pub hmac_key_ephemeral: bool,
    /// Id of the raw-content encryption key, when raw content is kept.
    pub content_key_id: Option<String>,
    /// The fsync policy (`every_record`, `batched:<ms>ms`).
    pub fsync: String,
    /// Overflow policy (`drop_and_record`, `block:<ms>ms`).
    pub overflow: String,
    /// Queue capacity in events.
    pub queue_capacity: u64,
    /// A checkpoint every this many records.
    pub checkpoint_every: u64,
    /// A checkpoint at least every this many milliseconds while records arrive.
    pub checkpoint_interval_ms: u64,
}

/// Raw content encrypted with XChaCha20-Poly1305.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedContent {
    /// Id of the content key.
    pub key_id: String,
    /// Hex 24-byte nonce.
    pub nonce: String,
    /// Base64 ciphertext of the JSON `[[part, text], …]`, with its 16-byte tag.
    pub ciphertext: String,
}

/// Body of a `decision` record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// The event, with `raw_content` always empty.
    pub event: DecisionEvent,
    /// Id of the HMAC key the content digests were made with.
    pub hmac_key_id: String,
    /// Raw content, encrypted; only when raw content is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_content: Option<SealedContent>,
}

/// Why a checkpoint was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointReason {
    /// `checkpoint_every` records since the last one.
    Records,
    /// `checkpoint_interval` elapsed.
    Interval,
    /// An explicit flush.
    Flush,
    /// The writer closed in order; nothing follows in this session.
    Close,
}

/// Body of a `checkpoint` record: a signature over the record before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointBody {
    /// Seq of the record signed (this record's seq − 1).
    pub signed_seq: u64,
    /// Hex hash of that record.
    pub signed_hash: String,
    /// The time signed (equals this record's `ts`).
    pub signed_ts_ms: i64,
    /// Why now.
    pub reason: CheckpointReason,
    /// Id of the signing key; `None` when unsigned.
    pub key_id: Option<String>,
    /// Hex Ed25519 signature over [`checkpoint_message`]; `None` when the writer has no key.
    pub signature: Option<String>,
}

/// Body of an `overflow` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverflowBody {
    /// Events not recorded.
    pub dropped: u64,
    /// Time of the first dropped event.
    pub first_dropped_ms: i64,
    /// Time of the last dropped event.
    pub last_dropped_ms: i64,
    /// The policy that dropped them.
    pub policy: String,
}

/// Body of a `recovered` record: bytes cut from the end of the store after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveredBody {
    /// Where the cut began (`segment 000003, byte 5120`).
    pub location: String,
    /// How many bytes were cut.
    pub bytes: u64,
    /// Hex SHA-256 of the bytes cut.
    pub sha256: String,
    /// Why they were cut.
    pub reason: String,
    /// File the cut bytes were saved to, relative to the store.
    pub saved_as: Option<String>,
}

/// A decoded header (the fixed part of the canonical encoding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// Record kind.
    pub kind: Kind,
    /// Position in the chain, from 0.
    pub seq: u64,
    /// Unix milliseconds.
    pub ts_ms: i64,
    /// Hash of the previous record ([`GENESIS_PREV`] for seq 0).
    pub prev_hash: Hash,
    /// Instance id.
    pub instance: &'a str,
    /// The body JSON.
    pub body: &'a [u8],
}

/// Encodes a record canonically (see FORMAT.md, "Canonical record").
pub fn encode(
    kind: Kind,
    seq: u64,
    ts_ms: i64,
    prev_hash: &Hash,
    instance: &str,
    body: &[u8],
) -> Vec<u8> {
    let inst = instance.as_bytes();
    // Room for a typical body too: the writer serialises the body straight into this buffer.
    let mut out = Vec::with_capacity(FIXED_HEADER + inst.len() + body.len().max(1024));
    out.extend_from_slice(RECORD_MAGIC);
    out.push(kind.code());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&ts_ms.to_be_bytes());
    out.extend_from_slice(prev_hash);
    // Instance ids are checked to be at most u16::MAX bytes when the writer is configured.
    out.extend_from_slice(&(inst.len().min(u16::MAX as usize) as u16).to_be_bytes());
    out.extend_from_slice(&inst[..inst.len().min(u16::MAX as usize)]);
    out.extend_from_slice(body);
    out
}

/// Decodes the header of canonical bytes.
///
/// # Errors
/// What is malformed and at which byte of the record.
pub fn decode(bytes: &[u8]) -> Result<Header<'_>, String> {
    if bytes.len() < FIXED_HEADER {
        return Err(format!(
            "record is {} bytes, shorter than the {FIXED_HEADER}-byte header",
            bytes.len()
        ));
    }
    if &bytes[..4] != RECORD_MAGIC {
        return Err(format!("bad magic {:02x?} at record byte 0", &bytes[..4]));
    }
    let kind = Kind::from_code(bytes[4])
        .ok_or_else(|| format!("unknown kind {} at record byte 4", bytes[4]))?;
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i..i + 8]);
        b
    };
    let seq = u64::from_be_bytes(u64_at(5));
    let ts_ms = i64::from_be_bytes(u64_at(13));
    let mut prev_hash = [0u8; 32];
    prev_hash.copy_from_slice(&bytes[21..53]);
    let ilen = u16::from_be_bytes([bytes[53], bytes[54]]) as usize;
    if bytes.len() < FIXED_HEADER + ilen {
        return Err(format!(
            "instance id of {ilen} bytes runs past the end of the record at byte {FIXED_HEADER}"
        ));
    }
    let instance = std::str::from_utf8(&bytes[FIXED_HEADER..FIXED_HEADER + ilen])
        .map_err(|e| format!("instance id is not UTF-8 at record byte {FIXED_HEADER}: {e}"))?;
    Ok(Header {
        kind,
        seq,
        ts_ms,
        prev_hash,
        instance,
        body: &bytes[FIXED_HEADER + ilen..],
    })
}

/// The chain hash of a record: SHA-256 of its canonical bytes.
pub fn hash(canonical: &[u8]) -> Hash {
    Sha256::digest(canonical).into()
}

/// The bytes a checkpoint signs: domain, instance, seq, hash and time.
pub fn checkpoint_message(instance: &str, seq: u64, hash: &Hash, ts_ms: i64) -> Vec<u8> {
    let inst = instance.as_bytes();
    let mut m = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 2 + inst.len() + 8 + 32 + 8);
    m.extend_from_slice(CHECKPOINT_DOMAIN);
    m.extend_from_slice(&(inst.len().min(u16::MAX as usize) as u16).to_be_bytes());
    m.extend_from_slice(&inst[..inst.len().min(u16::MAX as usize)]);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m.extend_from_slice(&ts_ms.to_be_bytes());
    m
}

/// Parses a 64-digit hex hash.
pub fn parse_hash(hex_str: &str) -> Option<Hash> {
    let v = hex::decode(hex_str).ok()?;
    v.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let prev = [7u8; 32];
        let bytes = encode(Kind::Decision, 42, -5, &prev, "node-a", b"{\"x\":1}");
        let h = decode(&bytes).expect("decodes");
        assert_eq!(h.kind, Kind::Decision);
        assert_eq!(h.seq, 42);
        assert_eq!(h.ts_ms, -5);
        assert_eq!(h.prev_hash, prev);
        assert_eq!(h.instance, "node-a");
        assert_eq!(h.body, b"{\"x\":1}");
        // The layout is fixed: magic, kind, seq, ts, prev, instance length.
        assert_eq!(&bytes[..5], b"GBR1\x02");
        assert_eq!(&bytes[5..13], &42u64.to_be_bytes());
        assert_eq!(&bytes[53..55], &6u16.to_be_bytes());
    }

    #[test]
    fn decode_rejects_malformed() {
        let good = encode(Kind::Open, 0, 0, &GENESIS_PREV, "i", b"{}");
        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        let mut bad_kind = good.clone();
        bad_kind[4] = 99;
        let mut long_inst = good.clone();
        long_inst[53] = 0xff;
        for (name, b, want) in [
            ("short", &good[..10], "shorter"),
            ("magic", &bad_magic[..], "bad magic"),
            ("kind", &bad_kind[..], "unknown kind 99"),
            ("instance", &long_inst[..], "runs past the end"),
        ] {
            let e = decode(b).expect_err(name);
            assert!(e.contains(want), "{name}: {e}");
        }
    }
}
