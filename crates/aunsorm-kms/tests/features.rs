//! Unseal shares, amnesia, policy configuration, rewrap, wrap/unwrap, wrapped import,
//! attestation, batch forms and metrics, on a real SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use aunsorm_crypto::{Algorithm, PrivateKey, SignOptions, envelope};
use aunsorm_kms::{
    ATTESTATION_CONTEXT, Error, KeyConfig, KeyName, KeyOptions, KeyRef, Kms, PassphraseParams,
    RootMode, Versioned, WrappingKeyAlg,
};
use aunsorm_store::{MemoryStore, Namespace, SqliteStore, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FAST: PassphraseParams = PassphraseParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};

fn name(s: &str) -> KeyName {
    s.parse().unwrap()
}

fn r(s: &str) -> KeyRef {
    s.parse().unwrap()
}

fn sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("k.db")).unwrap());
    (dir, store)
}

fn unsealed() -> (tempfile::TempDir, Kms) {
    let (dir, store) = sqlite();
    let kms = Kms::new(store);
    kms.init_with_passphrase(b"pw", FAST).unwrap();
    (dir, kms)
}

#[test]
fn unseal_shares_k_of_n_across_restarts() {
    let (_dir, store) = sqlite();
    let kms = Kms::new(store.clone());
    assert_eq!(kms.status().unwrap().mode, None);
    let shares = kms.init_with_shares(5, 3).unwrap();
    kms.create(&name("k"), Algorithm::Aes256Gcm, &KeyOptions::default())
        .unwrap();
    let ct = kms.encrypt(&r("k"), b"secret", b"").unwrap();
    assert!(matches!(
        kms.init_with_shares(5, 3),
        Err(Error::Conflict(_))
    ));
    kms.seal();
    assert!(matches!(
        kms.encrypt(&r("k"), b"x", b""),
        Err(Error::Sealed)
    ));

    // A restarted process: sealed, in share mode, refuses a passphrase.
    let kms = Kms::new(store.clone());
    let st = kms.status().unwrap();
    assert!(st.initialized && st.sealed);
    assert_eq!(
        st.mode,
        Some(RootMode::Shares {
            threshold: 3,
            shares: 5
        })
    );
    assert!(matches!(
        kms.unseal_with_passphrase(b"pw"),
        Err(Error::InvalidInput { .. })
    ));
    // One at a time, as holders would: a repeated share does not count twice, a
    // malformed one is refused without losing the others.
    let p = kms.submit_unseal_share(shares[4].expose()).unwrap();
    assert_eq!((p.sealed, p.have, p.need), (true, 1, 3));
    let p = kms.submit_unseal_share(shares[4].expose()).unwrap();
    assert_eq!(p.have, 1);
    assert!(kms.submit_unseal_share("aunsorm-share-v1:!!").is_err());
    assert_eq!(kms.submit_unseal_share(shares[1].expose()).unwrap().have, 2);
    assert!(kms.is_sealed());
    let p = kms.submit_unseal_share(shares[2].expose()).unwrap();
    assert!(!p.sealed && !kms.is_sealed());
    assert_eq!(
        kms.decrypt(&name("k"), &ct, b"").unwrap().expose(),
        b"secret"
    );

    // All at once, any three; two are not enough.
    let kms = Kms::new(store);
    let two = [shares[0].expose(), shares[3].expose()];
    assert!(matches!(
        kms.unseal_with_shares(&two),
        Err(Error::InvalidInput { .. })
    ));
    kms.unseal_with_shares(&[shares[0].expose(), shares[3].expose(), shares[2].expose()])
        .unwrap();
    assert_eq!(
        kms.decrypt(&name("k"), &ct, b"").unwrap().expose(),
        b"secret"
    );
}

#[test]
fn amnesia_mode_forgets_everything() {
    let kms = Kms::amnesia(None).unwrap();
    assert_eq!(kms.status().unwrap().mode, Some(RootMode::Amnesia));
    kms.create(&name("k"), Algorithm::Ed25519, &KeyOptions::default())
        .unwrap();
    let s = kms.sign(&r("k"), b"m", b"").unwrap();
    assert!(kms.verify(&r("k"), b"m", &s, b"").unwrap());
    kms.seal();
    assert!(matches!(kms.sign(&r("k"), b"m", b""), Err(Error::Sealed)));
    assert!(matches!(kms.list("", None, 10), Err(Error::Sealed)));

    // With a time limit the KMS seals itself and its keys are gone from the store.
    let kms = Kms::amnesia(Some(Duration::from_millis(150))).unwrap();
    kms.create(&name("t"), Algorithm::Aes256Gcm, &KeyOptions::default())
        .unwrap();
    assert_eq!(kms.list("", None, 10).unwrap(), vec!["t".to_string()]);
    let start = Instant::now();
    while !kms.is_sealed() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(kms.is_sealed(), "the time limit did not seal the KMS");
    assert!(matches!(
        kms.encrypt(&r("t"), b"x", b""),
        Err(Error::Sealed)
    ));
}

