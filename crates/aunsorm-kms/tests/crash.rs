#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! SIGKILL of a KMS while it creates and rotates keys from several threads, 20 times:
//! after each restart every acknowledged create and rotation is there, every key in
//! the file unseals (no torn or corrupt record), and every acknowledged ciphertext
//! still decrypts.
//!
//! The test re-runs its own binary as the writer (`kms_crash_writer`, which does
//! nothing unless AUNSORM_KMS_CRASH_DB is set). The writer prints a line once each
//! operation has returned; the parent kills it at a random moment.

use aunsorm_crypto::Algorithm;
use aunsorm_kms::{KeyName, KeyOptions, KeyRef, Kms, PassphraseParams, Versioned};
use aunsorm_store::SqliteStore;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FAST: PassphraseParams = PassphraseParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};

fn open(db: &std::path::Path) -> Kms {
    Kms::new(Arc::new(SqliteStore::open(db).unwrap()))
}

#[test]
fn kms_crash_writer() {
    let Ok(db) = std::env::var("AUNSORM_KMS_CRASH_DB") else {
        return;
    };
    let round: u32 = std::env::var("AUNSORM_KMS_CRASH_ROUND")
        .unwrap()
        .parse()
        .unwrap();
    let kms = Arc::new(open(std::path::Path::new(&db)));
    kms.unseal_with_passphrase(b"pw").unwrap();
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let say = |out: &std::sync::Mutex<std::io::Stdout>, line: String| {
        let mut o = out.lock().unwrap();
        writeln!(o, "{line}").unwrap();
        o.flush().unwrap();
    };
    let mut threads = vec![];
    for t in 0..2 {
        let (kms, out) = (Arc::clone(&kms), Arc::clone(&out));
        threads.push(std::thread::spawn(move || {
            for i in 0u32.. {
                let n: KeyName = format!("c{round}-{t}-{i}").parse().unwrap();
                if i % 2 == 0 {
                    kms.create(&n, Algorithm::Aes256Gcm, &KeyOptions::default())
                        .unwrap();
                    let ct = kms
                        .encrypt(&KeyRef::from(n.clone()), n.as_str().as_bytes(), b"")
                        .unwrap();
                    say(&out, format!("created {n} {ct}"));
                } else {
                    kms.create(&n, Algorithm::Ed25519, &KeyOptions::default())
                        .unwrap();
                    say(&out, format!("created {n} -"));
                }
            }
        }));
    }
    for t in 0..2 {
        let (kms, out) = (Arc::clone(&kms), Arc::clone(&out));
        threads.push(std::thread::spawn(move || {
            for i in 0u32.. {
                // Both rotating threads share the keys: compare-and-swap must keep every
                // rotation.
                let n: KeyName = format!("rot-{}", (i + t) % 4).parse().unwrap();
                let v = kms.rotate(&n).unwrap();
                say(&out, format!("rotated {n} {v}"));
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn acknowledged_kms_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kms.db");
    {
        let kms = open(&db);
        kms.init_with_passphrase(b"pw", FAST).unwrap();
        for i in 0..4 {
            kms.create(
                &format!("rot-{i}").parse().unwrap(),
                Algorithm::Aes256Gcm,
                &KeyOptions::default(),
            )
            .unwrap();
        }
    }
    let mut created: HashMap<String, Option<Versioned>> = HashMap::new();
    let mut rotated: HashMap<String, u32> = HashMap::new();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..20 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "kms_crash_writer",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("AUNSORM_KMS_CRASH_DB", &db)
            .env("AUNSORM_KMS_CRASH_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_millis(100 + seed % 300);
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        let start = Instant::now();
        while start.elapsed() < run_for {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for l in reader.join().unwrap() {
            // libtest may print "test kms_crash_writer ... " before the first line.
            let l = l.trim_start_matches("test kms_crash_writer ... ");
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                ["created", n, "-"] => {
                    created.insert((*n).to_string(), None);
                }
                ["created", n, ct] => {
                    if let Ok(ct) = ct.parse::<Versioned>() {
                        created.insert((*n).to_string(), Some(ct));
                    }
                }
                ["rotated", n, v] => {
                    if let Ok(v) = v.parse::<u32>() {
                        let e = rotated.entry((*n).to_string()).or_default();
                        *e = (*e).max(v);
                    }
                }
                _ => {} // a line cut by the kill
            }
        }

        let kms = open(&db);
        kms.unseal_with_passphrase(b"pw").unwrap();
        for (n, ct) in &created {
            let name: KeyName = n.parse().unwrap();
            let info = kms
                .info(&name)
                .unwrap_or_else(|e| panic!("round {round}: {n}: {e}"));
            if let Some(ct) = ct {
                assert_eq!(
                    kms.decrypt(&name, ct, b"").unwrap().expose(),
                    n.as_bytes(),
                    "round {round}: {n}"
                );
            } else {
                assert_eq!(info.alg, Algorithm::Ed25519);
            }
        }
        for (n, v) in &rotated {
            let latest = kms.info(&n.parse().unwrap()).unwrap().latest_version();
            assert!(
                latest >= *v,
                "round {round}: {n} at v{latest} < acknowledged v{v}"
            );
        }
        // Every record in the file unseals: nothing torn, nothing half-written.
        let mut after: Option<String> = None;
        loop {
            let page = kms.list("", after.as_deref(), 500).unwrap();
            let Some(last) = page.last().cloned() else {
                break;
            };
            for n in page {
                kms.info(&n.parse().unwrap())
                    .unwrap_or_else(|e| panic!("round {round}: {n} does not load: {e}"));
            }
            after = Some(last);
        }
    }
    assert!(
        created.len() >= 40,
        "too few creates acknowledged: {}",
        created.len()
    );
    assert!(
        rotated.values().sum::<u32>() >= 40,
        "too few rotations acknowledged: {rotated:?}"
    );
}
