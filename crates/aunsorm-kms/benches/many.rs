//! Many keys in SQLite: create N keys (default 100,000; AUNSORM_BENCH_KEYS), then sign
//! with a key picked at random for each operation, so nearly every operation misses the
//! cache and unseals from the file. Prints keys/s, operations/s and latency
//! percentiles. Run: `cargo bench -p aunsorm-kms --bench many`.
// A benchmark may unwrap; its casts are of indices bounded by a slice length.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    missing_docs
)]

use aunsorm_crypto::Algorithm;
use aunsorm_kms::{KeyName, KeyOptions, KeyRef, Kms, PassphraseParams};
use aunsorm_store::SqliteStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let n: usize = std::env::var("AUNSORM_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let threads: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let kms = Arc::new(Kms::new(Arc::new(
        SqliteStore::open(&dir.path().join("many.db")).unwrap(),
    )));
    kms.init_with_passphrase(
        b"bench",
        PassphraseParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        },
    )
    .unwrap();

    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let kms = Arc::clone(&kms);
            std::thread::spawn(move || {
                for i in (t..n).step_by(threads) {
                    let name: KeyName = format!("tenant{}/key{i}", i % 100).parse().unwrap();
                    kms.create(&name, Algorithm::Ed25519, &KeyOptions::default())
                        .unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let create = start.elapsed();
    let db_size = std::fs::metadata(dir.path().join("many.db")).unwrap().len();
    println!(
        "created {n} Ed25519 keys with {threads} threads in {:.1} s: {:.0} keys/s (database {:.1} MiB)",
        create.as_secs_f64(),
        n as f64 / create.as_secs_f64(),
        db_size as f64 / (1024.0 * 1024.0)
    );

    // Random-key signing, one thread and then `threads` threads. xorshift keeps the
    // choice cheap and reproducible.
    for t in [1usize, threads] {
        let ops_per_thread = 50_000 / t;
        let start = Instant::now();
        let workers: Vec<_> = (0..t)
            .map(|w| {
                let kms = Arc::clone(&kms);
                std::thread::spawn(move || {
                    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ (w as u64 + 1);
                    let mut lat = Vec::with_capacity(ops_per_thread);
                    for _ in 0..ops_per_thread {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        let i = (seed % n as u64) as usize;
                        let r: KeyRef = format!("tenant{}/key{i}", i % 100).parse().unwrap();
                        let s = Instant::now();
                        kms.sign(&r, b"message", b"").unwrap();
                        lat.push(s.elapsed());
                    }
                    lat
                })
            })
            .collect();
        let mut lat: Vec<Duration> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        let wall = start.elapsed();
        lat.sort();
        println!(
            "random-key Ed25519 sign over {n} keys, {t} thread(s): {:.0} ops/s, p50 {:.1} us, p99 {:.1} us, max {:.1} us (cache holds {} keys)",
            lat.len() as f64 / wall.as_secs_f64(),
            pct(&lat, 0.5).as_secs_f64() * 1e6,
            pct(&lat, 0.99).as_secs_f64() * 1e6,
            lat.last().unwrap().as_secs_f64() * 1e6,
            aunsorm_kms::CACHE_CAPACITY
        );
    }
}
