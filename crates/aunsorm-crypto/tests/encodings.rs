#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    missing_docs
)] // tests may unwrap
//! Round trips of every encoding for every algorithm, JWKs against Wycheproof's, and
//! malformed input: typed errors, never panics.

mod common;
use aunsorm_crypto::*;
use common::*;
use proptest::prelude::*;

fn asymmetric() -> Vec<Algorithm> {
    Algorithm::ALL
        .iter()
        .copied()
        .filter(|a| !a.is_symmetric() && a.is_available())
        .filter(|a| !matches!(a, Algorithm::Rsa3072 | Algorithm::Rsa4096)) // slow keygen; 2048 covers the code
        .collect()
}

#[test]
fn pkcs8_spki_raw_round_trip_every_algorithm() {
    for alg in asymmetric() {
        if matches!(alg, Algorithm::FnDsa512 | Algorithm::FnDsa1024) {
            continue; // no standard OID: refused, tested in the module
        }
        let k = PrivateKey::generate(alg).unwrap();
        let pk = k.public_key();
        let der = k.to_pkcs8_der().unwrap();
        let pem = k.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{alg}");
        for back in [
            PrivateKey::from_pkcs8_der(der.expose()).unwrap(),
            PrivateKey::from_pkcs8(pem.as_bytes()).unwrap(),
        ] {
            assert_eq!(back.algorithm(), alg);
            assert_eq!(back.public_key(), pk, "{alg}");
            assert_eq!(
                back.to_pkcs8_der().unwrap(),
                der,
                "{alg}: PKCS#8 is canonical"
            );
        }
        let spki = pk.to_spki_der().unwrap();
        assert_eq!(PublicKey::from_spki(&spki).unwrap(), pk);
        assert_eq!(
            PublicKey::from_spki(pk.to_spki_pem().unwrap().as_bytes()).unwrap(),
            pk
        );
        assert_eq!(PublicKey::from_raw(alg, &pk.to_raw()).unwrap(), pk);
        if let Some(seed) = k.seed() {
            assert_eq!(
                PrivateKey::from_seed(alg, seed.expose())
                    .unwrap()
                    .public_key(),
                pk,
                "{alg}"
            );
        }
        assert_eq!(format!("{k:?}"), format!("PrivateKey({alg}, [redacted])"));
    }
}

#[test]
fn ml_kem_and_ml_dsa_read_all_three_private_key_forms() {
    for alg in [Algorithm::MlKem768, Algorithm::MlDsa65] {
        let k = PrivateKey::generate(alg).unwrap();
        let seed = k.seed().unwrap();
        let exp = k.expanded().unwrap();
        // Bytes 2..18 of the short seed-only document: version INTEGER 0 and the
        // AlgorithmIdentifier (a nine-byte OID, no parameters).
        let head = k.to_pkcs8_der().unwrap().expose()[2..18].to_vec();
        let wrap = |inner: Vec<u8>| {
            // Rebuild PrivateKeyInfo: SEQUENCE { version, algorithm, OCTET STRING inner }.
            let alg_id = &head[..];
            let mut os = vec![0x04];
            push_len(&mut os, inner.len());
            os.extend_from_slice(&inner);
            let mut body = alg_id.to_vec();
            body.extend_from_slice(&os);
            let mut der = vec![0x30];
            push_len(&mut der, body.len());
            der.extend_from_slice(&body);
            der
        };
        let tlv = |tag: u8, v: &[u8]| {
            let mut o = vec![tag];
            push_len(&mut o, v.len());
            o.extend_from_slice(v);
            o
        };
        let seed_only = wrap(tlv(0x80, seed.expose()));
        let expanded_only = wrap(tlv(0x04, exp.expose()));
        let both = wrap(tlv(
            0x30,
            &[tlv(0x04, seed.expose()), tlv(0x04, exp.expose())].concat(),
        ));
        assert_eq!(
            PrivateKey::from_pkcs8_der(&seed_only).unwrap().public_key(),
            k.public_key()
        );
        assert_eq!(
            PrivateKey::from_pkcs8_der(&both).unwrap().public_key(),
            k.public_key()
        );
        if alg == Algorithm::MlKem768 {
            assert_eq!(
                PrivateKey::from_pkcs8_der(&expanded_only)
                    .unwrap()
                    .public_key(),
                k.public_key()
            );
        } else {
            // ML-DSA's expanded key does not carry its public key.
            assert!(matches!(
                PrivateKey::from_pkcs8_der(&expanded_only),
                Err(Error::InvalidInput { .. })
            ));
        }
        // Seed and expanded key that disagree.
        let other = PrivateKey::generate(alg).unwrap();
        let mismatched = wrap(tlv(
            0x30,
            &[
                tlv(0x04, seed.expose()),
                tlv(0x04, other.expanded().unwrap().expose()),
            ]
            .concat(),
        ));
        assert!(
            matches!(
                PrivateKey::from_pkcs8_der(&mismatched),
                Err(Error::InconsistentKey(_))
            ),
            "{alg}"
        );
    }
}

fn push_len(v: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend_from_slice(&[0x81, n as u8]);
    } else {
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
}

