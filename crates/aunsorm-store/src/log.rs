//! Storage of an append-only transparency log: entries, the Merkle tree's complete
//! nodes, the latest signed checkpoint, and the highest key generation each key's
//! events have recorded (for rollback detection). Memory and SQLite backends.

use crate::sqlite::{as_i64, configure, generation, migrate_with, poisoned};
use crate::wal::Checkpointer;
use crate::{Result, StoreError};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// A 32-byte node hash.
pub type NodeHash = [u8; 32];

/// What the log has recorded about one key's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyGeneration {
    /// The highest store generation of the key's record seen in the log.
    pub generation: u64,
    /// The key was deleted at that generation.
    pub deleted: bool,
}

/// One group commit: entries from index `start`, the complete nodes (level, index, hash)
/// they make, the signed checkpoint of the new size, and new key generations.
#[derive(Debug, Clone, Copy)]
pub struct LogBatch<'a> {
    /// Index of the first entry; must equal the stored size.
    pub start: u64,
    /// The entries, in order.
    pub entries: &'a [Vec<u8>],
    /// The complete nodes the entries make at the levels the log stores (the tile
    /// levels above the leaves, 8, 16, ...; the others are computed from them).
    pub nodes: &'a [(u8, u64, NodeHash)],
    /// The signed checkpoint at `start + entries.len()`, when this batch publishes one
    /// (otherwise the stored checkpoint stays as it was).
    pub checkpoint: Option<&'a [u8]>,
    /// Key generations to record (each overwrites the key's previous value).
    pub generations: &'a [(String, KeyGeneration)],
}

/// Append-only log storage. `append` is atomic and durable when it returns; nothing
/// else writes.
pub trait LogStore: Send + Sync {
    /// Number of entries stored.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    fn size(&self) -> Result<u64>;

    /// Appends a batch, all or nothing.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when `batch.start` is not the stored size (nothing is
    /// written); [`StoreError::Storage`].
    fn append(&self, batch: &LogBatch<'_>) -> Result<()>;

    /// Entries `start..end` (fewer if the log is shorter).
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>>;

    /// Node hashes at `level` for indexes `start..end` (fewer if absent).
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    fn nodes(&self, level: u8, start: u64, end: u64) -> Result<Vec<NodeHash>>;

    /// The latest signed checkpoint.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    fn checkpoint(&self) -> Result<Option<Vec<u8>>>;

    /// What the log has recorded for the key `name`.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    fn key_generation(&self, name: &str) -> Result<Option<KeyGeneration>>;
}

/// Log storage in memory, for amnesia mode and tests.
#[derive(Debug, Default)]
pub struct MemoryLogStore(Mutex<MemLog>);

#[derive(Debug, Default)]
struct MemLog {
    entries: Vec<Vec<u8>>,
    nodes: Vec<Vec<NodeHash>>,
    checkpoint: Option<Vec<u8>>,
    generations: BTreeMap<String, KeyGeneration>,
}

impl MemoryLogStore {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl LogStore for MemoryLogStore {
    fn size(&self) -> Result<u64> {
        Ok(self.0.lock().map_err(poisoned)?.entries.len() as u64)
    }

    fn append(&self, b: &LogBatch<'_>) -> Result<()> {
        let mut m = self.0.lock().map_err(poisoned)?;
        let size = m.entries.len() as u64;
        if b.start != size {
            return Err(conflict(b.start, size));
        }
        // Check everything before changing anything: all or nothing.
        let mut next: Vec<u64> = m.nodes.iter().map(|r| r.len() as u64).collect();
        for (level, index, _) in b.nodes {
            let level = usize::from(*level);
            if next.len() <= level {
                next.resize(level + 1, 0);
            }
            if *index != next[level] {
                return Err(StoreError::Storage(
                    "log nodes appended out of order".into(),
                ));
            }
            next[level] += 1;
        }
        m.entries.extend_from_slice(b.entries);
        for (level, _, hash) in b.nodes {
            let level = usize::from(*level);
            if m.nodes.len() <= level {
                m.nodes.resize(level + 1, Vec::new());
            }
            m.nodes[level].push(*hash);
        }
        if let Some(cp) = b.checkpoint {
            m.checkpoint = Some(cp.to_vec());
        }
        for (name, g) in b.generations {
            m.generations.insert(name.clone(), *g);
        }
        Ok(())
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let m = self.0.lock().map_err(poisoned)?;
        Ok(slice(&m.entries, start, end).to_vec())
    }

