#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs
)] // benches may unwrap
//! Audited operations per second: Ed25519 sign and AES-256-GCM encrypt (1 KiB) through
//! `Kms` with the transparency log on (SQLite file, group commit, one fsync per batch)
//! against the same operations with the log off, at 1, 8 and 64 concurrent callers, in
//! one run. Callers are threads (each blocks until its entry is durable), and async tasks
//! on two runtime worker threads awaiting `deferred` results (as the server calls the
//! KMS). Afterwards the log is audited: every acknowledged operation is in it.
//! `cargo bench -p aunsorm-kms --bench audited` (`AUNSORM_BENCH_SECS` per cell, default 3;
//! `AUNSORM_BENCH_LOG_STORE=memory` keeps the log in memory instead of SQLite;
//! `AUNSORM_BENCH_OPS="sign encrypt"` and `AUNSORM_BENCH_CALLERS="1 8 64"` choose cells;
//! `AUNSORM_BENCH_PACING=off` runs the tasks without commit pacing)
//!
//! It also measures the storage's durable write (one 4 KiB page overwritten in place
//! and `fdatasync`, the least a group commit writes) and prints, per caller count, the
//! ceiling that puts on any log that acknowledges an operation only once its entry is
//! durable, however it batches: a caller waits at least one durable write per
//! operation, so `callers` callers complete at most `callers` operations per durable
//! write (Little's law). The ceiling takes the fastest of the probe's writes, so it is
//! generous.

use aunsorm_crypto::Algorithm;
use aunsorm_kms::{Caller, KeyName, KeyOptions, KeyRef, Kms, PassphraseParams, deferred};
use aunsorm_store::{LogStore, SqliteLogStore, SqliteStore};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ORIGIN: &str = "aunsorm.bench/log";

fn kms(dir: &std::path::Path, with_log: bool) -> Kms {
    let kms = Kms::new(Arc::new(
        SqliteStore::open(&dir.join("aunsorm.db")).unwrap(),
    ));
    kms.init_with_passphrase(
        b"bench",
        PassphraseParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        },
    )
    .unwrap();
    if with_log {
        // `AUNSORM_BENCH_LOG_STORE=memory`: the log in memory (no SQLite, no fsync), to
        // see what the log costs apart from storage.
        let log: Arc<dyn LogStore> =
            if std::env::var("AUNSORM_BENCH_LOG_STORE").as_deref() == Ok("memory") {
                Arc::new(aunsorm_store::MemoryLogStore::new())
            } else {
                Arc::new(SqliteLogStore::open(&dir.join("log.db")).unwrap())
            };
        kms.open_log(log, ORIGIN).unwrap();
    }
    for (n, alg) in [("sig", Algorithm::Ed25519), ("enc", Algorithm::Aes256Gcm)] {
        kms.create(&n.parse::<KeyName>().unwrap(), alg, &KeyOptions::default())
            .unwrap();
    }
    kms
}

/// Latency of a durable write on the storage under `dir`, in µs: the median, the
/// fastest tenth and the fastest of 500 rounds of a 4 KiB page written over a
/// preallocated file (a restarted WAL is overwritten in place, so the file's size, its
/// metadata, does not change) followed by `fdatasync`.
fn durable_write_us(dir: &std::path::Path) -> (f64, f64, f64) {
    use std::os::unix::fs::FileExt;
    const ROUNDS: usize = 500;
    let f = std::fs::File::create(dir.join("durable-write-probe")).unwrap();
    let span = 16u64 << 20;
    f.set_len(span).unwrap();
    f.sync_all().unwrap();
    let buf = vec![0x5a_u8; 4 << 10];
    let mut us = Vec::with_capacity(ROUNDS);
    let mut at = 0u64;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        f.write_all_at(&buf, at).unwrap();
        f.sync_data().unwrap();
        us.push(t.elapsed().as_secs_f64() * 1e6);
        at = (at + buf.len() as u64) % span;
    }
    drop(f);
    std::fs::remove_file(dir.join("durable-write-probe")).unwrap();
    us.sort_by(f64::total_cmp);
    (us[ROUNDS / 2], us[ROUNDS / 10], us[0])
}

/// One operation, through the blocking API.
fn op_blocking(kms: &Kms, op: &str, sig: &KeyRef, enc: &KeyRef, pt: &[u8]) {
    if op == "sign" {
        kms.sign(sig, b"message to sign", b"").unwrap();
    } else {
        kms.encrypt(enc, pt, b"").unwrap();
    }
}