#[test]
fn jwk_round_trip_and_wycheproof_jwks() {
    for alg in [
        Algorithm::Ed25519,
        Algorithm::X25519,
        Algorithm::EcdsaP256,
        Algorithm::EcdsaP384,
        Algorithm::MlDsa44,
        Algorithm::MlDsa65,
        Algorithm::MlDsa87,
    ] {
        let k = PrivateKey::generate(alg).unwrap();
        let public = Jwk::from_public(&k.public_key()).unwrap();
        assert_eq!(Jwk::to_public(&public).unwrap(), k.public_key(), "{alg}");
        let private = Jwk::from_private(&k).unwrap();
        assert_eq!(
            Jwk::to_private(&private).unwrap().public_key(),
            k.public_key(),
            "{alg}"
        );
        assert!(Jwk::to_private(&public).is_err());
    }
    let rsa = PrivateKey::generate(Algorithm::Rsa2048).unwrap();
    let j = Jwk::from_public(&rsa.public_key()).unwrap();
    assert_eq!(Jwk::to_public(&j).unwrap(), rsa.public_key());
    assert!(Jwk::from_private(&rsa).is_err());
    // The JWKs Wycheproof publishes next to its DER keys must decode to the same keys.
    let mut n = 0;
    for (file, jwk_field) in [
        ("ed25519_test", "publicKeyJwk"),
        ("ecdsa_secp256r1_sha256_p1363_test", "publicKeyJwk"),
        ("rsa_pss_2048_sha256_mgf1_32_test", "publicKeyJwk"),
    ] {
        let doc = load(&format!("wycheproof/{file}.json.gz"));
        for g in doc["testGroups"].as_array().unwrap() {
            if g[jwk_field].is_null() {
                continue;
            }
            let from_der = PublicKey::from_spki_der(&hs(g, "publicKeyDer"));
            let from_jwk = Jwk::to_public(&g[jwk_field].to_string());
            match (from_der, from_jwk) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{file}"),
                (Err(_), Err(_)) => {}
                (a, b) => panic!("{file}: DER {:?} vs JWK {:?}", a.is_ok(), b.is_ok()),
            }
            n += 1;
        }
    }
    assert!(n > 10, "only {n} Wycheproof JWKs");
}

#[test]
fn hkdf_sha3_256_matches_python_hashlib() {
    // Computed independently with Python's hmac and hashlib.sha3_256 following RFC 5869:
    // prk = HMAC(salt, ikm); T(i) = HMAC(prk, T(i-1) || info || i).
    let okm = hkdf_sha3_256(b"input key material", b"salt", b"info", 42).unwrap();
    assert_eq!(hex::encode(okm.expose()), HKDF_SHA3_VECTOR);
}

const HKDF_SHA3_VECTOR: &str = include_str!("vectors/hkdf_sha3_256.hex");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        fuzzing::private_key(&data);
        fuzzing::public_key(&data);
        fuzzing::jwk(&data);
        fuzzing::raw_public_key(&data);
        fuzzing::sealed_file(&data);
        fuzzing::ciphertext(&data);
    }

    #[test]
    fn mutated_pkcs8_is_rejected_or_equivalent(pos in 0usize..200, bit in 0u8..8) {
        let k = PrivateKey::from_seed(Algorithm::MlDsa44, &[1u8; 32]).unwrap();
        let mut der = k.to_pkcs8_der().unwrap().expose().to_vec();
        let i = pos % der.len();
        der[i] ^= 1 << bit;
        // A flipped bit either breaks the structure (typed error) or changes the seed,
        // and then the key differs; it never yields the original key.
        if let Ok(k2) = PrivateKey::from_pkcs8_der(&der) {
            prop_assert_ne!(k2.public_key(), k.public_key());
        }
    }

    #[test]
    fn seal_open_round_trip(len in 0usize..20_000, log2 in 12u8..14) {
        let k = PrivateKey::from_seed(Algorithm::X25519, &[9u8; 32]).unwrap();
        let pt: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
        let s = envelope::seal_to_vec(&k.public_key(), Algorithm::Aes256Gcm, log2, &pt).unwrap();
        let opened = envelope::open_to_vec(&k, &s).unwrap();
        prop_assert_eq!(opened.expose(), &pt[..]);
    }
}

#[test]
fn key_agreement_is_symmetric_and_checks_curves() {
    for alg in [
        Algorithm::X25519,
        Algorithm::EcdsaP256,
        Algorithm::EcdsaP384,
    ] {
        let (a, b) = (
            PrivateKey::generate(alg).unwrap(),
            PrivateKey::generate(alg).unwrap(),
        );
        let ab = a.agree(&b.public_key()).unwrap();
        assert_eq!(ab, b.agree(&a.public_key()).unwrap(), "{alg}");
        assert_eq!(ab.len(), if alg == Algorithm::EcdsaP384 { 48 } else { 32 });
    }
    let p256 = PrivateKey::generate(Algorithm::EcdsaP256).unwrap();
    let p384 = PrivateKey::generate(Algorithm::EcdsaP384).unwrap();
    assert!(matches!(
        p256.agree(&p384.public_key()),
        Err(Error::UnsupportedOperation { .. })
    ));
    let ed = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    assert!(matches!(
        ed.agree(&ed.public_key()),
        Err(Error::UnsupportedOperation { .. })
    ));
}

#[test]
fn ecdh_matches_pyca_cryptography() {
    // Shared secrets computed with pyca/cryptography 50.0.2 (`ec.derive_private_key` with
    // scalars 0x11..11 and 0x22..22, then `exchange(ec.ECDH(), ...)`).
    for (alg, n, want) in [
        (
            Algorithm::EcdsaP256,
            32,
            "ccfc261f58193c98ca4ad4a53bbac6f0ee29bc4d48438090446908622ca79af6",
        ),
        (
            Algorithm::EcdsaP384,
            48,
            "2ac3da23c114b5b1f3aa200cf3c57bebd1b3b880a0e68066ab5d00dda50dcfe6cd03410292346187a84b1f12d53569c0",
        ),
    ] {
        let a = PrivateKey::from_seed(alg, &vec![0x11; n]).unwrap();
        let b = PrivateKey::from_seed(alg, &vec![0x22; n]).unwrap();
        assert_eq!(
            hex::encode(a.agree(&b.public_key()).unwrap().expose()),
            want,
            "{alg}"
        );
    }
}
