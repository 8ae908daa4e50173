#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    missing_docs
)] // tests may unwrap
//! Every case of the Wycheproof files in tests/vectors/wycheproof (see the README there),
//! counted: valid cases must pass, invalid ones must be rejected.

mod common;
use aunsorm_crypto::*;
use common::*;

fn wp(file: &str) -> Vec<(serde_json::Value, serde_json::Value)> {
    tests_of(&load(&format!("wycheproof/{file}.json.gz")))
}

fn aead(file: &str, alg: Algorithm) -> Tally {
    let cases = wp(file);
    let mut t = Tally::new(file, cases.len());
    for (g, c) in &cases {
        let (key, iv, aad, msg, ct, tag) = (
            hs(c, "key"),
            hs(c, "iv"),
            hs(c, "aad"),
            hs(c, "msg"),
            hs(c, "ct"),
            hs(c, "tag"),
        );
        let supported =
            g["keySize"] == 256 && g["tagSize"] == 128 && iv.len() == aead_nonce_len(alg);
        if !supported {
            // Aunsorm offers only 256-bit keys, the algorithm's standard nonce and
            // 128-bit tags: anything else must be refused with a typed error.
            let r = AeadKey::new(alg, &key).and_then(|k| k.seal(&iv, &aad, &msg));
            let refused = matches!(r, Err(Error::InvalidLength { .. }));
            let open_refused = AeadKey::new(alg, &key)
                .and_then(|k| {
                    let mut b = [ct.clone(), tag.clone()].concat();
                    k.open_in_place(&iv, &aad, &mut b).map(|_| b)
                })
                .map(|pt| pt != msg || tag.len() != 16)
                .unwrap_or(true);
            assert!(
                refused || tag.len() != 16,
                "{file} tcId {}: unsupported parameters accepted",
                c["tcId"]
            );
            assert!(open_refused, "{file} tcId {}", c["tcId"]);
            t.unsupported("key, nonce or tag size Aunsorm does not offer");
            continue;
        }
        let k = AeadKey::new(alg, &key).unwrap();
        let opened = k.open(&iv, &aad, &[ct.clone(), tag.clone()].concat());
        let ok = match &opened {
            Ok(pt) => {
                pt.expose() == &msg[..] && k.seal(&iv, &aad, &msg).unwrap() == [ct, tag].concat()
            }
            Err(e) => {
                assert_eq!(*e, Error::DecryptionFailed);
                false
            }
        };
        wycheproof_outcome(&mut t, s(c, "result"), ok, &c["tcId"]);
    }
    t.finish()
}

#[test]
fn aes_256_gcm() {
    let t = aead("aes_gcm_test", Algorithm::Aes256Gcm);
    assert!(t.valid_passed >= 30);
}

#[test]
fn chacha20_poly1305() {
    aead("chacha20_poly1305_test", Algorithm::ChaCha20Poly1305);
}

#[test]
fn xchacha20_poly1305() {
    aead("xchacha20_poly1305_test", Algorithm::XChaCha20Poly1305);
}

fn verify_file(file: &str, opts: SignOptions<'_>, expect_alg: &[Algorithm]) -> Tally {
    let cases = wp(file);
    let mut t = Tally::new(file, cases.len());
    for (g, c) in &cases {
        let key = PublicKey::from_spki_der(&hs(g, "publicKeyDer"));
        let ok = match &key {
            Ok(k) => {
                assert!(expect_alg.contains(&k.algorithm()));
                let r = k.verify(&hs(c, "msg"), &hs(c, "sig"), &opts);
                if let Err(e) = &r {
                    assert_eq!(*e, Error::BadSignature, "{file} tcId {}", c["tcId"]);
                }
                r.is_ok()
            }
            Err(_) => false,
        };
        wycheproof_outcome(&mut t, s(c, "result"), ok, &c["tcId"]);
    }
    t.finish()
}

#[test]
fn ed25519() {
    verify_file("ed25519_test", SignOptions::new(), &[Algorithm::Ed25519]);
}

#[test]
fn ecdsa_p256_der() {
    verify_file(
        "ecdsa_secp256r1_sha256_test",
        SignOptions::new(),
        &[Algorithm::EcdsaP256],
    );
}

#[test]
fn ecdsa_p256_p1363() {
    verify_file(
        "ecdsa_secp256r1_sha256_p1363_test",
        SignOptions::new().ecdsa_format(EcdsaFormat::Fixed),
        &[Algorithm::EcdsaP256],
    );
}

#[test]
fn ecdsa_p384_der() {
    verify_file(
        "ecdsa_secp384r1_sha384_test",
        SignOptions::new(),
        &[Algorithm::EcdsaP384],
    );
}

#[test]
fn rsa_pss_2048() {
    verify_file(
        "rsa_pss_2048_sha256_mgf1_32_test",
        SignOptions::new(),
        &[Algorithm::Rsa2048],
    );
}

