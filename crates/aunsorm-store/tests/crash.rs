#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! SIGKILL during concurrent writes, 20 times: after each restart every acknowledged
//! write is present and the file opens cleanly.
//!
//! The test re-runs its own binary as the writer (`crash_writer`, which does nothing
//! unless AUNSORM_CRASH_DB is set). The writer's threads each own a set of records and
//! print `name generation` to stdout once `put` has returned; the parent kills it at a
//! random moment and checks that each printed generation (or a later one) is in the file.

use aunsorm_store::{Namespace, SqliteStore, Store};
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

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..20 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_writer",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("AUNSORM_CRASH_DB", &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_millis(50 + seed % 250);
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
        let lines = reader.join().unwrap();
        for l in lines {
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