/// Operations per second with `callers` threads for `secs`, and the count done.
fn run_threads(kms: &Arc<Kms>, op: &str, callers: usize, secs: f64) -> (f64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..callers {
            let (kms, done) = (Arc::clone(kms), Arc::clone(&done));
            s.spawn(move || {
                let sig: KeyRef = "sig".parse().unwrap();
                let enc: KeyRef = "enc".parse().unwrap();
                let pt = [7u8; 1024];
                while Instant::now() < deadline {
                    op_blocking(&kms, op, &sig, &enc, &pt);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let n = done.load(Ordering::Relaxed);
    (n as f64 / start.elapsed().as_secs_f64(), n)
}

/// Operations per second with `callers` async tasks on two worker threads, each
/// awaiting its result (released once its audit entry is durable when the log is on).
fn run_tasks(
    rt: &tokio::runtime::Runtime,
    kms: &Arc<Kms>,
    op: &'static str,
    callers: usize,
    secs: f64,
) -> (f64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let (kms, done) = (Arc::clone(kms), Arc::clone(&done));
                tokio::spawn(async move {
                    let sig: KeyRef = "sig".parse().unwrap();
                    let enc: KeyRef = "enc".parse().unwrap();
                    let pt = [7u8; 1024];
                    while Instant::now() < deadline {
                        if op == "sign" {
                            deferred(Caller::default(), || {
                                kms.sign(&sig, b"message to sign", b"")
                            })
                            .await
                            .unwrap();
                        } else {
                            deferred(Caller::default(), || kms.encrypt(&enc, &pt, b""))
                                .await
                                .unwrap();
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let n = done.load(Ordering::Relaxed);
    (n as f64 / start.elapsed().as_secs_f64(), n)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let secs: f64 = std::env::var("AUNSORM_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let off_dir = tempfile::tempdir().unwrap();
    let on_dir = tempfile::tempdir().unwrap();
    let off = Arc::new(kms(off_dir.path(), false));
    let on = Arc::new(kms(on_dir.path(), true));
    // The runtime as `aunsorm serve` builds it: its workers report when they go idle,
    // for the log's commit pacing (`AUNSORM_BENCH_PACING=off`: no pacing).
    let pacing = std::env::var("AUNSORM_BENCH_PACING").as_deref() != Ok("off");
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.worker_threads(2);
    if pacing {
        aunsorm_log::pacing::enable(2);
        rt.on_thread_park(aunsorm_log::pacing::worker_idle)
            .on_thread_unpark(aunsorm_log::pacing::worker_busy);
    }
    let rt = rt.build().unwrap();
    let mut acknowledged = 0u64;
    let (median, tenth, fastest) = durable_write_us(on_dir.path());
    println!(
        "durable write (4 KiB in place + fdatasync, 500 rounds): median {median:.0} µs, fastest tenth {tenth:.0} µs, fastest {fastest:.0} µs\n"
    );
    println!(
        "| operation | callers | threads: log off (ops/s) | log on | log cost | async tasks: log off (ops/s) | log on | log cost | ceiling: callers per fastest durable write (ops/s) | least log cost under that ceiling (threads, tasks) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let ops = std::env::var("AUNSORM_BENCH_OPS").unwrap_or_else(|_| "sign encrypt".into());
    let ops: Vec<&'static str> = ["sign", "encrypt"]
        .into_iter()
        .filter(|o| ops.split_whitespace().any(|w| w == *o))
        .collect();
    let callers: Vec<usize> = std::env::var("AUNSORM_BENCH_CALLERS")
        .unwrap_or_else(|_| "1 8 64".into())
        .split_whitespace()
        .map(|c| c.parse().expect("AUNSORM_BENCH_CALLERS: numbers"))
        .collect();
    for op in ops {
        for &callers in &callers {
            let (a, _) = run_threads(&off, op, callers, secs);
            let (b, n) = run_threads(&on, op, callers, secs);
            acknowledged += n;
            let (c, _) = run_tasks(&rt, &off, op, callers, secs);
            let (d, n) = run_tasks(&rt, &on, op, callers, secs);
            acknowledged += n;
            let label = if op == "sign" {
                "Ed25519 sign"
            } else {
                "AES-256-GCM encrypt 1 KiB"
            };
            let ceiling = callers as f64 * 1e6 / fastest;
            let least = |off: f64| (1.0 - ceiling / off).max(0.0) * 100.0;
            println!(
                "| {label} | {callers} | {a:.0} | {b:.0} | {:.1}% | {c:.0} | {d:.0} | {:.1}% | {ceiling:.0} | {:.0}%, {:.0}% |",
                (1.0 - b / a) * 100.0,
                (1.0 - d / c) * 100.0,
                least(a),
                least(c)
            );
        }
    }
    // Zero loss: every acknowledged operation has its entry (plus the two creations).
    let log = on.log().unwrap();
    // A checkpoint over everything acknowledged (entries are acknowledged once durable;
    // the checkpoint covering the last ones may not be due yet).
    let size = log.sync().unwrap();
    println!(
        "\nacknowledged audited operations: {acknowledged}; log entries: {size} (2 are the key creations)"
    );
    assert_eq!(
        size,
        acknowledged + 2,
        "an acknowledged operation is missing from the log"
    );
    if std::env::var("AUNSORM_BENCH_LOG_STORE").as_deref() == Ok("memory") {
        return;
    }
    let store = SqliteLogStore::open(&on_dir.path().join("log.db")).unwrap();
    let verifiers = on.log_signers(ORIGIN).unwrap().verifiers();
    let report = aunsorm_log::audit(&store, &verifiers, ORIGIN, None).unwrap();
    println!(
        "audit: {} entries verified against the signed checkpoint",
        report.entries
    );
}
