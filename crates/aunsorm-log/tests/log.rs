#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    missing_docs
)] // tests may unwrap
//! The log on a real SQLite file: concurrent group commit, proofs and tiles against the
//! signed checkpoint, reopen, and the tamper and rollback cases `audit` must catch.

use aunsorm_crypto::{Algorithm, PrivateKey};
use aunsorm_log::{
    CheckpointSigners, Event, Log, LogError, NoteSigner, NoteVerifier, OpEvent, audit, merkle,
    tiles, verified_checkpoint,
};
use aunsorm_store::{LogStore, SqliteLogStore};
use std::path::Path;
use std::sync::Arc;

const ORIGIN: &str = "aunsorm.test/log";

struct Keys {
    ed: PrivateKey,
    pq: PrivateKey,
}

impl Keys {
    fn new() -> Self {
        Keys {
            ed: PrivateKey::generate(Algorithm::Ed25519).unwrap(),
            pq: PrivateKey::generate(Algorithm::MlDsa44).unwrap(),
        }
    }
    fn signers(&self) -> CheckpointSigners {
        let copy = |k: &PrivateKey| {
            Arc::new(PrivateKey::from_pkcs8_der(k.to_pkcs8_der().unwrap().expose()).unwrap())
        };
        CheckpointSigners {
            ed25519: NoteSigner::new(ORIGIN, copy(&self.ed)).unwrap(),
            ml_dsa_44: NoteSigner::new(ORIGIN, copy(&self.pq)).unwrap(),
        }
    }
    fn verifiers(&self) -> Vec<NoteVerifier> {
        self.signers().verifiers()
    }
}

fn op(i: u64) -> Event {
    Event::Op(OpEvent {
        op: "sign".into(),
        key: format!("k{}#v1", i % 7),
        token: Some("tok".into()),
        request: Some(format!("req-{i}")),
        result: "ok".into(),
        time_ms: 1_700_000_000_000 + i,
    })
}

fn open(path: &Path, keys: &Keys) -> Log {
    Log::open(
        Arc::new(SqliteLogStore::open(path).unwrap()),
        ORIGIN,
        keys.signers(),
    )
    .unwrap()
}