    fn nodes(&self, level: u8, start: u64, end: u64) -> Result<Vec<NodeHash>> {
        let m = self.0.lock().map_err(poisoned)?;
        Ok(m.nodes
            .get(usize::from(level))
            .map(|row| slice(row, start, end).to_vec())
            .unwrap_or_default())
    }

    fn checkpoint(&self) -> Result<Option<Vec<u8>>> {
        Ok(self.0.lock().map_err(poisoned)?.checkpoint.clone())
    }

    fn key_generation(&self, name: &str) -> Result<Option<KeyGeneration>> {
        Ok(self
            .0
            .lock()
            .map_err(poisoned)?
            .generations
            .get(name)
            .copied())
    }
}

fn slice<T>(v: &[T], start: u64, end: u64) -> &[T] {
    let len = v.len();
    let s = usize::try_from(start).unwrap_or(len).min(len);
    let e = usize::try_from(end).unwrap_or(len).min(len).max(s);
    &v[s..e]
}

fn conflict(start: u64, size: u64) -> StoreError {
    StoreError::Conflict {
        name: "log".into(),
        expected: Some(start),
        found: Some(size),
    }
}

const LOG_MIGRATIONS: &[&str] = &["CREATE TABLE entries (
        idx INTEGER PRIMARY KEY,
        data BLOB NOT NULL
    );
    CREATE TABLE nodes (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID;
    CREATE TABLE checkpoint (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        note BLOB NOT NULL
    );
    CREATE TABLE generations (
        name TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        deleted INTEGER NOT NULL
    ) WITHOUT ROWID;"];

/// A log in its own SQLite file (WAL, `synchronous=FULL`: one fsync per batch), apart
/// from the key records so that restoring one does not silently restore the other.
pub struct SqliteLogStore {
    writer: Mutex<Writer>,
    reader: Mutex<Connection>,
    /// WAL checkpoints, off the commit path ([`crate::wal`]).
    wal: Checkpointer,
}

/// The writing connection, and the number of entries stored once it is known: read
/// at the first append and kept from then on (nothing else writes), instead of asking
/// SQLite for the highest index in every batch; forgotten when an append fails.
struct Writer {
    conn: Connection,
    size: Option<u64>,
}

impl std::fmt::Debug for SqliteLogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteLogStore")
    }
}

impl SqliteLogStore {
    /// Opens (creating if needed) the log at `path`.
    ///
    /// # Errors
    /// [`StoreError::SchemaTooNew`]; [`StoreError::Storage`].
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate_with(&mut writer, LOG_MIGRATIONS)?;
        let wal = Checkpointer::start(path, &mut writer)?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(SqliteLogStore {
            writer: Mutex::new(Writer {
                conn: writer,
                size: None,
            }),
            reader: Mutex::new(reader),
            wal,
        })
    }
}

fn size_of(c: &Connection) -> Result<u64> {
    let n: i64 = c
        .prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries")?
        .query_row([], |r| r.get(0))?;
    generation(n)
}

