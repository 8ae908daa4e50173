#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod log;
mod memory;
mod sqlite;
mod wal;

pub use log::{KeyGeneration, LogBatch, LogStore, MemoryLogStore, NodeHash, SqliteLogStore};
pub use memory::MemoryStore;
pub use sqlite::{SCHEMA_VERSION, SqliteStore};

/// Which family of records a key belongs to. Names are unique per namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Namespace {
    /// Sealed key records, one per key name.
    Keys,
    /// Store-wide metadata: root key parameters, attestation key, settings.
    Meta,
}

impl Namespace {
    pub(crate) fn code(self) -> i64 {
        match self {
            Namespace::Keys => 1,
            Namespace::Meta => 2,
        }
    }
}

/// A stored value and its generation. The first write of a name has generation 1; each
/// successful `put` adds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's name within its namespace.
    pub name: String,
    /// How many times the record has been written.
    pub generation: u64,
    /// The (sealed) bytes.
    pub value: Vec<u8>,
}

/// Errors of a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A compare-and-swap lost: the record's generation was not the one expected.
    #[error("conflict on {name}: expected generation {expected:?}, found {found:?}")]
    Conflict {
        /// The record.
        name: String,
        /// The generation the caller expected (`None`: the record must not exist).
        expected: Option<u64>,
        /// The generation found (`None`: no such record).
        found: Option<u64>,
    },
    /// A name the store refuses (empty, too long, or with a NUL byte).
    #[error("invalid record name: {0}")]
    InvalidName(&'static str),
    /// The database was written by a newer version of Aunsorm.
    #[error("store schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// The file's schema version.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// The storage engine failed (I/O, corruption detected by the engine, locking).
    #[error("storage error")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Storage(Box::new(e))
    }
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Longest record name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 512;

/// Persistence of versioned records. Implementations are safe to share between threads;
/// every method is atomic, and `put`/`delete` are durable when they return.
pub trait Store: Send + Sync {
    /// The record named `name`, if any.
    ///
    /// # Errors
    /// [`StoreError::Storage`] if the engine fails.
    fn get(&self, ns: Namespace, name: &str) -> Result<Option<Record>>;

    /// Writes `value` if the record's current generation is `expected` (`None`: the
    /// record must not exist yet) and returns the new generation.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the generation differs, and nothing is written;
    /// [`StoreError::InvalidName`]; [`StoreError::Storage`].
    fn put(&self, ns: Namespace, name: &str, expected: Option<u64>, value: &[u8]) -> Result<u64>;

    /// Removes the record if its generation is `expected`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the generation differs or the record is gone.
    fn delete(&self, ns: Namespace, name: &str, expected: u64) -> Result<()>;

    /// Up to `limit` records whose names start with `prefix` and sort after `after`
    /// (exclusive), in name order. Page by passing the last name seen as `after`.
    ///
    /// # Errors
    /// [`StoreError::Storage`] if the engine fails.
    fn list(
        &self,
        ns: Namespace,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Record>>;
}

pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(StoreError::InvalidName("empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(StoreError::InvalidName("longer than 512 bytes"));
    }
    if name.contains('\0') {
        return Err(StoreError::InvalidName("contains NUL"));
    }
    Ok(())
}

/// The smallest string greater than every string starting with `prefix`, for range
/// scans; `None` when no such bound exists (empty prefix or all 0xFF-ish).
pub(crate) fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(c) = chars.pop() {
        if let Some(next) = char::from_u32(c as u32 + 1) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}
