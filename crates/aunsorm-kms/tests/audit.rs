//! The KMS with its transparency log attached, both on real SQLite files: key
//! lifecycle events, audit entries of operations, and rollback of the key database.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use aunsorm_crypto::Algorithm;
use aunsorm_kms::{
    Caller, Error, KeyConfig, KeyName, KeyOptions, KeyRef, Kms, PassphraseParams, deferred,
    with_caller,
};
use aunsorm_log::{Event, audit};
use aunsorm_store::{LogStore, SqliteLogStore, SqliteStore};
use std::path::Path;
use std::sync::Arc;

const FAST: PassphraseParams = PassphraseParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};
const ORIGIN: &str = "aunsorm.test/audit";

fn name(s: &str) -> KeyName {
    s.parse().unwrap()
}

fn r(s: &str) -> KeyRef {
    s.parse().unwrap()
}

/// A KMS over `dir/aunsorm.db` with its log in `dir/log.db`.
fn open(dir: &Path, init: bool) -> (Kms, Vec<aunsorm_kms::RollbackFinding>) {
    let kms = Kms::new(Arc::new(
        SqliteStore::open(&dir.join("aunsorm.db")).unwrap(),
    ));
    if init {
        kms.init_with_passphrase(b"pw", FAST).unwrap();
    } else {
        kms.unseal_with_passphrase(b"pw").unwrap();
    }
    let log: Arc<dyn LogStore> = Arc::new(SqliteLogStore::open(&dir.join("log.db")).unwrap());
    let findings = kms.open_log(log, ORIGIN).unwrap();
    (kms, findings)
}

fn events(dir: &Path) -> Vec<Event> {
    let s = SqliteLogStore::open(&dir.join("log.db")).unwrap();
    s.entries(0, u64::MAX)
        .unwrap()
        .iter()
        .map(|e| Event::parse(e).unwrap())
        .collect()
}

#[test]
fn lifecycle_and_operations_are_logged_durably_and_verifiably() {
    let dir = tempfile::tempdir().unwrap();
    let (kms, findings) = open(dir.path(), true);
    assert!(findings.is_empty());
    let opts = KeyOptions {
        deletion_allowed: true,
        ..KeyOptions::default()
    };
    kms.create(&name("t/sig"), Algorithm::Ed25519, &opts)
        .unwrap();
    kms.create(&name("t/enc"), Algorithm::Aes256Gcm, &opts)
        .unwrap();
    let sig = with_caller(
        Caller {
            token: Some("tok-1".into()),
            request: Some("req-1".into()),
        },
        || kms.sign(&r("t/sig"), b"message", b"").unwrap(),
    );
    assert!(kms.verify(&r("t/sig"), b"message", &sig, b"").unwrap());
    let ct = kms.encrypt(&r("t/enc"), b"the plaintext", b"aad").unwrap();
    kms.rotate(&name("t/enc")).unwrap();
    kms.decrypt(&name("t/enc"), &ct, b"aad").unwrap();
    assert!(kms.decrypt(&name("t/enc"), &ct, b"wrong").is_err());
    kms.configure(
        &name("t/enc"),
        &KeyConfig {
            min_decryption_version: Some(2),
            ..KeyConfig::default()
        },
    )
    .unwrap();
    kms.destroy_version(&name("t/enc"), 1).unwrap();
    kms.delete(&name("t/sig")).unwrap();

    let ev = events(dir.path());
    let keys: Vec<(String, String, u64)> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Key(k) => Some((k.op.clone(), k.key.clone(), k.generation)),
            Event::Op(_) => None,
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("create".into(), "t/sig".into(), 1),
            ("create".into(), "t/enc".into(), 1),
            ("rotate".into(), "t/enc".into(), 2),
            ("config".into(), "t/enc".into(), 3),
            ("destroy".into(), "t/enc".into(), 4),
            ("delete".into(), "t/sig".into(), 1),
        ]
    );
    // The Ed25519 key's creation publishes its SPKI fingerprint.
    let fp = ev.iter().find_map(|e| match e {
        Event::Key(k) if k.key == "t/sig" && k.op == "create" => k.fingerprint.clone(),
        _ => None,
    });
    assert_eq!(fp.unwrap().len(), 64);
    let ops: Vec<(String, String, String, Option<String>)> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Op(o) => Some((
                o.op.clone(),
                o.key.clone(),
                o.result.clone(),
                o.token.clone(),
            )),
            Event::Key(_) => None,
        })
        .collect();
    let failed = ops_error(&ev);
    let want: Vec<(String, String, String, Option<String>)> = [
        ("sign", "t/sig#v1", "ok", Some("tok-1")),
        ("verify", "t/sig#v1", "ok", None),
        ("encrypt", "t/enc#v1", "ok", None),
        ("decrypt", "t/enc#v1", "ok", None),
        ("decrypt", "t/enc#v1", failed.as_str(), None),
    ]
    .iter()
    .map(|(a, b, c, d)| {
        (
            a.to_string(),
            b.to_string(),
            c.to_string(),
            d.map(str::to_owned),
        )
    })
    .collect();
    assert_eq!(ops, want);
    // Nothing secret or size-revealing is in the log.
    let raw = SqliteLogStore::open(&dir.path().join("log.db"))
        .unwrap()
        .entries(0, u64::MAX)
        .unwrap()
        .concat();
    let text = String::from_utf8(raw).unwrap();
    assert!(!text.contains("the plaintext") && !text.contains("message"));

    // The log verifies against its own keys.
    let verifiers = kms.log_signers(ORIGIN).unwrap().verifiers();
    let store = SqliteLogStore::open(&dir.path().join("log.db")).unwrap();
    let report = audit(&store, &verifiers, ORIGIN, None).unwrap();
    assert_eq!(report.entries, ev.len() as u64);
}

