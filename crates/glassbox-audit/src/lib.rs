#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod digest;
mod error;
pub mod keys;
pub mod record;
pub mod report;
pub mod store;
pub mod time;
pub mod verify;
pub mod writer;

pub use error::AuditError;
pub use verify::{verify_store, VerifyReport};
pub use writer::{AuditWriter, FsyncPolicy, OverflowPolicy, SinkConfig, SinkOptions, WriteStats};

/// Opens the audit store `store` (a directory path for the file store, or a `postgres://` URL)
/// and starts a writer on it.
///
/// # Errors
/// The store cannot be opened, is locked by another writer, belongs to another instance, or is
/// damaged in a way a crash cannot explain (run `glassbox audit verify`).
///
/// # Example
/// ```no_run
/// use glassbox_core::AuditSink;
/// let sink = glassbox_audit::open_sink("/var/lib/glassbox/audit", Default::default())?;
/// let mut d = sink.digester().expect("the writer keeps digests");
/// d.update(b"the prompt");
/// let _hex = d.finish();
/// let stats = sink.close()?;
/// println!("{} records written", stats.written);
/// # Ok::<(), glassbox_audit::AuditError>(())
/// ```
pub fn open_sink(store: &str, opts: SinkOptions) -> Result<AuditWriter, AuditError> {
    if store.is_empty() {
        return Err(AuditError::BadStore {
            store: store.into(),
            reason: "empty; give a directory or a postgres:// URL".into(),
        });
    }
    if store::is_postgres_url(store) {
        #[cfg(feature = "postgres")]
        {
            let instance = match &opts.instance {
                Some(i) => i.clone(),
                None => writer::default_instance(),
            };
            writer::check_instance(&instance)?;
            let s = store::pg::PgStore::open(store, &instance)?;
            return AuditWriter::start(
                Box::new(s),
                SinkOptions {
                    instance: Some(instance),
                    ..opts
                },
            );
        }
        #[cfg(not(feature = "postgres"))]
        return Err(AuditError::BadStore {
            store: store.into(),
            reason: "this build has no PostgreSQL support (feature `postgres`)".into(),
        });
    }
    let s = store::file::FileStore::open(std::path::Path::new(store), opts.segment_max_bytes)?;
    AuditWriter::start(Box::new(s), opts)
}