#[test]
fn policy_configuration() {
    let (_dir, kms) = unsealed();
    let k = name("cfg");
    kms.create(&k, Algorithm::Aes256Gcm, &KeyOptions::default())
        .unwrap();
    kms.rotate(&k).unwrap();
    kms.rotate(&k).unwrap();
    // Encrypting with a named version is allowed down to the minimums.
    let c1 = kms.encrypt(&r("cfg#v1"), b"one", b"").unwrap();
    assert_eq!(c1.version, 1);
    let cfg = |c: KeyConfig| kms.configure(&k, &c);
    cfg(KeyConfig {
        min_encryption_version: Some(2),
        ..Default::default()
    })
    .unwrap();
    assert!(matches!(
        kms.encrypt(&r("cfg#v1"), b"x", b""),
        Err(Error::PolicyDenied(_))
    ));
    assert_eq!(kms.encrypt(&r("cfg#v2"), b"x", b"").unwrap().version, 2);
    assert_eq!(kms.encrypt(&r("cfg"), b"x", b"").unwrap().version, 3);
    // v1 still decrypts: min_encryption_version does not touch reading.
    assert_eq!(kms.decrypt(&k, &c1, b"").unwrap().expose(), b"one");
    for bad in [
        KeyConfig {
            min_encryption_version: Some(4),
            ..Default::default()
        },
        KeyConfig {
            min_decryption_version: Some(0),
            ..Default::default()
        },
        KeyConfig {
            min_decryption_version: Some(3),
            min_encryption_version: Some(2),
            ..Default::default()
        },
    ] {
        let before = kms.info(&k).unwrap();
        assert!(matches!(cfg(bad), Err(Error::InvalidInput { .. })));
        assert_eq!(
            kms.info(&k).unwrap(),
            before,
            "a refused change changed the key"
        );
    }

    // Export only when exportable, and exportable is one-way.
    assert!(matches!(kms.export(&r("cfg")), Err(Error::PolicyDenied(_))));
    let i = cfg(KeyConfig {
        exportable: Some(true),
        ..Default::default()
    })
    .unwrap();
    assert!(i.policy.exportable);
    assert_eq!(kms.export(&r("cfg#v1")).unwrap().expose().len(), 32);
    assert!(matches!(
        cfg(KeyConfig {
            exportable: Some(false),
            ..Default::default()
        }),
        Err(Error::PolicyDenied(_))
    ));
    let s = name("sig");
    kms.create(
        &s,
        Algorithm::MlDsa44,
        &KeyOptions {
            exportable: true,
            ..Default::default()
        },
    )
    .unwrap();
    let exported = PrivateKey::from_pkcs8_der(kms.export(&r("sig")).unwrap().expose()).unwrap();
    let sig = exported.sign(b"m", &SignOptions::new()).unwrap();
    assert!(
        kms.verify(
            &r("sig"),
            b"m",
            &Versioned {
                version: 1,
                bytes: sig
            },
            b""
        )
        .unwrap()
    );

    // not_after set later: new output refused as expired, reading still works.
    cfg(KeyConfig {
        not_after: Some(1),
        ..Default::default()
    })
    .unwrap();
    assert!(matches!(
        kms.encrypt(&r("cfg"), b"x", b""),
        Err(Error::Expired(_))
    ));
    assert_eq!(kms.decrypt(&k, &c1, b"").unwrap().expose(), b"one");
    cfg(KeyConfig {
        not_after: Some(0),
        ..Default::default()
    })
    .unwrap();
    assert!(kms.encrypt(&r("cfg"), b"x", b"").is_ok());
}

