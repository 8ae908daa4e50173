#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! The custody core over a real SQLite file: lifecycle, rotation without loss,
//! tampering, bad input.

use aunsorm_crypto::Algorithm;
use aunsorm_kms::{
    Error, KeyName, KeyOptions, KeyRef, Kms, PassphraseParams, VersionState, Versioned,
};
use aunsorm_store::{Namespace, SqliteStore, Store};
use proptest::prelude::*;
use std::sync::Arc;

const FAST: PassphraseParams = PassphraseParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};

fn open(path: &std::path::Path) -> (Arc<SqliteStore>, Kms) {
    let store = Arc::new(SqliteStore::open(path).unwrap());
    let kms = Kms::new(store.clone());
    (store, kms)
}

fn r(n: &KeyName) -> KeyRef {
    KeyRef::from(n.clone())
}

fn name(s: &str) -> KeyName {
    s.parse().unwrap()
}

#[test]
fn lifecycle_restart_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kms.db");
    let (store, kms) = open(&db);
    assert!(kms.is_sealed());
    assert!(matches!(
        kms.create(&name("k"), Algorithm::Aes256Gcm, &KeyOptions::default()),
        Err(Error::Sealed)
    ));
    assert!(matches!(
        kms.unseal_with_passphrase(b"pw"),
        Err(Error::NoSuchKey(_))
    ));
    kms.init_with_passphrase(b"pw", FAST).unwrap();
    assert!(matches!(
        kms.init_with_passphrase(b"pw", FAST),
        Err(Error::Conflict(_))
    ));

    let enc = name("acme/data");
    kms.create(&enc, Algorithm::Aes256Gcm, &KeyOptions::default())
        .unwrap();
    assert!(matches!(
        kms.create(&enc, Algorithm::Aes256Gcm, &KeyOptions::default()),
        Err(Error::Conflict(_))
    ));
    let c1 = kms.encrypt(&r(&enc), b"one", b"ctx").unwrap();
    assert!(c1.to_string().starts_with("aunsorm:v1:"));
    assert_eq!(kms.rotate(&enc).unwrap(), 2);
    let c2 = kms.encrypt(&r(&enc), b"two", b"").unwrap();
    assert!(c2.to_string().starts_with("aunsorm:v2:"));
    assert_eq!(kms.decrypt(&enc, &c1, b"ctx").unwrap().expose(), b"one");
    assert!(matches!(
        kms.decrypt(&enc, &c1, b"other"),
        Err(Error::Crypto(aunsorm_crypto::Error::DecryptionFailed))
    ));

    let sig = name("acme/sig");
    kms.create(&sig, Algorithm::MlDsa65, &KeyOptions::default())
        .unwrap();
    let s1 = kms.sign(&r(&sig), b"msg", b"app").unwrap();
    kms.rotate(&sig).unwrap();
    assert!(
        kms.verify(&"acme/sig".parse().unwrap(), b"msg", &s1, b"app")
            .unwrap()
    );
    assert!(
        !kms.verify(&"acme/sig".parse().unwrap(), b"msG", &s1, b"app")
            .unwrap()
    );
    assert!(matches!(
        kms.verify(&"acme/sig#v2".parse().unwrap(), b"msg", &s1, b"app"),
        Err(Error::InvalidInput { .. })
    ));

    // Bad input: typed errors, and nothing in the store changes.
    let before = store.get(Namespace::Keys, "acme/data").unwrap().unwrap();
    assert!(matches!(
        "vault:v1:AAAA".parse::<Versioned>(),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        "aunsorm:v01:AAAA".parse::<Versioned>(),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        "aunsorm:v1:***".parse::<Versioned>(),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        kms.decrypt(&enc, &"aunsorm:v9:AAAA".parse().unwrap(), b""),
        Err(Error::NoSuchKey(_))
    ));
    assert!(matches!(
        kms.sign(&r(&enc), b"m", b""),
        Err(Error::PolicyDenied(_))
    ));
    assert!(matches!(
        kms.encrypt(&r(&sig), b"m", b""),
        Err(Error::PolicyDenied(_))
    ));
    assert!(matches!(
        kms.encrypt(&r(&name("nope")), b"m", b""),
        Err(Error::NoSuchKey(_))
    ));
    assert!("bad name!".parse::<KeyName>().is_err());
    assert!(matches!(
        kms.set_min_decryption_version(&enc, 3),
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        kms.destroy_version(&enc, 2),
        Err(Error::PolicyDenied(_))
    ));
    assert_eq!(
        store.get(Namespace::Keys, "acme/data").unwrap().unwrap(),
        before
    );

    // HMAC, data keys, KEM.
    let mac = name("acme/mac");
    kms.create(&mac, Algorithm::HmacSha256, &KeyOptions::default())
        .unwrap();
    let t = kms.hmac(&r(&mac), b"m").unwrap();
    assert!(kms.verify_hmac(&mac, b"m", &t).unwrap());
    assert!(!kms.verify_hmac(&mac, b"M", &t).unwrap());
    let (dk, wrapped) = kms.datakey(&r(&enc), 32, b"file-1").unwrap();
    assert_eq!(kms.decrypt(&enc, &wrapped, b"file-1").unwrap(), dk);
    for alg in [Algorithm::MlKem768, Algorithm::XWingDraft06] {
        let kem = name(&format!("acme/{}", alg.id()));
        kms.create(&kem, alg, &KeyOptions::default()).unwrap();
        let (ss, ct) = kms.encapsulate(&r(&kem)).unwrap();
        kms.rotate(&kem).unwrap();
        assert_eq!(kms.decapsulate(&kem, &ct).unwrap(), ss);
    }
    assert_eq!(kms.list("acme/", None, 10).unwrap().len(), 5);
    assert_eq!(
        kms.list("acme/", Some("acme/mac"), 10).unwrap(),
        ["acme/ml-kem-768", "acme/sig", "acme/x-wing"]
    );

    // Import and delete.
    let imported = aunsorm_crypto::PrivateKey::generate(Algorithm::EcdsaP256).unwrap();
    let pem = imported.to_pkcs8_pem().unwrap();
    let imp = name("acme/imported");
    let info = kms
        .import_private_key(&imp, pem.as_bytes(), &KeyOptions::default())
        .unwrap();
    assert_eq!(info.versions[0].public_key, imported.public_key().to_raw());
    let s = kms.sign(&r(&imp), b"m", b"").unwrap();
    imported
        .public_key()
        .verify(b"m", &s.bytes, &aunsorm_crypto::SignOptions::new())
        .unwrap();
    assert!(matches!(
        kms.import_private_key(&imp, pem.as_bytes(), &KeyOptions::default()),
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        kms.import_private_key(&name("x"), b"junk", &KeyOptions::default()),
        Err(Error::Crypto(_))
    ));
    let sym = name("acme/sym");
    kms.import_symmetric(
        &sym,
        Algorithm::ChaCha20Poly1305,
        &[9u8; 32],
        &KeyOptions::default(),
    )
    .unwrap();
    let c = kms.encrypt(&r(&sym), b"p", b"").unwrap();
    let raw = aunsorm_crypto::AeadKey::new(Algorithm::ChaCha20Poly1305, &[9u8; 32]).unwrap();
    assert_eq!(raw.decrypt(b"", &c.bytes).unwrap().expose(), b"p");
    assert!(
        kms.import_symmetric(
            &name("y"),
            Algorithm::Aes256Gcm,
            &[1u8; 16],
            &KeyOptions::default()
        )
        .is_err()
    );
    assert!(
        kms.import_symmetric(
            &name("y"),
            Algorithm::Ed25519,
            &[1u8; 32],
            &KeyOptions::default()
        )
        .is_err()
    );
    assert!(matches!(kms.delete(&sym), Err(Error::PolicyDenied(_))));
    kms.set_deletion_allowed(&sym, true).unwrap();
    kms.delete(&sym).unwrap();
    assert!(matches!(
        kms.encrypt(&r(&sym), b"p", b""),
        Err(Error::NoSuchKey(_))
    ));
    assert!(matches!(kms.delete(&sym), Err(Error::NoSuchKey(_))));

    // An expired key refuses new encryptions.
    kms.create(
        &name("old"),
        Algorithm::Aes256Gcm,
        &KeyOptions {
            not_after: Some(1),
            ..KeyOptions::default()
        },
    )
    .unwrap();
    assert!(matches!(
        kms.encrypt(&r(&name("old")), b"m", b""),
        Err(Error::Expired(_))
    ));

    // Restart: a new process sees a sealed KMS, a wrong passphrase is refused.
    drop(kms);
    let (_store, kms) = open(&db);
    assert!(matches!(kms.decrypt(&enc, &c1, b"ctx"), Err(Error::Sealed)));
    assert!(matches!(
        kms.unseal_with_passphrase(b"wrong"),
        Err(Error::Unauthorized)
    ));
    kms.unseal_with_passphrase(b"pw").unwrap();
    assert_eq!(kms.decrypt(&enc, &c2, b"").unwrap().expose(), b"two");

    // min_decryption_version and destroy.
    kms.set_min_decryption_version(&enc, 2).unwrap();
    assert!(matches!(
        kms.decrypt(&enc, &c1, b"ctx"),
        Err(Error::PolicyDenied(_))
    ));
    kms.set_min_decryption_version(&enc, 1).unwrap();
    assert_eq!(kms.decrypt(&enc, &c1, b"ctx").unwrap().expose(), b"one");
    kms.destroy_version(&enc, 1).unwrap();
    assert!(matches!(
        kms.decrypt(&enc, &c1, b"ctx"),
        Err(Error::PolicyDenied(_))
    ));
    let info = kms.info(&enc).unwrap();
    assert_eq!(info.versions[0].state, VersionState::Destroyed);
    // Hot keys stay unsealed in the cache until the KMS is sealed.
    assert!(kms.cached_keys() > 0);
    kms.seal();
    assert_eq!(kms.cached_keys(), 0);
    assert!(matches!(kms.info(&enc), Err(Error::Sealed)));
}