#[test]
fn concurrent_appends_proofs_tiles_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let keys = Keys::new();
    let log = Arc::new(open(&path, &keys));
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..300u64)
                    .map(|i| log.append(&op(t * 1000 + i)).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut indexes: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (0..2400).collect::<Vec<_>>(),
        "every entry has its own index, no gap"
    );

    // Acknowledged entries are durable; the checkpoint covering them follows within
    // the checkpoint interval, or at once when asked for.
    assert_eq!(log.sync().unwrap(), 2400);
    assert_eq!(
        log.sync().unwrap(),
        2400,
        "nothing new: the same checkpoint"
    );
    let cp = verified_checkpoint(&log.checkpoint().unwrap(), &keys.verifiers(), ORIGIN).unwrap();
    assert_eq!(cp.size, 2400);
    for i in (0..2400).step_by(97) {
        let p = log.inclusion_proof(i, cp.size).unwrap();
        let leaf = merkle::leaf_hash(&log.entry(i).unwrap());
        merkle::verify_inclusion(i, cp.size, &leaf, &p, &cp.root).unwrap();
    }
    // Full tile 0 at level 0 holds the first 256 leaf hashes; tile 0 at level 1 the
    // level-8 nodes (2400 / 256 = 9 of them, a partial tile).
    let t = log.tile(0, 0, 256).unwrap();
    assert_eq!(&t[..32], &merkle::leaf_hash(&log.entry(0).unwrap()));
    let leaves: Vec<_> = (0..256)
        .map(|i| merkle::leaf_hash(&log.entry(i).unwrap()))
        .collect();
    assert_eq!(t, leaves.concat(), "level-0 tile: the leaf hashes");
    // Each level-8 node (stored) is the root of its 256 entries, computed here
    // independently of the log's stored tree.
    let entries: Vec<Vec<u8>> = (0..2400).map(|i| log.entry(i).unwrap()).collect();
    let t1 = log.tile(1, 0, 9).unwrap();
    for (n, h) in t1.chunks(32).enumerate() {
        let refs: Vec<&[u8]> = entries[n * 256..(n + 1) * 256]
            .iter()
            .map(Vec::as_slice)
            .collect();
        assert_eq!(h, merkle::root_of(&refs), "level-8 node {n}");
    }
    // Proofs use nodes at every level, computed from the tile levels: check them
    // around tile boundaries against roots computed from the entries alone.
    let root = |n: usize| {
        let refs: Vec<&[u8]> = entries[..n].iter().map(Vec::as_slice).collect();
        merkle::root_of(&refs)
    };
    for (a, b) in [
        (1, 2400),
        (255, 256),
        (256, 257),
        (255, 513),
        (511, 2400),
        (1000, 2048),
    ] {
        let p = log.consistency_proof(a, b).unwrap();
        merkle::verify_consistency(a, b, &p, &root(a as usize), &root(b as usize)).unwrap();
    }
    for (i, n) in [(0, 256), (255, 256), (256, 257), (767, 1025), (2399, 2400)] {
        let p = log.inclusion_proof(i, n).unwrap();
        let leaf = merkle::leaf_hash(&entries[i as usize]);
        merkle::verify_inclusion(i, n, &leaf, &p, &root(n as usize)).unwrap();
    }
    assert!(log.tile(1, 0, 10).is_err());
    assert!(log.tile(1, 0, 256).is_err());
    assert!(
        log.tile(0, 9, 256).is_err(),
        "tile 9 is partial (96 entries)"
    );
    assert_eq!(log.tile(0, 9, 96).unwrap().len(), 96 * 32);
    let bundle = tiles::decode_bundle(&log.entry_bundle(9, 96).unwrap()).unwrap();
    assert_eq!(bundle.len(), 96);
    assert_eq!(bundle[0], log.entry(9 * 256).unwrap());

    // Bad requests are typed errors.
    assert!(matches!(
        log.inclusion_proof(2400, 2400),
        Err(LogError::InvalidInput(_))
    ));
    assert!(matches!(
        log.inclusion_proof(0, 2401),
        Err(LogError::InvalidInput(_))
    ));
    assert!(matches!(
        log.consistency_proof(10, 5),
        Err(LogError::InvalidInput(_))
    ));
    assert!(matches!(log.entry(5000), Err(LogError::InvalidInput(_))));

    // Reopen: same tree, appends continue, and the new checkpoint extends the old one.
    let old = log.checkpoint().unwrap();
    drop(Arc::try_unwrap(log).unwrap());
    let log = open(&path, &keys);
    assert_eq!(log.size().unwrap(), 2400);
    assert_eq!(log.append(&op(1)).unwrap(), 2400);
    // Without waiting, the next checkpoint is published within the interval.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while log.size().unwrap() < 2401 {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint published"
        );
        std::thread::sleep(aunsorm_log::CHECKPOINT_INTERVAL / 4);
    }
    // And stored after as long again of quiet.
    let store = SqliteLogStore::open(&path).unwrap();
    let report = loop {
        let r = audit(&store, &keys.verifiers(), ORIGIN, Some(&old)).unwrap();
        if r.unsigned == 0 {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "checkpoint not stored"
        );
        std::thread::sleep(aunsorm_log::CHECKPOINT_INTERVAL / 4);
    };
    assert_eq!(report.entries, 2401);
    let p = log.consistency_proof(2400, 2401).unwrap();
    merkle::verify_consistency(2400, 2401, &p, &cp.root, &report.checkpoint.root).unwrap();

    // Another log's keys do not open this one.
    let other = Keys::new();
    drop(log);
    assert!(matches!(
        Log::open(
            Arc::new(SqliteLogStore::open(&path).unwrap()),
            ORIGIN,
            other.signers()
        ),
        Err(LogError::InvalidSignature(_))
    ));
}

