//! Stores: where encoded records go (append) and come back from (scan). The file store is the
//! embedded default; PostgreSQL keeps the chains of a fleet in one database.

pub mod file;
#[cfg(feature = "postgres")]
pub mod pg;

use crate::record::{Hash, Kind, RecoveredBody};
use crate::AuditError;

/// One encoded record ready to append.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// Seq in the chain.
    pub seq: u64,
    /// Record kind.
    pub kind: Kind,
    /// Unix ms.
    pub ts_ms: i64,
    /// Hash of the previous record.
    pub prev_hash: Hash,
    /// SHA-256 of `bytes`.
    pub hash: Hash,
    /// Canonical bytes.
    pub bytes: Vec<u8>,
}

/// What a writer needs from a store.
pub trait Store: Send {
    /// The store for messages (directory, or URL without password, plus instance).
    fn label(&self) -> String;
    /// Instance id of the chain already in the store, if any.
    fn existing_instance(&self) -> Option<String>;
    /// Seq and hash of the last record already in the store.
    fn tail(&self) -> Option<(u64, Hash)>;
    /// Cuts a torn tail found when the store was opened and describes the cut, to be recorded.
    /// Called once by the writer, before its first append.
    ///
    /// # Errors
    /// I/O errors while cutting.
    fn take_recovery(&mut self) -> Result<Option<RecoveredBody>, AuditError>;
    /// Appends a record (buffered until [`Store::sync`]).
    ///
    /// # Errors
    /// I/O or database errors.
    fn append(&mut self, rec: &Encoded) -> Result<(), AuditError>;
    /// Makes every appended record durable (fsync / commit).
    ///
    /// # Errors
    /// I/O or database errors.
    fn sync(&mut self) -> Result<(), AuditError>;
}

/// Where a record sits in a store, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file store position.
    File {
        /// Segment number.
        segment: u32,
        /// Byte offset of the frame in the segment file.
        offset: u64,
    },
    /// A PostgreSQL row.
    Row {
        /// The row's `instance` column.
        instance: String,
        /// The row's `seq` column.
        seq: i64,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File { segment, offset } => write!(f, "segment {segment:06}, byte {offset}"),
            Location::Row { instance, seq } => write!(f, "row instance={instance:?} seq={seq}"),
        }
    }
}

/// What a store scan yields, in chain order.
#[derive(Debug)]
pub enum Item<'a> {
    /// A new chain begins (file store: the directory; PostgreSQL: one per instance).
    Chain(String),
    /// A record as stored.
    Record {
        /// Where.
        loc: Location,
        /// Canonical bytes.
        bytes: &'a [u8],
        /// The hash stored beside them.
        stored_hash: Hash,
    },
    /// A structural fault the scan found (torn frame, bad segment header, missing segment,
    /// a row whose columns disagree with its bytes).
    Fault {
        /// Where.
        loc: Location,
        /// What is wrong.
        what: String,
    },
}

/// Whether a store string names PostgreSQL.
pub fn is_postgres_url(store: &str) -> bool {
    store.starts_with("postgres://") || store.starts_with("postgresql://")
}

/// Scans every chain of `store` in order, calling `visit` for each item.
///
/// # Errors
/// The store cannot be read, or `visit` failed.
pub fn scan(
    store: &str,
    visit: &mut dyn FnMut(Item<'_>) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    if is_postgres_url(store) {
        #[cfg(feature = "postgres")]
        return pg::scan(store, visit);
        #[cfg(not(feature = "postgres"))]
        return Err(AuditError::BadStore {
            store: store.to_string(),
            reason: "this build has no PostgreSQL support (feature `postgres`)".into(),
        });
    }
    file::scan(std::path::Path::new(store), visit)
}