#[test]
fn any_flipped_bit_or_truncation_of_a_record_is_sealed_corrupt_and_local() {
    let dir = tempfile::tempdir().unwrap();
    let (store, kms) = open(&dir.path().join("kms.db"));
    kms.init_with_passphrase(b"pw", FAST).unwrap();
    let (a, b) = (name("a"), name("b"));
    kms.create(&a, Algorithm::Ed25519, &KeyOptions::default())
        .unwrap();
    kms.create(&b, Algorithm::ChaCha20Poly1305, &KeyOptions::default())
        .unwrap();
    let good = store.get(Namespace::Keys, "a").unwrap().unwrap();
    let mut generation = good.generation;
    let mut variants: Vec<Vec<u8>> = vec![];
    for i in 0..good.value.len() {
        for bit in [0u8, 3, 7] {
            let mut v = good.value.clone();
            v[i] ^= 1 << bit;
            variants.push(v);
        }
    }
    for n in (0..good.value.len()).step_by(7) {
        variants.push(good.value[..n].to_vec());
    }
    // Each check runs as a fresh process would: a new Kms over the same file (the cache
    // of a running Kms belongs to the process that owns the store).
    let fresh = || {
        let k = Kms::new(store.clone());
        k.unseal_with_passphrase(b"pw").unwrap();
        k
    };
    for v in variants {
        generation = store
            .put(Namespace::Keys, "a", Some(generation), &v)
            .unwrap();
        let got = fresh().sign(&r(&a), b"m", b"");
        assert!(
            matches!(got, Err(Error::SealedCorrupt { ref kid }) if kid == "a"),
            "{got:?}"
        );
        let c = kms.encrypt(&r(&b), b"still fine", b"").unwrap();
        assert_eq!(kms.decrypt(&b, &c, b"").unwrap().expose(), b"still fine");
    }
    // The good bytes at a later generation are refused too: a record must carry the
    // generation it is stored at (a copied-back old record is caught).
    store
        .put(Namespace::Keys, "a", Some(generation), &good.value)
        .unwrap();
    assert!(matches!(
        fresh().sign(&r(&a), b"m", b""),
        Err(Error::SealedCorrupt { .. })
    ));
}