fn filled(dir: &Path, keys: &Keys, n: u64) -> std::path::PathBuf {
    let path = dir.join("log.db");
    let log = open(&path, keys);
    for i in 0..n {
        log.append(&op(i)).unwrap();
    }
    path
}

fn sql(path: &Path, stmt: &str) {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(stmt).unwrap();
}

#[test]
fn audit_catches_every_kind_of_tampering() {
    let keys = Keys::new();
    let cases: &[(&str, &str)] = &[
        (
            "edited entry",
            "UPDATE entries SET data = CAST(replace(CAST(data AS TEXT), 'req-5\"', 'req-6\"') AS BLOB) WHERE idx = 5",
        ),
        ("removed entry", "DELETE FROM entries WHERE idx = 7"),
        ("removed last entry", "DELETE FROM entries WHERE idx = 299"),
        (
            "reordered entries",
            "UPDATE entries SET idx = -1 WHERE idx = 3; UPDATE entries SET idx = 3 WHERE idx = 4; UPDATE entries SET idx = 4 WHERE idx = -1",
        ),
        (
            "edited node",
            "UPDATE nodes SET hash = zeroblob(32) WHERE level = 8 AND idx = 0",
        ),
    ];
    for (what, stmt) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = filled(dir.path(), &keys, 300);
        audit(
            &SqliteLogStore::open(&path).unwrap(),
            &keys.verifiers(),
            ORIGIN,
            None,
        )
        .unwrap();
        sql(&path, stmt);
        let got = audit(
            &SqliteLogStore::open(&path).unwrap(),
            &keys.verifiers(),
            ORIGIN,
            None,
        );
        assert!(matches!(got, Err(LogError::Corrupt(_))), "{what}: {got:?}");
    }

    // An entry added after the last checkpoint cannot be told from one made durable
    // just before a crash: the audit reports it as not covered by any signature, and
    // the checkpoint's own entries still verify.
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path(), &keys, 300);
    sql(
        &path,
        "INSERT INTO entries (idx, data) SELECT 300, data FROM entries WHERE idx = 0",
    );
    let report = audit(
        &SqliteLogStore::open(&path).unwrap(),
        &keys.verifiers(),
        ORIGIN,
        None,
    )
    .unwrap();
    assert_eq!((report.checkpoint.size, report.unsigned), (300, 1));

    // A forged checkpoint: right format, signed by someone else.
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path(), &keys, 10);
    let forger = Keys::new();
    let store = SqliteLogStore::open(&path).unwrap();
    let genuine = store.checkpoint().unwrap().unwrap();
    let text = aunsorm_log::SignedNote::parse(&genuine).unwrap().text;
    let s = forger.signers();
    let forged = aunsorm_log::SignedNote {
        signatures: vec![
            s.ed25519.sign(&text).unwrap(),
            s.ml_dsa_44.sign(&text).unwrap(),
        ],
        text,
    }
    .to_bytes();
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute("UPDATE checkpoint SET note = ?1", [&forged])
        .unwrap();
    let got = audit(&store, &keys.verifiers(), ORIGIN, None);
    assert!(matches!(got, Err(LogError::InvalidSignature(_))), "{got:?}");
}

