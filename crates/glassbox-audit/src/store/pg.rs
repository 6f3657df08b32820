//! The PostgreSQL store: one table, one chain per instance, all instances of a fleet in one
//! database. `?schema=NAME` on the URL picks the schema (created if missing; default `public`).
//! A session advisory lock per (schema, instance) keeps one writer per chain.

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, NoTls};

use super::{Encoded, Item, Location, Store};
use crate::record::{self, Hash, RecoveredBody};
use crate::AuditError;

/// Batches at least this large are written with binary `COPY`, smaller ones with one `INSERT`.
const COPY_FROM: usize = 32;

/// The table name inside the schema.
pub const TABLE: &str = "glassbox_audit_records";

fn pg_err(context: impl Into<String>) -> impl FnOnce(postgres::Error) -> AuditError {
    let context = context.into();
    move |source| AuditError::Postgres { context, source }
}

/// A URL split into what `postgres` understands and our own `schema` parameter.
#[derive(Debug, Clone)]
pub(crate) struct PgTarget {
    /// URL passed to the driver.
    pub url: String,
    /// Schema name (validated identifier).
    pub schema: String,
    /// URL without password, for messages.
    pub label: String,
}

/// Splits off `schema=` and redacts the password.
pub(crate) fn parse_url(store: &str) -> Result<PgTarget, AuditError> {
    let bad = |reason: String| AuditError::BadStore {
        store: redact(store),
        reason,
    };
    let (base, query) = match store.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (store, None),
    };
    let mut schema = "public".to_string();
    let mut kept = Vec::new();
    for kv in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|kv| !kv.is_empty())
    {
        match kv.split_once('=') {
            Some(("schema", v)) => schema = v.to_string(),
            _ => kept.push(kv),
        }
    }
    if schema.is_empty()
        || schema.len() > 63
        || !schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        || schema.as_bytes()[0].is_ascii_digit()
    {
        return Err(bad(format!(
            "schema {schema:?}: use lower-case letters, digits and _ (not first), at most 63"
        )));
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(PgTarget {
        label: format!("{} (schema {schema})", redact(&url)),
        url,
        schema,
    })
}

/// The URL with any password replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (auth, tail) = rest.split_at(auth_end);
        if let Some((userinfo, host)) = auth.rsplit_once('@') {
            if let Some((user, _)) = userinfo.split_once(':') {
                return format!("{scheme}://{user}:***@{host}{tail}");
            }
        }
    }
    url.to_string()
}

fn connect(t: &PgTarget) -> Result<Client, AuditError> {
    Client::connect(&t.url, NoTls).map_err(pg_err(format!("connecting to {}", t.label)))
}

fn table(t: &PgTarget) -> String {
    format!("\"{}\".{TABLE}", t.schema)
}

