//! The SQLite backend: one file, WAL journal, `synchronous=FULL`, numbered migrations.

use crate::{Namespace, Record, Result, Store, StoreError, check_name, prefix_end};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Schema migrations, applied in order; migration `i` brings the file to version `i+1`
/// (`PRAGMA user_version`). Never edit one that has shipped: add a new one.
const MIGRATIONS: &[&str] = &["CREATE TABLE records (
        ns INTEGER NOT NULL,
        name TEXT NOT NULL,
        generation INTEGER NOT NULL CHECK (generation > 0),
        value BLOB NOT NULL,
        PRIMARY KEY (ns, name)
    ) WITHOUT ROWID;"];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const READERS: usize = 4;

/// A store in one SQLite file. Writes go through one connection (SQLite allows one
/// writer at a time anyway); reads use a small pool, which WAL lets run beside writes.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    ///
    /// # Errors
    /// [`StoreError::SchemaTooNew`] for a file from a newer Aunsorm;
    /// [`StoreError::Storage`] if the file cannot be opened or migrated.
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&mut writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            r.busy_timeout(std::time::Duration::from_secs(10))?;
            readers.push(Mutex::new(r));
        }
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// The schema version of the open file.
    ///
    /// # Errors
    /// [`StoreError::Storage`] if the engine fails.
    pub fn schema_version(&self) -> Result<i64> {
        let w = self.writer.lock().map_err(poisoned)?;
        Ok(w.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn reader(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].lock().map_err(poisoned)
    }
}

pub(crate) fn poisoned<T>(_: T) -> StoreError {
    StoreError::Storage("sqlite store lock poisoned".into())
}

pub(crate) fn configure(c: &Connection) -> Result<()> {
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    let mode: String = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Storage(
            format!("journal mode {mode}, expected wal").into(),
        ));
    }
    // FULL: each commit is fsynced before it returns, so an acknowledged write survives
    // a crash or power loss.
    c.execute_batch("PRAGMA synchronous=FULL;")?;
    Ok(())
}

fn migrate(c: &mut Connection) -> Result<()> {
    migrate_with(c, MIGRATIONS)
}

/// Brings a database up to the last of `migrations` (`PRAGMA user_version` counts them).
pub(crate) fn migrate_with(c: &mut Connection, migrations: &[&str]) -> Result<()> {
    let supported = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    let found: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    for (i, sql) in migrations
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = c.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}

pub(crate) fn generation(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Storage("negative generation in store".into()))
}

pub(crate) fn as_i64(g: u64) -> Result<i64> {
    i64::try_from(g).map_err(|_| StoreError::Storage("generation overflow".into()))
}

impl Store for SqliteStore {
    fn get(&self, ns: Namespace, name: &str) -> Result<Option<Record>> {
        let c = self.reader()?;
        let row = c
            .prepare_cached("SELECT generation, value FROM records WHERE ns = ?1 AND name = ?2")?
            .query_row(params![ns.code(), name], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .optional()?;
        row.map(|(g, value)| {
            Ok(Record {
                name: name.to_string(),
                generation: generation(g)?,
                value,
            })
        })
        .transpose()
    }

    fn put(&self, ns: Namespace, name: &str, expected: Option<u64>, value: &[u8]) -> Result<u64> {
        check_name(name)?;
        let mut c = self.writer.lock().map_err(poisoned)?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: Option<i64> = tx
            .prepare_cached("SELECT generation FROM records WHERE ns = ?1 AND name = ?2")?
            .query_row(params![ns.code(), name], |r| r.get(0))
            .optional()?;
        let found = found.map(generation).transpose()?;
        if found != expected {
            return Err(StoreError::Conflict {
                name: name.to_string(),
                expected,
                found,
            });
        }
        let next = found.unwrap_or(0) + 1;
        tx.prepare_cached(
            "INSERT INTO records (ns, name, generation, value) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (ns, name) DO UPDATE SET generation = excluded.generation, value = excluded.value",
        )?
        .execute(params![ns.code(), name, as_i64(next)?, value])?;
        tx.commit()?;
        Ok(next)
    }

    fn delete(&self, ns: Namespace, name: &str, expected: u64) -> Result<()> {
        let mut c = self.writer.lock().map_err(poisoned)?;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx
            .prepare_cached("DELETE FROM records WHERE ns = ?1 AND name = ?2 AND generation = ?3")?
            .execute(params![ns.code(), name, as_i64(expected)?])?;
        if n != 1 {
            let found: Option<i64> = tx
                .query_row(
                    "SELECT generation FROM records WHERE ns = ?1 AND name = ?2",
                    params![ns.code(), name],
                    |r| r.get(0),
                )
                .optional()?;
            return Err(StoreError::Conflict {
                name: name.to_string(),
                expected: Some(expected),
                found: found.map(generation).transpose()?,
            });
        }
        tx.commit()?;
        Ok(())
    }

    fn list(
        &self,
        ns: Namespace,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Record>> {
        let c = self.reader()?;
        let mut stmt = c.prepare_cached(
            "SELECT name, generation, value FROM records
             WHERE ns = ?1 AND name >= ?2 AND (?3 IS NULL OR name < ?3) AND (?4 IS NULL OR name > ?4)
             ORDER BY name LIMIT ?5",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(
            params![ns.code(), prefix, prefix_end(prefix), after, limit],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (name, g, value) = row?;
            out.push(Record {
                name,
                generation: generation(g)?,
                value,
            });
        }
        Ok(out)
    }
}