#[test]
fn auto_rotation_rotates_due_keys() {
    let (_dir, kms) = unsealed();
    kms.create(
        &name("auto"),
        Algorithm::Ed25519,
        &KeyOptions {
            auto_rotate_secs: 3600,
            ..Default::default()
        },
    )
    .unwrap();
    kms.create(&name("manual"), Algorithm::Ed25519, &KeyOptions::default())
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(kms.rotate_due(now).unwrap().is_empty());
    assert_eq!(kms.rotate_due(now + 3601).unwrap(), vec![name("auto")]);
    assert_eq!(kms.info(&name("auto")).unwrap().latest_version(), 2);
    // The new version was made now, so the key is not due again within the period.
    assert!(kms.rotate_due(now + 1800).unwrap().is_empty());
    assert_eq!(kms.info(&name("auto")).unwrap().latest_version(), 2);
    assert_eq!(kms.info(&name("manual")).unwrap().latest_version(), 1);
}

#[test]
fn rewrap_moves_ciphertexts_to_the_newest_version() {
    let (_dir, kms) = unsealed();
    let k = name("rw");
    kms.create(&k, Algorithm::ChaCha20Poly1305, &KeyOptions::default())
        .unwrap();
    let old = kms.encrypt(&r("rw"), b"payload", b"aad").unwrap();
    kms.rotate(&k).unwrap();
    kms.rotate(&k).unwrap();
    let new = kms.rewrap(&k, &old, b"aad").unwrap();
    assert_eq!(new.version, 3);
    assert!(kms.rewrap(&k, &old, b"other aad").is_err());
    kms.set_min_decryption_version(&k, 3).unwrap();
    assert!(matches!(
        kms.decrypt(&k, &old, b"aad"),
        Err(Error::PolicyDenied(_))
    ));
    assert!(matches!(
        kms.rewrap(&k, &old, b"aad"),
        Err(Error::PolicyDenied(_))
    ));
    assert_eq!(kms.decrypt(&k, &new, b"aad").unwrap().expose(), b"payload");
}

#[test]
fn wrap_and_unwrap_with_aead_and_kem_keys() {
    let (_dir, kms) = unsealed();
    let secret = [0x5au8; 48];
    for (n, alg) in [
        ("w-aes", Algorithm::Aes256Gcm),
        ("w-mlkem", Algorithm::MlKem768),
        ("w-mlkem1024", Algorithm::MlKem1024),
        ("w-xwing", Algorithm::XWingDraft06),
    ] {
        kms.create(&name(n), alg, &KeyOptions::default()).unwrap();
        let w = kms.wrap(&r(n), &secret, b"label").unwrap();
        assert_eq!(
            kms.unwrap(&name(n), &w, b"label").unwrap().expose(),
            &secret,
            "{alg}"
        );
        assert!(kms.unwrap(&name(n), &w, b"other").is_err(), "{alg}");
        for i in [0, w.bytes.len() / 2, w.bytes.len() - 1] {
            let mut bad = w.clone();
            bad.bytes[i] ^= 1;
            assert!(
                kms.unwrap(&name(n), &bad, b"label").is_err(),
                "{alg} byte {i}"
            );
        }
        let mut short = w.clone();
        short.bytes.truncate(10);
        assert!(kms.unwrap(&name(n), &short, b"label").is_err());
        // Rotation keeps old wraps openable.
        kms.rotate(&name(n)).unwrap();
        assert_eq!(
            kms.unwrap(&name(n), &w, b"label").unwrap().expose(),
            &secret
        );
    }
    // Wrapping is not encryption: decrypt cannot open a wrap, unwrap cannot open a
    // ciphertext.
    let w = kms.wrap(&r("w-aes"), b"s", b"").unwrap();
    assert!(kms.decrypt(&name("w-aes"), &w, b"").is_err());
    let c = kms.encrypt(&r("w-aes"), b"s", b"").unwrap();
    assert!(kms.unwrap(&name("w-aes"), &c, b"").is_err());
    kms.create(&name("w-sig"), Algorithm::Ed25519, &KeyOptions::default())
        .unwrap();
    assert!(matches!(
        kms.wrap(&r("w-sig"), b"s", b""),
        Err(Error::PolicyDenied(_))
    ));
    assert!(matches!(
        kms.wrap(&r("w-aes"), b"", b""),
        Err(Error::InvalidInput { .. })
    ));
}