#[test]
fn a_restored_older_log_fails_against_a_later_checkpoint() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let log = open(&path, &keys);
    for i in 0..50 {
        log.append(&op(i)).unwrap();
    }
    drop(log);
    // A file-level backup: the database and its write-ahead log.
    let backup = tempfile::tempdir().unwrap();
    copy_db(dir.path(), backup.path());
    let log = open(&path, &keys);
    for i in 50..80 {
        log.append(&op(i)).unwrap();
    }
    assert_eq!(log.sync().unwrap(), 80);
    let later = log.checkpoint().unwrap();
    drop(log);
    copy_db(backup.path(), dir.path());
    let got = audit(
        &SqliteLogStore::open(&path).unwrap(),
        &keys.verifiers(),
        ORIGIN,
        Some(&later),
    );
    assert!(matches!(got, Err(LogError::Inconsistent(_))), "{got:?}");

    // A log that forked (same keys, different entries) is inconsistent too.
    let dir2 = tempfile::tempdir().unwrap();
    let fork = dir2.path().join("log.db");
    let log = open(&fork, &keys);
    for i in 1000..1090 {
        log.append(&op(i)).unwrap();
    }
    drop(log);
    let got = audit(
        &SqliteLogStore::open(&fork).unwrap(),
        &keys.verifiers(),
        ORIGIN,
        Some(&later),
    );
    assert!(matches!(got, Err(LogError::Inconsistent(_))), "{got:?}");
}

fn copy_db(from: &Path, to: &Path) {
    for name in ["log.db", "log.db-wal"] {
        let _ = std::fs::remove_file(to.join(name));
        if from.join(name).exists() {
            std::fs::copy(from.join(name), to.join(name)).unwrap();
        }
    }
    let _ = std::fs::remove_file(to.join("log.db-shm"));
}

/// `audit_bundles` over the log's own entry bundles, as a remote witness reads them.
fn witness(log: &Log, keys: &Keys, trusted: Option<&[u8]>) -> aunsorm_log::Result<u64> {
    // A checkpoint of everything appended so far, as the server's checkpoint route gives.
    log.sync()?;
    let note = log.checkpoint()?;
    let mut seen = 0;
    let r = aunsorm_log::audit_bundles(
        &note,
        &keys.verifiers(),
        ORIGIN,
        trusted,
        |n, w| tiles::decode_bundle(&log.entry_bundle(n, w)?),
        |i, _| {
            if i == seen {
                seen += 1;
            }
        },
    )?;
    // `each` saw every entry, once, in order.
    Ok(if r.entries == seen { seen } else { u64::MAX })
}

#[test]
fn a_witness_checks_the_log_through_its_entry_bundles() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let path = filled(dir.path(), &keys, 600); // two full bundles and a partial one
    let log = open(&path, &keys);
    let early = log.checkpoint().unwrap();
    log.append(&op(600)).unwrap();
    assert_eq!(witness(&log, &keys, Some(&early)).unwrap(), 601);
    let later = log.checkpoint().unwrap();
    drop(log);

    // An edited entry no longer hashes to the signed root.
    sql(
        &path,
        "UPDATE entries SET data = CAST(replace(CAST(data AS TEXT), 'req-300\"', 'req-301\"') AS BLOB) WHERE idx = 300",
    );
    let log = open(&path, &keys);
    let got = witness(&log, &keys, None);
    assert!(matches!(got, Err(LogError::Corrupt(_))), "{got:?}");
    drop(log);

    // A forked log (same keys, other entries) does not extend the trusted checkpoint,
    // and a shorter one is refused outright.
    let dir2 = tempfile::tempdir().unwrap();
    let log = open(&dir2.path().join("log.db"), &keys);
    for i in 1000..1700 {
        log.append(&op(i)).unwrap();
    }
    let got = witness(&log, &keys, Some(&later));
    assert!(matches!(got, Err(LogError::Inconsistent(_))), "{got:?}");
    let dir3 = tempfile::tempdir().unwrap();
    let short = filled(dir3.path(), &keys, 10);
    let log = open(&short, &keys);
    let got = witness(&log, &keys, Some(&later));
    assert!(matches!(got, Err(LogError::Inconsistent(_))), "{got:?}");

    // Another log's keys: the checkpoint does not verify.
    let got = witness(&log, &Keys::new(), None);
    assert!(matches!(got, Err(LogError::InvalidSignature(_))), "{got:?}");
}