#[test]
fn rsa_pkcs1_2048() {
    verify_file(
        "rsa_signature_2048_sha256_test",
        SignOptions::new().rsa_padding(RsaPadding::Pkcs1v15),
        &[Algorithm::Rsa2048],
    );
}

/// Runs `ok` on every case of a file and checks each outcome against its `result`.
fn each_case(file: &str, mut ok: impl FnMut(&serde_json::Value, &serde_json::Value) -> bool) {
    let cases = wp(file);
    let mut t = Tally::new(file, cases.len());
    for (g, c) in &cases {
        let passed = ok(g, c);
        wycheproof_outcome(&mut t, s(c, "result"), passed, &c["tcId"]);
    }
    t.finish();
}

#[test]
fn rsa_oaep_2048() {
    each_case("rsa_oaep_2048_sha256_mgf1sha256_test", |g, c| {
        let key = PrivateKey::from_pkcs8_der(&hs(g, "privateKeyPkcs8")).unwrap();
        assert_eq!(key.algorithm(), Algorithm::Rsa2048);
        let r = key.rsa_oaep_decrypt(&hs(c, "ct"), &hs(c, "label"));
        if let Err(e) = &r {
            assert_eq!(*e, Error::DecryptionFailed);
        }
        matches!(&r, Ok(pt) if pt.expose() == &hs(c, "msg")[..])
    });
}

#[test]
fn x25519() {
    each_case("x25519_test", |_, c| {
        let sk = PrivateKey::from_seed(Algorithm::X25519, &hs(c, "private")).unwrap();
        match PublicKey::from_raw(Algorithm::X25519, &hs(c, "public")) {
            Ok(pk) => matches!(sk.agree(&pk), Ok(ss) if ss.expose() == &hs(c, "shared")[..]),
            Err(_) => false,
        }
    });
}

#[test]
fn hkdf_sha256() {
    each_case("hkdf_sha256_test", |_, c| {
        let size = usize::try_from(c["size"].as_u64().unwrap()).unwrap();
        let r = aunsorm_crypto::hkdf_sha256(&hs(c, "ikm"), &hs(c, "salt"), &hs(c, "info"), size);
        matches!(&r, Ok(okm) if okm.expose() == &hs(c, "okm")[..])
    });
}

#[test]
fn hmac_sha256() {
    each_case("hmac_sha256_test", |g, c| {
        let tag_len = usize::try_from(g["tagSize"].as_u64().unwrap() / 8).unwrap();
        let k = HmacKey::new(&hs(c, "key"));
        let want = hs(c, "tag");
        let full = k.sign(&hs(c, "msg"));
        // Truncated tags (RFC 2104 section 5) are compared on the leftmost bytes.
        let ok = want.len() == tag_len && full[..tag_len] == want[..];
        if tag_len == HMAC_SHA256_LEN {
            assert_eq!(k.verify(&hs(c, "msg"), &want).is_ok(), ok);
        }
        ok
    });
}

const ML_KEM: [(&str, Algorithm); 3] = [
    ("512", Algorithm::MlKem512),
    ("768", Algorithm::MlKem768),
    ("1024", Algorithm::MlKem1024),
];

#[test]
fn ml_kem_decaps_from_seed() {
    for (n, alg) in ML_KEM {
        each_case(&format!("mlkem_{n}_test"), |_, c| {
            let Ok(k) = PrivateKey::from_seed(alg, &hs(c, "seed")) else {
                return false;
            };
            k.public_key().to_raw() == hs(c, "ek")
                && matches!(k.decapsulate(&hs(c, "c")), Ok(ss) if ss.expose() == &hs(c, "K")[..])
        });
    }
}

#[test]
fn ml_kem_keygen_from_seed() {
    for (n, alg) in ML_KEM {
        each_case(
            &format!("mlkem_{n}_keygen_seed_test"),
            |_, c| match PrivateKey::from_seed(alg, &hs(c, "seed")) {
                Ok(k) => {
                    k.public_key().to_raw() == hs(c, "ek")
                        && k.expanded().unwrap().expose() == &hs(c, "dk")[..]
                }
                Err(_) => false,
            },
        );
    }
}

#[test]
fn ml_kem_encaps() {
    for (n, alg) in ML_KEM {
        each_case(
            &format!("mlkem_{n}_encaps_test"),
            |_, c| match PublicKey::from_raw(alg, &hs(c, "ek")) {
                Ok(pk) => {
                    let (ct, ss) = pk.encapsulate_derand(&hs(c, "m")).unwrap();
                    ct == hs(c, "c") && ss.expose() == &hs(c, "K")[..]
                }
                Err(e) => {
                    assert!(matches!(
                        e,
                        Error::InvalidInput { .. } | Error::InvalidLength { .. }
                    ));
                    false
                }
            },
        );
    }
}