/// The error code the failed decryption was logged with (whatever the crypto layer
/// calls a failed tag check), checked to be an error and not `ok`.
fn ops_error(ev: &[Event]) -> String {
    let codes: Vec<&str> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Op(o) if o.op == "decrypt" => Some(o.result.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(codes.len(), 2);
    assert_ne!(codes[1], "ok");
    codes[1].to_owned()
}

fn copy_db(from: &Path, to: &Path, file: &str) {
    for ext in ["", "-wal"] {
        let name = format!("{file}{ext}");
        let _ = std::fs::remove_file(to.join(&name));
        if from.join(&name).exists() {
            std::fs::copy(from.join(&name), to.join(&name)).unwrap();
        }
    }
    let _ = std::fs::remove_file(to.join(format!("{file}-shm")));
}

#[test]
fn a_restored_key_database_is_caught_as_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    {
        let (kms, _) = open(dir.path(), true);
        kms.create(
            &name("rolled"),
            Algorithm::Aes256Gcm,
            &KeyOptions::default(),
        )
        .unwrap();
        kms.create(&name("steady"), Algorithm::Ed25519, &KeyOptions::default())
            .unwrap();
        kms.seal();
    }
    copy_db(dir.path(), backup.path(), "aunsorm.db");
    {
        let (kms, _) = open(dir.path(), false);
        kms.rotate(&name("rolled")).unwrap();
        kms.seal();
    }
    // The key database (not the log) is restored from the older copy.
    copy_db(backup.path(), dir.path(), "aunsorm.db");
    let (kms, findings) = open(dir.path(), false);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].key, "rolled");
    assert_eq!((findings[0].stored, findings[0].logged), (1, 2));
    let got = kms.encrypt(&r("rolled"), b"x", b"");
    assert!(
        matches!(got, Err(Error::Rollback { ref kid }) if kid == "rolled"),
        "{got:?}"
    );
    assert_eq!(got.unwrap_err().code(), "rollback");
    // Every other key keeps working.
    kms.sign(&r("steady"), b"m", b"").unwrap();
}

#[test]
fn deferred_results_are_released_once_their_entries_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (kms, _) = open(dir.path(), true);
    let kms = Arc::new(kms);
    kms.create(&name("d/sig"), Algorithm::Ed25519, &KeyOptions::default())
        .unwrap();
    let before = kms.log().unwrap().sync().unwrap();
    // Blocking release.
    let caller = |i: usize| Caller {
        token: Some(format!("tok-{i}").into()),
        request: Some(format!("req-{i}").into()),
    };
    let sig = deferred(caller(0), || kms.sign(&r("d/sig"), b"m", b""))
        .wait()
        .unwrap();
    assert!(kms.verify(&r("d/sig"), b"m", &sig, b"").unwrap());
    // Awaited by 64 tasks on two worker threads: each result comes back, and each
    // operation is in the log with its own caller.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (1..=64)
            .map(|i| {
                let kms = Arc::clone(&kms);
                tokio::spawn(async move {
                    deferred(caller(i), || kms.sign(&r("d/sig"), b"m", b"")).await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert!(results.iter().all(Result::is_ok));
    // A failing operation is released with its own error, after its entry.
    let err = rt
        .block_on(deferred(caller(65), || kms.sign(&r("d/none"), b"m", b"")))
        .unwrap_err();
    assert_eq!(err.code(), "no_such_key");
    let log = kms.log().unwrap();
    assert_eq!(log.sync().unwrap(), before + 67); // sign, verify, 64 signs, the failure
    let ev = events(dir.path());
    let mut tokens: Vec<String> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Op(o) if o.op == "sign" && o.result == "ok" => o.token.clone(),
            _ => None,
        })
        .collect();
    tokens.sort();
    let mut want: Vec<String> = (0..=64).map(|i| format!("tok-{i}")).collect();
    want.sort();
    assert_eq!(tokens, want);
    assert!(ev.iter().any(|e| matches!(e,
        Event::Op(o) if o.token.as_deref() == Some("tok-65") && o.result == "no_such_key")));
}