/// Writes `b` inside the transaction the caller opened on `c`, where `size` entries
/// are stored.
fn write_batch(c: &Connection, size: u64, b: &LogBatch<'_>) -> Result<()> {
    if b.start != size {
        return Err(conflict(b.start, size));
    }
    let mut ins = c.prepare_cached("INSERT INTO entries (idx, data) VALUES (?1, ?2)")?;
    for (i, e) in b.entries.iter().enumerate() {
        ins.execute(params![as_i64(b.start + i as u64)?, e])?;
    }
    let mut ins = c.prepare_cached("INSERT INTO nodes (level, idx, hash) VALUES (?1, ?2, ?3)")?;
    for (level, idx, hash) in b.nodes {
        ins.execute(params![level, as_i64(*idx)?, &hash[..]])?;
    }
    if let Some(cp) = b.checkpoint {
        c.prepare_cached(
            "INSERT INTO checkpoint (id, note) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET note = excluded.note",
        )?
        .execute(params![cp])?;
    }
    let mut up = c.prepare_cached(
        "INSERT INTO generations (name, generation, deleted) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET generation = excluded.generation,
         deleted = excluded.deleted",
    )?;
    for (name, g) in b.generations {
        up.execute(params![name, as_i64(g.generation)?, g.deleted])?;
    }
    Ok(())
}

impl LogStore for SqliteLogStore {
    fn size(&self) -> Result<u64> {
        let c = self.reader.lock().map_err(poisoned)?;
        size_of(&c)
    }

    fn append(&self, b: &LogBatch<'_>) -> Result<()> {
        let mut w = self.writer.lock().map_err(poisoned)?;
        let Writer { conn: c, size } = &mut *w;
        self.wal.before_write(c);
        // BEGIN and COMMIT as cached statements: a group commit runs thousands of times
        // a second, and rusqlite's `Transaction` parses both anew each time.
        c.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        let written = match *size {
            Some(n) => Ok(n),
            None => size_of(c),
        }
        .and_then(|stored| write_batch(c, stored, b))
        .and_then(|()| Ok(c.prepare_cached("COMMIT")?.execute([]).map(drop)?));
        if written.is_ok() {
            *size = Some(b.start + b.entries.len() as u64);
        } else {
            *size = None;
            if !c.is_autocommit() {
                // All or nothing: a failed batch leaves no trace. The batch's own error
                // is the one to report; should the rollback fail too, the connection
                // stays in its transaction and the next append fails at BEGIN.
                let _ = c.execute_batch("ROLLBACK");
            }
        }
        written
    }

    fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let c = self.reader.lock().map_err(poisoned)?;
        let mut stmt =
            c.prepare_cached("SELECT data FROM entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")?;
        let rows = stmt.query_map(params![clamp(start), clamp(end)], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn nodes(&self, level: u8, start: u64, end: u64) -> Result<Vec<NodeHash>> {
        let c = self.reader.lock().map_err(poisoned)?;
        let mut stmt = c.prepare_cached(
            "SELECT hash FROM nodes WHERE level = ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx",
        )?;
        let rows = stmt.query_map(params![level, clamp(start), clamp(end)], |r| {
            r.get::<_, Vec<u8>>(0)
        })?;
        let mut out = Vec::new();
        for r in rows {
            let h: NodeHash = r?
                .try_into()
                .map_err(|_| StoreError::Storage("log node hash is not 32 bytes".into()))?;
            out.push(h);
        }
        Ok(out)
    }

    fn checkpoint(&self) -> Result<Option<Vec<u8>>> {
        let c = self.reader.lock().map_err(poisoned)?;
        Ok(
            c.query_row("SELECT note FROM checkpoint WHERE id = 1", [], |r| r.get(0))
                .optional()?,
        )
    }

    fn key_generation(&self, name: &str) -> Result<Option<KeyGeneration>> {
        let c = self.reader.lock().map_err(poisoned)?;
        let row = c
            .prepare_cached("SELECT generation, deleted FROM generations WHERE name = ?1")?
            .query_row(params![name], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?))
            })
            .optional()?;
        row.map(|(g, deleted)| {
            Ok(KeyGeneration {
                generation: generation(g)?,
                deleted,
            })
        })
        .transpose()
    }
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(s: &dyn LogStore) {
        assert_eq!(s.size().unwrap(), 0);
        assert_eq!(s.checkpoint().unwrap(), None);
        let entries = vec![b"a".to_vec(), b"b".to_vec()];
        let nodes = [(0u8, 0u64, [1u8; 32]), (0, 1, [2; 32]), (1, 0, [3; 32])];
        let g = KeyGeneration {
            generation: 3,
            deleted: false,
        };
        let batch = LogBatch {
            start: 0,
            entries: &entries,
            nodes: &nodes,
            checkpoint: Some(b"cp2"),
            generations: &[("k".into(), g)],
        };
        s.append(&batch).unwrap();
        // A second append at the same start conflicts and writes nothing.
        assert!(matches!(s.append(&batch), Err(StoreError::Conflict { .. })));
        assert_eq!(s.size().unwrap(), 2);
        assert_eq!(s.entries(0, 10).unwrap(), entries);
        assert_eq!(s.entries(1, 2).unwrap(), vec![b"b".to_vec()]);
        assert_eq!(s.nodes(0, 0, 2).unwrap(), vec![[1u8; 32], [2; 32]]);
        assert_eq!(s.nodes(1, 0, 5).unwrap(), vec![[3u8; 32]]);
        assert!(s.nodes(5, 0, 5).unwrap().is_empty());
        assert_eq!(s.checkpoint().unwrap().as_deref(), Some(&b"cp2"[..]));
        assert_eq!(s.key_generation("k").unwrap(), Some(g));
        assert_eq!(s.key_generation("other").unwrap(), None);
        // A batch that publishes no checkpoint keeps the stored one.
        s.append(&LogBatch {
            start: 2,
            entries: &[b"c".to_vec()],
            nodes: &[(0, 2, [4u8; 32])],
            checkpoint: None,
            generations: &[],
        })
        .unwrap();
        assert_eq!(s.size().unwrap(), 3);
        assert_eq!(s.checkpoint().unwrap().as_deref(), Some(&b"cp2"[..]));
    }

    #[test]
    fn memory_log_store() {
        exercise(&MemoryLogStore::new());
        // Nodes out of order are refused, and nothing of the batch is written.
        let s = MemoryLogStore::new();
        let entries = vec![b"a".to_vec(), b"b".to_vec()];
        let bad = LogBatch {
            start: 0,
            entries: &entries,
            nodes: &[(0, 0, [1u8; 32]), (0, 5, [2; 32])],
            checkpoint: Some(b"cp"),
            generations: &[],
        };
        assert!(matches!(s.append(&bad), Err(StoreError::Storage(_))));
        assert_eq!(s.size().unwrap(), 0);
        assert!(s.nodes(0, 0, 5).unwrap().is_empty());
        assert_eq!(s.checkpoint().unwrap(), None);
    }

    #[test]
    fn a_failed_sqlite_append_writes_nothing_and_the_next_one_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteLogStore::open(&dir.path().join("log.db")).unwrap();
        let entries = vec![b"a".to_vec()];
        let ok = |start| LogBatch {
            start,
            entries: &entries,
            nodes: &[],
            checkpoint: None,
            generations: &[],
        };
        s.append(&ok(0)).unwrap();
        // The same node twice: the second insert fails after the entry went in.
        let bad = LogBatch {
            start: 1,
            entries: &entries,
            nodes: &[(8, 0, [1u8; 32]), (8, 0, [2; 32])],
            checkpoint: None,
            generations: &[],
        };
        assert!(matches!(s.append(&bad), Err(StoreError::Storage(_))));
        assert_eq!(s.size().unwrap(), 1);
        assert!(s.nodes(8, 0, 1).unwrap().is_empty());
        // A batch that does not start at the stored size is refused (the size the
        // writer keeps was read again after the failure), and the right one is taken.
        assert!(matches!(s.append(&ok(2)), Err(StoreError::Conflict { .. })));
        s.append(&ok(1)).unwrap();
        s.append(&ok(2)).unwrap();
        assert_eq!(s.size().unwrap(), 3);
    }

    #[test]
    fn sqlite_log_store_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.db");
        exercise(&SqliteLogStore::open(&p).unwrap());
        let s = SqliteLogStore::open(&p).unwrap();
        assert_eq!(s.size().unwrap(), 3);
        assert_eq!(s.checkpoint().unwrap().as_deref(), Some(&b"cp2"[..]));
    }
}
