#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! Commit pacing (`aunsorm_log::pacing`) with a real Tokio runtime whose workers report
//! when they go idle, on a SQLite log: every entry is acknowledged, each exactly once,
//! and the log audits clean; and a worker that never goes idle does not hold entries
//! back for good (the gather limit). One test: pacing is process-wide.

mod common;
use aunsorm_log::{Log, audit, pacing};
use aunsorm_store::SqliteLogStore;
use common::{event, signers};
use std::collections::HashSet;
use std::sync::Arc;

const ORIGIN: &str = "aunsorm.test/pacing";

#[test]
fn paced_commits_lose_nothing_and_a_busy_worker_does_not_stall_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let log = Arc::new(
        Log::open(
            Arc::new(SqliteLogStore::open(&path).unwrap()),
            ORIGIN,
            signers(ORIGIN, 3),
        )
        .unwrap(),
    );

    // A runtime built as `aunsorm serve` builds it: 64 tasks, 50 entries each.
    pacing::enable(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_park(pacing::worker_idle)
        .on_thread_unpark(pacing::worker_busy)
        .build()
        .unwrap();
    let indexes: Vec<u64> = rt.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|t| {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    for i in 0..50 {
                        got.push(
                            log.submit(&event(format!("{t}-{i}")))
                                .unwrap()
                                .await
                                .unwrap(),
                        );
                    }
                    got
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    drop(rt);
    let distinct: HashSet<u64> = indexes.iter().copied().collect();
    assert_eq!(distinct.len(), 64 * 50, "an index was acknowledged twice");
    assert_eq!(
        distinct.iter().max(),
        Some(&(64 * 50 - 1)),
        "a gap in the indexes"
    );

    // One worker that reports and never goes idle: the committer gathers up to the
    // limit, then commits anyway. Bounded, so that a committer that waits for good
    // fails the test instead of hanging it (a minute: not a measure of speed).
    pacing::enable(1);
    pacing::worker_busy();
    let (done, finished) = std::sync::mpsc::channel();
    let appender = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            let indexes: Vec<u64> = (0..20)
                .map(|i| log.append(&event(format!("busy-{i}"))).unwrap())
                .collect();
            let _ = done.send(());
            indexes
        })
    };
    finished
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("entries held back while a worker stays busy");
    let busy = appender.join().unwrap();
    assert_eq!(busy, (64 * 50..64 * 50 + 20).collect::<Vec<u64>>());
    pacing::enable(0);

    assert_eq!(log.sync().unwrap(), 64 * 50 + 20);
    let verifiers = log.verifiers().to_vec();
    drop(log);
    let store = SqliteLogStore::open(&path).unwrap();
    let report = audit(&store, &verifiers, ORIGIN, None).unwrap();
    assert_eq!(report.entries, 64 * 50 + 20);
}
