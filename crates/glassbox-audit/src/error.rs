//! The crate's error type: what went wrong, and where (file, segment, byte offset, row).

use std::path::PathBuf;

/// Errors from opening, writing, reading or verifying an audit store.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// An I/O error on a file of the store or a key file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A key file could not be read as a key.
    #[error("{path}: not a glassbox audit key: {reason}")]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The store is damaged in a way a writer must not paper over.
    #[error("audit store {store}: {reason}")]
    Corrupt {
        /// The store (directory or URL without password).
        store: String,
        /// What is wrong and where.
        reason: String,
    },
    /// Another writer holds the store.
    #[error("audit store {store} is locked by another writer ({reason}); one writer per chain")]
    Locked {
        /// The store.
        store: String,
        /// How the lock was detected.
        reason: String,
    },
    /// The store string is neither a directory path nor a `postgres://` URL this build supports.
    #[error("audit store {store:?}: {reason}")]
    BadStore {
        /// The store string as given.
        store: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A configuration value was rejected.
    #[error("audit options: {0}")]
    Config(String),
    /// A PostgreSQL error.
    #[cfg(feature = "postgres")]
    #[error("PostgreSQL audit store: {context}: {source}")]
    Postgres {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: postgres::Error,
    },
    /// The writer thread has stopped (after an earlier store error, or after `close`).
    #[error("audit writer stopped: {0}")]
    WriterStopped(String),
    /// Encoding an event failed (should not happen for well-formed events).
    #[error("encoding audit record: {0}")]
    Encode(String),
}

impl AuditError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AuditError::Io {
            path: path.into(),
            source,
        }
    }
}
