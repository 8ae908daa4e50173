#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! SIGKILL of a process appending to the log from eight threads, 20 times: after each
//! restart the log audits clean (signatures, every entry and node, the root), no
//! acknowledged entry is missing or changed, there is no gap, and the log is a
//! consistent extension of the checkpoint published before the kill.
//!
//! The test re-runs its own binary as the writer (`log_crash_writer`, which does
//! nothing unless AUNSORM_LOG_CRASH_DB is set). The writer prints `ack <index>
//! <thread>-<n>` once `append` has returned; the parent kills it at a random moment.

mod common;
use aunsorm_log::{Event, Log, NoteVerifier, audit};
use aunsorm_store::{LogStore, SqliteLogStore};
use common::{event, signers};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ORIGIN: &str = "aunsorm.test/crash";

#[test]
fn log_crash_writer() {
    let Ok(db) = std::env::var("AUNSORM_LOG_CRASH_DB") else {
        return;
    };
    let round = std::env::var("AUNSORM_LOG_CRASH_ROUND").unwrap();
    let store = Arc::new(SqliteLogStore::open(std::path::Path::new(&db)).unwrap());
    let log = Arc::new(Log::open(store, ORIGIN, signers(ORIGIN, 1)).unwrap());
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    {
        let mut o = out.lock().unwrap();
        writeln!(o, "open").unwrap();
        o.flush().unwrap();
    }
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (log, out, round) = (Arc::clone(&log), Arc::clone(&out), round.clone());
            std::thread::spawn(move || {
                for n in 0u64.. {
                    let tag = format!("{round}-{t}-{n}");
                    let i = log.append(&event(tag.as_str())).unwrap();
                    let mut o = out.lock().unwrap();
                    writeln!(o, "ack {i} {tag}").unwrap();
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
fn acknowledged_entries_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let verifiers: Vec<NoteVerifier> = signers(ORIGIN, 1).verifiers();
    let mut acked: HashMap<u64, String> = HashMap::new();
    let mut published: Option<Vec<u8>> = None;
    let mut tails = 0;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..20 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "log_crash_writer",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("AUNSORM_LOG_CRASH_DB", &db)
            .env("AUNSORM_LOG_CRASH_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_millis(150 + seed % 350);
        let stdout = child.stdout.take().unwrap();
        let (opened, open) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
            // The kill comes a while after the log is open: killing the writer before
            // it stored its first checkpoint (a loaded machine starts it slowly) would
            // leave a log that was never opened.
            if lines.by_ref().any(|l| l.ends_with("open")) {
                let _ = opened.send(());
            }
            lines.collect::<Vec<_>>()
        });
        open.recv_timeout(Duration::from_secs(120))
            .expect("the writer did not open the log");
        let start = Instant::now();
        while start.elapsed() < run_for {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for l in reader.join().unwrap() {
            let l = l.trim_start_matches("test log_crash_writer ... ");
            let w: Vec<&str> = l.split_whitespace().collect();
            if let ["ack", i, tag] = w.as_slice()
                && let Ok(i) = i.parse::<u64>()
            {
                assert!(
                    acked.insert(i, (*tag).to_string()).is_none(),
                    "index {i} acknowledged twice"
                );
            }
        }

        let store = SqliteLogStore::open(&db).unwrap();
        // Signatures, every entry and node, the root, no gap; and consistent with the
        // checkpoint the log had published before this round.
        let report = audit(&store, &verifiers, ORIGIN, published.as_deref())
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        for (i, tag) in &acked {
            assert!(
                *i < report.entries,
                "round {round}: acknowledged {i} is beyond the log"
            );
            let e = store.entries(*i, *i + 1).unwrap().pop().unwrap();
            assert_eq!(
                Event::parse(&e).unwrap(),
                event(tag),
                "round {round}: entry {i} changed"
            );
        }
        // Reopen as the next writer will: the stored checkpoint matches the tree at its
        // size, and entries stored after it (killed before the next checkpoint was
        // due) are signed now.
        if report.unsigned > 0 {
            tails += 1;
        }
        drop(Log::open(Arc::new(store), ORIGIN, signers(ORIGIN, 1)).unwrap());
        published = SqliteLogStore::open(&db).unwrap().checkpoint().unwrap();
        let cp =
            aunsorm_log::verified_checkpoint(published.as_deref().unwrap(), &verifiers, ORIGIN)
                .unwrap();
        assert_eq!(
            cp.size, report.entries,
            "round {round}: reopening signs every entry"
        );
    }
    println!(
        "{} acknowledged entries over 20 kills; {tails} rounds left entries after the stored checkpoint",
        acked.len()
    );
    assert!(
        acked.len() >= 1000,
        "too few appends acknowledged: {}",
        acked.len()
    );
}
