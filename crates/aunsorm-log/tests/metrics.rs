#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! The log's metrics, read from a recorder installed for the whole process (the
//! committer is a thread of its own), over a real SQLite log: every commit is counted
//! with its entries and its time, the tree size follows the log, checkpoints are
//! counted, and a commit the storage refuses is counted as a failure and nothing else.
//! One test: the recorder is process-wide.

mod common;
use aunsorm_log::Log;
use aunsorm_store::{KeyGeneration, LogBatch, LogStore, NodeHash, SqliteLogStore, StoreError};
use common::{event, signers};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const ORIGIN: &str = "aunsorm.test/metrics";

/// A SQLite log store whose appends fail while `refuse` is set (before SQLite is
/// touched, so a refused batch leaves nothing behind).
struct Refusing {
    inner: SqliteLogStore,
    refuse: AtomicBool,
}

impl LogStore for Refusing {
    fn size(&self) -> aunsorm_store::Result<u64> {
        self.inner.size()
    }
    fn append(&self, batch: &LogBatch<'_>) -> aunsorm_store::Result<()> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(StoreError::Storage("disk refused the write".into()));
        }
        self.inner.append(batch)
    }
    fn entries(&self, start: u64, end: u64) -> aunsorm_store::Result<Vec<Vec<u8>>> {
        self.inner.entries(start, end)
    }
    fn nodes(&self, level: u8, start: u64, end: u64) -> aunsorm_store::Result<Vec<NodeHash>> {
        self.inner.nodes(level, start, end)
    }
    fn checkpoint(&self) -> aunsorm_store::Result<Option<Vec<u8>>> {
        self.inner.checkpoint()
    }
    fn key_generation(&self, name: &str) -> aunsorm_store::Result<Option<KeyGeneration>> {
        self.inner.key_generation(name)
    }
}

/// The log's metrics so far: counters (and the batch histogram's count and sum, as
/// commits and entries) summed and the gauge's last value over the snapshots taken
/// (the debugging recorder's snapshots swap counters and gauges to zero and drain
/// histograms), histograms as the samples recorded since the previous snapshot.
#[derive(Debug, Default)]
struct Seen {
    commits: u64,
    failures: u64,
    entries: f64,
    checkpoints: u64,
    tree_size: f64,
    batch_entries: Vec<f64>,
    commit_seconds: Vec<f64>,
}

impl Seen {
    fn update(&mut self, s: &Snapshotter) {
        self.batch_entries.clear();
        self.commit_seconds.clear();
        for (key, _, _, value) in s.snapshot().into_vec() {
            match (key.key().name(), value) {
                ("aunsorm_log_commit_failures_total", DebugValue::Counter(n)) => {
                    self.failures += n;
                }
                ("aunsorm_log_checkpoints_total", DebugValue::Counter(n)) => {
                    self.checkpoints += n;
                }
                // Zero: not set since the last snapshot (the tree is never empty here).
                ("aunsorm_log_tree_size", DebugValue::Gauge(g)) if g.into_inner() > 0.0 => {
                    self.tree_size = g.into_inner();
                }
                ("aunsorm_log_batch_entries", DebugValue::Histogram(h)) => {
                    self.batch_entries = h.into_iter().map(|x| x.into_inner()).collect();
                    // A histogram's count and sum: commits and entries.
                    self.commits += self.batch_entries.len() as u64;
                    self.entries += self.batch_entries.iter().sum::<f64>();
                }
                ("aunsorm_log_commit_seconds", DebugValue::Histogram(h)) => {
                    self.commit_seconds = h.into_iter().map(|x| x.into_inner()).collect();
                }
                _ => {}
            }
        }
    }
}

#[test]
fn commits_entries_checkpoints_and_failures_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    // As the server does: the log keeps its handles from now on.
    aunsorm_log::global_metrics_installed();

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Refusing {
        inner: SqliteLogStore::open(&dir.path().join("log.db")).unwrap(),
        refuse: AtomicBool::new(false),
    });
    let log = Arc::new(
        Log::open(
            Arc::clone(&store) as Arc<dyn LogStore>,
            ORIGIN,
            signers(ORIGIN, 5),
        )
        .unwrap(),
    );

    // 8 threads, 25 entries each: batches of various sizes.
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..25 {
                    log.append(&event(format!("{t}-{i}"))).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let size = log.sync().unwrap();
    assert_eq!(size, 200);

    let mut s = Seen::default();
    s.update(&snapshotter);
    // Every entry in exactly one commit, and each commit timed.
    assert_eq!(s.entries, 200.0, "{s:?}");
    assert!(s.commits >= 1, "{s:?}");
    assert_eq!(s.failures, 0, "{s:?}");
    assert!(
        s.batch_entries.iter().all(|&n| (1.0..=200.0).contains(&n)),
        "{s:?}"
    );
    assert_eq!(s.commit_seconds.len() as u64, s.commits, "{s:?}");
    assert!(
        s.commit_seconds.iter().all(|&t| t > 0.0 && t < 60.0),
        "{s:?}"
    );
    assert_eq!(s.tree_size, 200.0, "{s:?}");
    // `sync` asks for a checkpoint of everything durable.
    assert!(s.checkpoints >= 1, "{s:?}");
    assert_eq!(log.size().unwrap(), 200);

    // A refused commit: counted as a failure, not as a commit or as entries, and the
    // tree does not grow.
    store.refuse.store(true, Ordering::SeqCst);
    assert!(log.append(&event("refused")).is_err());
    s.update(&snapshotter);
    assert_eq!(s.failures, 1, "{s:?}");
    assert_eq!(s.entries, 200.0, "{s:?}");
    assert!(
        s.batch_entries.is_empty() && s.commit_seconds.is_empty(),
        "{s:?}"
    );
    assert_eq!(s.tree_size, 200.0, "{s:?}");
    assert_eq!(log.size().unwrap(), 200);

    // The next commit goes on from where the tree is.
    store.refuse.store(false, Ordering::SeqCst);
    assert_eq!(log.append(&event("after")).unwrap(), 200);
    s.update(&snapshotter);
    assert_eq!((s.entries, s.tree_size), (201.0, 201.0), "{s:?}");
    assert_eq!(s.batch_entries, vec![1.0], "{s:?}");
}