#[test]
fn wrapped_import_with_ml_kem_and_rsa_wrapping_keys() {
    let (_dir, kms) = unsealed();
    // ML-KEM-768: the caller seals the PKCS#8 file to the wrapping key.
    let wk = kms.wrapping_key(WrappingKeyAlg::MlKem768).unwrap();
    assert_eq!(wk.algorithm(), Algorithm::MlKem768);
    let key = PrivateKey::generate(Algorithm::MlDsa65).unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    let blob = envelope::seal_to_vec(&wk, Algorithm::Aes256Gcm, 16, pem.as_bytes()).unwrap();
    let info = kms
        .import_wrapped(&name("imp-mldsa"), None, &blob, &KeyOptions::default())
        .unwrap();
    assert_eq!(info.versions[0].public_key, key.public_key().to_raw());
    // The wrong algorithm named, or a modified blob: refused, nothing stored.
    assert!(
        kms.import_wrapped(
            &name("x1"),
            Some(Algorithm::Ed25519),
            &blob,
            &KeyOptions::default()
        )
        .is_err()
    );
    let mut bad = blob.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(
        kms.import_wrapped(&name("x2"), None, &bad, &KeyOptions::default())
            .is_err()
    );
    assert!(kms.list("x", None, 10).unwrap().is_empty());

    // RSA-4096, Vault's format: RSA-OAEP-SHA256(ephemeral AES key) || AES-KWP(material).
    let rsa = kms.wrapping_key(WrappingKeyAlg::Rsa4096).unwrap();
    assert_eq!(
        kms.wrapping_key(WrappingKeyAlg::Rsa4096).unwrap().to_raw(),
        rsa.to_raw(),
        "the wrapping key is made once"
    );
    let aes = [0x11u8; 32];
    let material = [0x42u8; 32];
    let mut blob = rsa.rsa_oaep_encrypt(&aes, b"").unwrap();
    blob.extend(aunsorm_crypto::aes256_kwp_wrap(&aes, &material).unwrap());
    kms.import_wrapped(
        &name("imp-aes"),
        Some(Algorithm::Aes256Gcm),
        &blob,
        &KeyOptions::default(),
    )
    .unwrap();
    let c = kms.encrypt(&r("imp-aes"), b"m", b"").unwrap();
    let raw = aunsorm_crypto::AeadKey::new(Algorithm::Aes256Gcm, &material).unwrap();
    assert_eq!(raw.decrypt(b"", &c.bytes).unwrap().expose(), b"m");
    // Reserved names are refused.
    assert!(matches!(
        kms.create(
            &name("aunsorm/attestation"),
            Algorithm::Ed25519,
            &KeyOptions::default()
        ),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        kms.info(&name("aunsorm/wrapping-rsa-4096")),
        Err(Error::NoSuchKey(_))
    ));
}

#[test]
fn attestation_is_signed_and_checkable() {
    let (_dir, store) = sqlite();
    let kms = Kms::new(store.clone());
    kms.init_with_passphrase(b"pw", FAST).unwrap();
    kms.create(&name("att"), Algorithm::EcdsaP256, &KeyOptions::default())
        .unwrap();
    let a = kms.attest(&r("att")).unwrap();
    let trusted = kms.attestation_key().unwrap();
    a.verify(&trusted).unwrap();
    let pk = kms.public_key(&r("att")).unwrap();
    let fp: String = pk
        .fingerprint()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        a.statement
            .starts_with("aunsorm key attestation v1\nkey: att\nversion: 1\n")
    );
    assert!(a.statement.contains(&format!("public-key-sha256: {fp}\n")));
    assert!(a.statement.contains("algorithm: ecdsa-p256\n"));
    assert!(a.statement.contains("exportable: false\n"));
    // Any change to the statement breaks the signature.
    let mut forged = a.clone();
    forged.statement = forged
        .statement
        .replace("exportable: false", "exportable: true");
    assert!(forged.verify(&trusted).is_err());
    // Checked with the plain ML-DSA-65 public key and the documented context.
    trusted
        .verify(
            a.statement.as_bytes(),
            &a.signature,
            &SignOptions::new().context(ATTESTATION_CONTEXT),
        )
        .unwrap();
    // The attestation key survives a restart.
    let again = Kms::new(store);
    again.unseal_with_passphrase(b"pw").unwrap();
    assert_eq!(again.attestation_key().unwrap().to_raw(), trusted.to_raw());
    // Symmetric keys get a key check value instead of a fingerprint.
    kms.create(&name("sym"), Algorithm::Aes256Gcm, &KeyOptions::default())
        .unwrap();
    assert!(
        kms.attest(&r("sym"))
            .unwrap()
            .statement
            .contains("key-check-value: hmac-sha256:")
    );
    assert!(matches!(kms.attest(&r("att#v9")), Err(Error::NoSuchKey(_))));
}