/// The writer side: buffered rows committed in one transaction per [`Store::sync`].
pub struct PgStore {
    client: Client,
    target: PgTarget,
    instance: String,
    tail: Option<(u64, Hash)>,
    pending: Vec<Encoded>,
    insert: postgres::Statement,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target.label)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects, creates schema and table if missing, takes the instance's advisory lock and
    /// reads the chain's tail.
    ///
    /// # Errors
    /// Connection or SQL errors; [`AuditError::Locked`] when another writer holds the instance.
    pub fn open(store: &str, instance: &str) -> Result<PgStore, AuditError> {
        let target = parse_url(store)?;
        let mut client = connect(&target)?;
        let t = table(&target);
        let ddl = format!(
            "SELECT pg_advisory_xact_lock(hashtextextended('glassbox-audit-ddl', 0));
             CREATE SCHEMA IF NOT EXISTS \"{schema}\";
             CREATE TABLE IF NOT EXISTS {t} (
                 instance  text     NOT NULL,
                 seq       bigint   NOT NULL CHECK (seq >= 0),
                 ts_ms     bigint   NOT NULL,
                 kind      smallint NOT NULL,
                 prev_hash bytea    NOT NULL,
                 hash      bytea    NOT NULL,
                 record    bytea    NOT NULL,
                 PRIMARY KEY (instance, seq)
             );",
            schema = target.schema
        );
        let mut tx = client.transaction().map_err(pg_err("begin"))?;
        tx.batch_execute(&ddl)
            .map_err(pg_err(format!("creating {t}")))?;
        tx.commit().map_err(pg_err("commit DDL"))?;
        let lock_key = format!("glassbox-audit:{}:{instance}", target.schema);
        let locked: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                &[&lock_key],
            )
            .map_err(pg_err("advisory lock"))?
            .get(0);
        if !locked {
            return Err(AuditError::Locked {
                store: target.label.clone(),
                reason: format!("instance {instance:?} has a live writer (advisory lock)"),
            });
        }
        let tail = client
            .query_opt(
                &format!("SELECT seq, hash FROM {t} WHERE instance = $1 ORDER BY seq DESC LIMIT 1"),
                &[&instance],
            )
            .map_err(pg_err("reading the chain tail"))?
            .map(|row| -> Result<(u64, Hash), AuditError> {
                let seq: i64 = row.get(0);
                let h: Vec<u8> = row.get(1);
                let h: Hash = h.try_into().map_err(|_| AuditError::Corrupt {
                    store: target.label.clone(),
                    reason: format!("instance {instance:?} seq {seq}: hash column is not 32 bytes"),
                })?;
                Ok((seq as u64, h))
            })
            .transpose()?;
        let insert = client
            .prepare(&format!(
                "INSERT INTO {t} (instance, seq, ts_ms, kind, prev_hash, hash, record)
                 SELECT $1, * FROM unnest($2::int8[], $3::int8[], $4::int2[], $5::bytea[], $6::bytea[], $7::bytea[])"
            ))
            .map_err(pg_err("preparing insert"))?;
        Ok(PgStore {
            client,
            target,
            instance: instance.to_string(),
            tail,
            pending: Vec::new(),
            insert,
        })
    }
}

impl Store for PgStore {
    fn label(&self) -> String {
        format!("{} instance {:?}", self.target.label, self.instance)
    }

    fn existing_instance(&self) -> Option<String> {
        Some(self.instance.clone())
    }

    fn tail(&self) -> Option<(u64, Hash)> {
        self.tail
    }

    fn take_recovery(&mut self) -> Result<Option<RecoveredBody>, AuditError> {
        Ok(None) // transactions leave no torn rows
    }

    fn append(&mut self, rec: &Encoded) -> Result<(), AuditError> {
        self.tail = Some((rec.seq, rec.hash));
        self.pending.push(rec.clone());
        Ok(())
    }

    fn sync(&mut self) -> Result<(), AuditError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let context = format!(
            "inserting {} records for instance {:?}",
            self.pending.len(),
            self.instance
        );
        if self.pending.len() < COPY_FROM {
            let p = &self.pending;
            let seqs: Vec<i64> = p.iter().map(|r| r.seq as i64).collect();
            let ts: Vec<i64> = p.iter().map(|r| r.ts_ms).collect();
            let kinds: Vec<i16> = p.iter().map(|r| i16::from(r.kind.code())).collect();
            let prevs: Vec<&[u8]> = p.iter().map(|r| &r.prev_hash[..]).collect();
            let hashes: Vec<&[u8]> = p.iter().map(|r| &r.hash[..]).collect();
            let bytes: Vec<&[u8]> = p.iter().map(|r| &r.bytes[..]).collect();
            self.client
                .execute(
                    &self.insert,
                    &[&self.instance, &seqs, &ts, &kinds, &prevs, &hashes, &bytes],
                )
                .map_err(pg_err(context))?;
        } else {
            // Larger batches: binary COPY, one statement and one transaction.
            let sink = self
                .client
                .copy_in(&format!(
                    "COPY {} (instance, seq, ts_ms, kind, prev_hash, hash, record) FROM STDIN BINARY",
                    table(&self.target)
                ))
                .map_err(pg_err(context.clone()))?;
            let mut w = BinaryCopyInWriter::new(
                sink,
                &[
                    Type::TEXT,
                    Type::INT8,
                    Type::INT8,
                    Type::INT2,
                    Type::BYTEA,
                    Type::BYTEA,
                    Type::BYTEA,
                ],
            );
            for r in &self.pending {
                let (seq, kind) = (r.seq as i64, i16::from(r.kind.code()));
                let (prev, hash, bytes) = (&r.prev_hash[..], &r.hash[..], &r.bytes[..]);
                w.write(&[&self.instance, &seq, &r.ts_ms, &kind, &prev, &hash, &bytes])
                    .map_err(pg_err(context.clone()))?;
            }
            w.finish().map_err(pg_err(context))?;
        }
        self.pending.clear();
        Ok(())
    }
}

