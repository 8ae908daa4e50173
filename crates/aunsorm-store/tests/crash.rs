#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! SIGKILL during concurrent writes, 20 times: after each restart every acknowledged
//! write is present and the file opens cleanly. The same for the log store, whose WAL
//! is checkpointed by a thread of its own and restarted by the writer (`wal.rs`).
//!
//! The test re-runs its own binary as the writer (`crash_writer`, which does nothing
//! unless AUNSORM_CRASH_DB is set). The writer's threads each own a set of records and
//! print `name generation` to stdout once `put` has returned; the parent kills it at a
//! random moment and checks that each printed generation (or a later one) is in the file.

use aunsorm_store::{LogBatch, LogStore, Namespace, SqliteLogStore, SqliteStore, Store};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn crash_writer() {
    let Ok(db) = std::env::var("AUNSORM_CRASH_DB") else {
        return;
    };
    let store = Arc::new(SqliteStore::open(std::path::Path::new(&db)).unwrap());
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (store, out) = (Arc::clone(&store), Arc::clone(&out));
            std::thread::spawn(move || {
                for i in 0u64.. {
                    let name = format!("t{t}/k{}", i % 25);
                    let cur = store.get(Namespace::Keys, &name).unwrap();
                    let g = store
                        .put(
                            Namespace::Keys,
                            &name,
                            cur.map(|r| r.generation),
                            &i.to_be_bytes(),
                        )
                        .unwrap();
                    let mut o = out.lock().unwrap();
                    writeln!(o, "{name} {g}").unwrap();
                    o.flush().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// The log writer: one thread appending batches of 8 entries of 3,000 bytes (about a
/// WAL page each, so that each round crosses the checkpointer's thresholds), printing
/// the new size once `append` has returned.
#[test]
fn log_crash_writer() {
    let Ok(db) = std::env::var("AUNSORM_CRASH_LOG") else {
        return;
    };
    let store = SqliteLogStore::open(std::path::Path::new(&db)).unwrap();
    let mut out = std::io::stdout();
    loop {
        let start = store.size().unwrap();
        let entries: Vec<Vec<u8>> = (start..start + 8).map(log_entry).collect();
        let cp = start.to_be_bytes();
        store
            .append(&LogBatch {
                start,
                entries: &entries,
                nodes: &[],
                checkpoint: Some(&cp),
                generations: &[],
            })
            .unwrap();
        writeln!(out, "size {}", start + 8).unwrap();
        out.flush().unwrap();
    }
}

fn log_entry(i: u64) -> Vec<u8> {
    i.to_be_bytes().repeat(375)
}

/// Runs this binary's `writer` test with `env` set to `path` for a random while,
/// SIGKILLs it, and returns what it printed.
fn run_and_kill(
    writer: &str,
    env: &str,
    path: &std::path::Path,
    seed: &mut u64,
    ms: u64,
) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", writer, "--nocapture", "--test-threads", "1"])
        .env(env, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    let run_for = Duration::from_millis(ms + *seed % (4 * ms));
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = vec![];
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => lines.push(l),
                Err(_) => break,
            }
        }
        lines
    });
    let start = Instant::now();
    while start.elapsed() < run_for {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap()
}

#[test]
fn acknowledged_log_batches_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let mut acked = 0u64;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..20 {
        for l in run_and_kill("log_crash_writer", "AUNSORM_CRASH_LOG", &db, &mut seed, 100) {
            // libtest may print "test log_crash_writer ... " before the first line.
            let mut words = l.split_whitespace().rev();
            if let (Some(n), Some("size")) = (words.next(), words.next())
                && let Ok(n) = n.parse::<u64>()
            {
                acked = acked.max(n);
            }
        }
        let store = SqliteLogStore::open(&db).unwrap();
        let size = store.size().unwrap();
        assert!(
            size >= acked,
            "round {round}: size {size} < acknowledged {acked}"
        );
        assert_eq!(size % 8, 0, "round {round}: a batch was torn");
        let cp = store.checkpoint().unwrap().unwrap();
        assert_eq!(
            cp,
            (size - 8).to_be_bytes(),
            "round {round}: checkpoint of another batch"
        );
        let mut i = 0;
        while i < size {
            for e in store.entries(i, (i + 4096).min(size)).unwrap() {
                assert_eq!(e, log_entry(i), "round {round}: entry {i}");
                i += 1;
            }
        }
    }
    // Each round writes several thousand pages: enough for background passes and WAL
    // restarts (wal.rs's unit test checks that they happen).
    assert!(acked >= 20 * 1000, "too few entries acknowledged: {acked}");
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..20 {
        for l in run_and_kill("crash_writer", "AUNSORM_CRASH_DB", &db, &mut seed, 50) {
            // libtest may print "test crash_writer ... " before the first line.
            let mut words = l.split_whitespace().rev();
            let (Some(g), Some(name)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(g) = g.parse::<u64>() else { continue }; // a line cut by the kill
            let e = acked.entry(name.to_string()).or_default();
            *e = (*e).max(g);
        }
        let store = SqliteStore::open(&db).unwrap();
        for (name, g) in &acked {
            let r = store
                .get(Namespace::Keys, name)
                .unwrap()
                .unwrap_or_else(|| panic!("round {round}: {name} lost"));
            assert!(
                r.generation >= *g,
                "round {round}: {name} at {} < acknowledged {g}",
                r.generation
            );
        }
        let all = store.list(Namespace::Keys, "", None, 1000).unwrap();
        assert!(
            all.iter().all(|r| r.value.len() == 8),
            "round {round}: torn record"
        );
    }
    assert!(
        acked.len() >= 50,
        "too few writes acknowledged: {}",
        acked.len()
    );
}