#[test]
fn ml_kem_semi_expanded_decaps() {
    for (n, alg) in ML_KEM {
        each_case(&format!("mlkem_{n}_semi_expanded_decaps_test"), |_, c| {
            match PrivateKey::from_expanded(alg, &hs(c, "dk"), None) {
                Ok(k) => {
                    matches!(k.decapsulate(&hs(c, "c")), Ok(ss) if ss.expose() == &hs(c, "K")[..])
                }
                Err(_) => false,
            }
        });
    }
}

const ML_DSA: [(&str, Algorithm); 3] = [
    ("44", Algorithm::MlDsa44),
    ("65", Algorithm::MlDsa65),
    ("87", Algorithm::MlDsa87),
];

#[test]
fn ml_dsa_verify() {
    for (n, alg) in ML_DSA {
        each_case(
            &format!("mldsa_{n}_verify_test"),
            |g, c| match PublicKey::from_spki_der(&hs(g, "publicKeyDer")) {
                Ok(pk) => {
                    assert_eq!(pk.algorithm(), alg);
                    assert_eq!(pk.to_raw(), hs(g, "publicKey"));
                    let ctx = if c["ctx"].is_null() {
                        vec![]
                    } else {
                        hs(c, "ctx")
                    };
                    pk.verify(
                        &hs(c, "msg"),
                        &hs(c, "sig"),
                        &SignOptions::new().context(&ctx),
                    )
                    .is_ok()
                }
                Err(_) => false,
            },
        );
    }
}

fn ml_dsa_sign_case(t: &mut Tally, key: &Result<PrivateKey>, c: &serde_json::Value) {
    if !c["mu"].is_null() && c["msg"].is_null() {
        // External mu (FIPS 204 6.2 with a caller-computed mu): libcrux-ml-dsa 0.0.11
        // has no entry point for it, so Aunsorm offers none.
        t.unsupported("external mu (no backend entry point)");
        return;
    }
    let ok = match key {
        Ok(k) => {
            let ctx = if c["ctx"].is_null() {
                vec![]
            } else {
                hs(c, "ctx")
            };
            let msg = hs(c, "msg");
            let sig = if c["rnd"].is_null() {
                k.sign(&msg, &SignOptions::new().context(&ctx).deterministic(true))
            } else {
                k.sign_with_randomness(&msg, &ctx, &hs(c, "rnd"))
            };
            match sig {
                Ok(sig) => {
                    let same = sig == hs(c, "sig");
                    let verifies = k
                        .public_key()
                        .verify(&msg, &sig, &SignOptions::new().context(&ctx))
                        .is_ok();
                    same && verifies
                }
                Err(_) => false,
            }
        }
        Err(_) => false,
    };
    wycheproof_outcome(t, s(c, "result"), ok, &c["tcId"]);
}

#[test]
fn ml_dsa_sign_from_seed() {
    for (n, alg) in ML_DSA {
        let file = format!("mldsa_{n}_sign_seed_test");
        let cases = wp(&file);
        let mut t = Tally::new(&file, cases.len());
        for (g, c) in &cases {
            let hex_of = |k: &str| {
                g[k].as_str()
                    .and_then(|v| hex::decode(v).ok())
                    .filter(|v| !v.is_empty())
            };
            let key = match hex_of("privateKeyPkcs8") {
                Some(der) => PrivateKey::from_pkcs8_der(&der),
                None => PrivateKey::from_seed(alg, &hex_of("privateSeed").unwrap_or_default()),
            };
            if let Ok(k) = &key {
                assert_eq!(
                    Some(k.public_key().to_raw()),
                    hex_of("publicKey"),
                    "{file} tcId {}",
                    c["tcId"]
                );
                if let Some(seed) = hex_of("privateSeed") {
                    assert_eq!(
                        PrivateKey::from_seed(alg, &seed).unwrap().public_key(),
                        k.public_key()
                    );
                }
            }
            ml_dsa_sign_case(&mut t, &key, c);
        }
        t.finish();
    }
}

#[test]
fn ml_dsa_sign_from_expanded_key() {
    for (n, alg) in ML_DSA {
        let file = format!("mldsa_{n}_sign_noseed_test");
        let cases = wp(&file);
        let mut t = Tally::new(&file, cases.len());
        for (g, c) in &cases {
            let hex_of = |k: &str| {
                g[k].as_str()
                    .and_then(|v| hex::decode(v).ok())
                    .filter(|v| !v.is_empty())
            };
            let key = PrivateKey::from_expanded(
                alg,
                &hex_of("privateKey").unwrap_or_default(),
                hex_of("publicKey").as_deref(),
            );
            ml_dsa_sign_case(&mut t, &key, c);
        }
        t.finish();
    }
}