#[derive(Debug, Clone)]
enum Op {
    Encrypt(u8),
    Sign(u8),
    Rotate,
    SetMin(u8),
    Destroy(u8),
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u8>().prop_map(Op::Encrypt),
        4 => any::<u8>().prop_map(Op::Sign),
        3 => Just(Op::Rotate),
        1 => any::<u8>().prop_map(Op::SetMin),
        1 => any::<u8>().prop_map(Op::Destroy),
        1 => Just(Op::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// After any sequence of rotations, policy changes and restarts, every earlier
    /// ciphertext and signature still decrypts/verifies unless its version is below
    /// min_decryption_version or destroyed, and then fails with policy_denied.
    #[test]
    fn rotate_without_loss(ops in proptest::collection::vec(op(), 1..24)) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("kms.db");
        let (_s, mut kms) = open(&db);
        kms.init_with_passphrase(b"pw", FAST).unwrap();
        let (enc, sig) = (name("e"), name("s"));
        kms.create(&enc, Algorithm::Aes256Gcm, &KeyOptions::default()).unwrap();
        kms.create(&sig, Algorithm::Ed25519, &KeyOptions::default()).unwrap();
        let mut newest = 1u32; // both keys rotate together
        let mut min = 1u32;
        let mut destroyed = std::collections::HashSet::new();
        let mut made: Vec<(bool, u32, Vec<u8>, Versioned)> = vec![]; // (is_sig, version, msg, output)
        for op in ops {
            match op {
                Op::Encrypt(b) => made.push((false, newest, vec![b], kms.encrypt(&r(&enc), &[b], b"aad").unwrap())),
                Op::Sign(b) => made.push((true, newest, vec![b], kms.sign(&r(&sig), &[b], b"").unwrap())),
                Op::Rotate => {
                    prop_assert_eq!(kms.rotate(&enc).unwrap(), newest + 1);
                    prop_assert_eq!(kms.rotate(&sig).unwrap(), newest + 1);
                    newest += 1;
                }
                Op::SetMin(x) => {
                    let m = 1 + u32::from(x) % newest;
                    kms.set_min_decryption_version(&enc, m).unwrap();
                    kms.set_min_decryption_version(&sig, m).unwrap();
                    min = m;
                }
                Op::Destroy(x) => {
                    let v = 1 + u32::from(x) % newest;
                    if v < newest {
                        kms.destroy_version(&enc, v).unwrap();
                        kms.destroy_version(&sig, v).unwrap();
                        destroyed.insert(v);
                    }
                }
                Op::Restart => {
                    drop(kms);
                    let (_s2, k2) = open(&db);
                    k2.unseal_with_passphrase(b"pw").unwrap();
                    kms = k2;
                }
            }
            for (is_sig, v, msg, out) in &made {
                let allowed = *v >= min && !destroyed.contains(v);
                if *is_sig {
                    let r = kms.verify(&"s".parse().unwrap(), msg, out, b"");
                    if allowed { prop_assert!(r.unwrap()); } else { prop_assert!(matches!(r, Err(Error::PolicyDenied(_)))); }
                } else {
                    let r = kms.decrypt(&enc, out, b"aad");
                    if allowed { let pt = r.unwrap();
                        prop_assert_eq!(pt.expose(), &msg[..]); } else { prop_assert!(matches!(r, Err(Error::PolicyDenied(_)))); }
                }
            }
        }
    }
}