/// Scans every instance's chain, in (instance, seq) order.
pub(crate) fn scan(
    store: &str,
    visit: &mut dyn FnMut(Item<'_>) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    let target = parse_url(store)?;
    let mut client = connect(&target)?;
    let t = table(&target);
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&t])
        .map_err(pg_err("looking for the audit table"))?
        .get(0);
    if !exists {
        return Err(AuditError::BadStore {
            store: target.label,
            reason: format!("no table {t}: nothing was ever written here"),
        });
    }
    let mut tx = client.transaction().map_err(pg_err("begin"))?;
    let q = format!(
        "SELECT instance, seq, ts_ms, kind, prev_hash, hash, record FROM {t} ORDER BY instance, seq"
    );
    let portal = tx.bind(&q, &[]).map_err(pg_err("querying records"))?;
    let mut current: Option<String> = None;
    loop {
        let rows = tx
            .query_portal(&portal, 10_000)
            .map_err(pg_err("reading records"))?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let instance: String = row.get(0);
            let seq: i64 = row.get(1);
            let ts_ms: i64 = row.get(2);
            let kind: i16 = row.get(3);
            let prev: &[u8] = row.get(4);
            let hash: &[u8] = row.get(5);
            let bytes: &[u8] = row.get(6);
            if current.as_deref() != Some(&instance) {
                visit(Item::Chain(format!(
                    "{} instance {instance:?}",
                    target.label
                )))?;
                current = Some(instance.clone());
            }
            let loc = Location::Row {
                instance: instance.clone(),
                seq,
            };
            let Ok(stored_hash) = Hash::try_from(hash) else {
                visit(Item::Fault {
                    loc,
                    what: format!("hash column is {} bytes, expected 32", hash.len()),
                })?;
                continue;
            };
            // The columns are a convenience for queries; they must agree with the record bytes.
            if let Ok(h) = record::decode(bytes) {
                let mismatch = if h.instance != instance {
                    Some(format!(
                        "instance column {instance:?} but record says {:?}",
                        h.instance
                    ))
                } else if h.seq as i64 != seq {
                    Some(format!("seq column {seq} but record says {}", h.seq))
                } else if h.ts_ms != ts_ms {
                    Some(format!("ts_ms column {ts_ms} but record says {}", h.ts_ms))
                } else if i16::from(h.kind.code()) != kind {
                    Some(format!(
                        "kind column {kind} but record says {}",
                        h.kind.code()
                    ))
                } else if h.prev_hash[..] != *prev {
                    Some("prev_hash column disagrees with the record bytes".to_string())
                } else {
                    None
                };
                if let Some(what) = mismatch {
                    visit(Item::Fault { loc, what })?;
                    continue;
                }
            }
            visit(Item::Record {
                loc,
                bytes,
                stored_hash,
            })?;
        }
    }
    tx.commit().map_err(pg_err("commit"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schema_and_redaction() {
        let t = parse_url("postgres://u:pw@h:5432/db?schema=t_1&sslmode=disable").expect("ok");
        assert_eq!(t.schema, "t_1");
        assert_eq!(t.url, "postgres://u:pw@h:5432/db?sslmode=disable");
        assert!(!t.label.contains("pw"), "{}", t.label);
        let t = parse_url("postgres://h/db").expect("ok");
        assert_eq!(t.schema, "public");
        for bad in [
            "postgres://h/db?schema=",
            "postgres://h/db?schema=A;drop",
            "postgres://h/db?schema=1x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