#[test]
fn batch_items_fail_alone() {
    let (_dir, kms) = unsealed();
    kms.create(&name("b"), Algorithm::Aes256Gcm, &KeyOptions::default())
        .unwrap();
    let out = kms.encrypt_batch(&r("b"), &[(b"one", b""), (b"two", b"x")]);
    let cts: Vec<Versioned> = out.into_iter().map(Result::unwrap).collect();
    let mut bad = cts[0].clone();
    bad.bytes[0] ^= 1;
    let res = kms.decrypt_batch(&name("b"), &[(&cts[0], b""), (&bad, b""), (&cts[1], b"x")]);
    assert_eq!(res[0].as_ref().unwrap().expose(), b"one");
    assert!(res[1].is_err());
    assert_eq!(res[2].as_ref().unwrap().expose(), b"two");

    kms.create(&name("s"), Algorithm::MlDsa44, &KeyOptions::default())
        .unwrap();
    let sigs: Vec<Versioned> = kms
        .sign_batch(&r("s"), &[b"a", b"b"], b"ctx")
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let v = kms.verify_batch(
        &r("s"),
        &[(b"a", &sigs[0]), (b"a", &sigs[1]), (b"b", &sigs[1])],
        b"ctx",
    );
    assert_eq!(
        v.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        vec![true, false, true]
    );
}

#[test]
fn metrics_count_operations_failures_and_keys() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let kms = Kms::new(Arc::new(MemoryStore::new()));
        kms.init_with_passphrase(b"pw", FAST).unwrap();
        kms.create(&name("m1"), Algorithm::Aes256Gcm, &KeyOptions::default())
            .unwrap();
        kms.create(&name("m2"), Algorithm::XWingDraft06, &KeyOptions::default())
            .unwrap();
        for _ in 0..3 {
            kms.encrypt(&r("m1"), b"x", b"").unwrap();
        }
        assert!(kms.encrypt(&r("nope"), b"x", b"").is_err());
        assert!(kms.encrypt(&r("m2"), b"x", b"").is_err());
    });
    let snap = snapshotter.snapshot().into_vec();
    let find = |metric: &str, labels: &[(&str, &str)]| {
        snap.iter()
            .find(|(k, ..)| {
                k.key().name() == metric
                    && labels
                        .iter()
                        .all(|(n, v)| k.key().labels().any(|l| l.key() == *n && l.value() == *v))
            })
            .map(|(_, _, _, v)| v)
    };
    assert!(matches!(
        find("kms_ops_total", &[("op", "encrypt")]),
        Some(DebugValue::Counter(5))
    ));
    assert!(matches!(
        find(
            "kms_failures_total",
            &[("op", "encrypt"), ("kind", "no_such_key")]
        ),
        Some(DebugValue::Counter(1))
    ));
    assert!(matches!(
        find(
            "kms_failures_total",
            &[("op", "encrypt"), ("kind", "policy_denied")]
        ),
        Some(DebugValue::Counter(1))
    ));
    match find("kms_op_latency_seconds", &[("op", "encrypt")]) {
        Some(DebugValue::Histogram(h)) => assert_eq!(h.len(), 5),
        other => panic!("no latency histogram: {other:?}"),
    }
    let gauge = |alg, hybrid| match find("kms_keys_total", &[("alg", alg), ("hybrid", hybrid)]) {
        Some(DebugValue::Gauge(g)) => g.into_inner(),
        other => panic!("no gauge for {alg}: {other:?}"),
    };
    assert_eq!(gauge("aes-256-gcm", "false"), 1.0);
    assert_eq!(gauge("x-wing", "true"), 1.0);
}

#[test]
fn stored_system_keys_live_apart_from_user_keys() {
    let (_dir, store) = sqlite();
    let kms = Kms::new(store.clone());
    kms.init_with_passphrase(b"pw", FAST).unwrap();
    kms.attestation_key().unwrap();
    assert!(kms.list("", None, 100).unwrap().is_empty());
    assert!(
        store
            .get(Namespace::Meta, "aunsorm/attestation")
            .unwrap()
            .is_some()
    );
}
