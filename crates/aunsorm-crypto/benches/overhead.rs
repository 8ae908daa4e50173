#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    missing_docs
)] // benches may unwrap
//! Wrapper overhead, measured interleaved: each round times a batch of Aunsorm calls,
//! then a batch of the raw backend calls, alternating which goes first, so frequency
//! changes and noisy neighbours hit both sides alike. Reports the median per-call time
//! of each side over all rounds and their ratio.
//! `cargo bench -p aunsorm-crypto --bench overhead`

use aunsorm_crypto::{AeadKey, Algorithm, PrivateKey, SignOptions};
use aws_lc_rs::signature::{self as awssig, KeyPair};
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: usize = 41;

fn rand32() -> [u8; 32] {
    let mut r = [0u8; 32];
    aws_lc_rs::rand::fill(&mut r).unwrap();
    r
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn time_batch(n: usize, f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e9 / n as f64
}

fn compare(name: &str, backend: &str, batch: usize, mut ours: impl FnMut(), mut raw: impl FnMut()) {
    for _ in 0..batch {
        ours();
        raw();
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for r in 0..ROUNDS {
        if r % 2 == 0 {
            a.push(time_batch(batch, &mut ours));
            b.push(time_batch(batch, &mut raw));
        } else {
            b.push(time_batch(batch, &mut raw));
            a.push(time_batch(batch, &mut ours));
        }
    }
    let (ma, mb) = (median(a), median(b));
    let fmt = |ns: f64| {
        if ns >= 1e6 {
            format!("{:.2} ms", ns / 1e6)
        } else {
            format!("{:.2} µs", ns / 1e3)
        }
    };
    println!(
        "| {name} | {} | {} | {backend} | {:+.1}% |",
        fmt(ma),
        fmt(mb),
        (ma / mb - 1.0) * 100.0
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("| operation | Aunsorm (median) | raw backend (median) | backend | overhead |");
    println!("|---|---|---|---|---|");
    let msg = [0x42u8; 64];
    let opts = SignOptions::new();

    // ML-KEM: Aunsorm keeps libcrux's unpacked keys (AVX2 when the CPU has it, as on the
    // bench machine), so the like-for-like backend call is the unpacked AVX2 one. The
    // packed rows show what keeping the unpacked form gains over the packed call that
    // Aunsorm made before, and what it costs when a key is loaded from its seed.
    use libcrux_ml_kem::mlkem768::{self as kem, avx2::unpacked};
    let seed = [7u8; 64];
    let key = PrivateKey::from_seed(Algorithm::MlKem768, &seed).unwrap();
    let pk = key.public_key();
    let raw = kem::generate_key_pair(seed);
    let raw_unpacked = unpacked::generate_key_pair(seed);
    let raw_unpacked_pk = raw_unpacked.public_key().clone();
    let (ct, _) = pk.encapsulate().unwrap();
    let raw_ct = kem::MlKem768Ciphertext::try_from(&ct[..]).unwrap();
    compare(
        "ML-KEM-768 encaps",
        "libcrux unpacked",
        200,
        || {
            black_box(pk.encapsulate().unwrap());
        },
        || {
            black_box(unpacked::encapsulate(&raw_unpacked_pk, rand32()));
        },
    );
    compare(
        "ML-KEM-768 decaps",
        "libcrux unpacked",
        200,
        || {
            black_box(key.decapsulate(&ct).unwrap());
        },
        || {
            black_box(unpacked::decapsulate(&raw_unpacked, &raw_ct));
        },
    );
    compare(
        "ML-KEM-768 encaps (gain over packed)",
        "libcrux packed",
        200,
        || {
            black_box(pk.encapsulate().unwrap());
        },
        || {
            black_box(kem::encapsulate(raw.public_key(), rand32()));
        },
    );
    compare(
        "ML-KEM-768 decaps (gain over packed)",
        "libcrux packed",
        200,
        || {
            black_box(key.decapsulate(&ct).unwrap());
        },
        || {
            black_box(kem::decapsulate(raw.private_key(), &raw_ct));
        },
    );
    compare(
        "ML-KEM-768 key from seed (cost over packed)",
        "libcrux packed",
        200,
        || {
            black_box(PrivateKey::from_seed(Algorithm::MlKem768, &seed).unwrap());
        },
        || {
            black_box(kem::generate_key_pair(seed));
        },
    );

    let key = PrivateKey::from_seed(Algorithm::MlDsa65, &[9u8; 32]).unwrap();
    let pk = key.public_key();
    let raw = libcrux_ml_dsa::ml_dsa_65::generate_key_pair([9u8; 32]);
    let sig = key.sign(&msg, &opts).unwrap();
    let raw_sig = libcrux_ml_dsa::ml_dsa_65::sign(&raw.signing_key, &msg, b"", rand32()).unwrap();
    compare(
        "ML-DSA-65 sign",
        "libcrux",
        40,
        || {
            black_box(key.sign(&msg, &opts).unwrap());
        },
        || {
            black_box(
                libcrux_ml_dsa::ml_dsa_65::sign(&raw.signing_key, &msg, b"", rand32()).unwrap(),
            );
        },
    );
    compare(
        "ML-DSA-65 verify",
        "libcrux",
        80,
        || pk.verify(&msg, &sig, &opts).unwrap(),
        || libcrux_ml_dsa::ml_dsa_65::verify(&raw.verification_key, &msg, b"", &raw_sig).unwrap(),
    );

    let key = PrivateKey::from_seed(Algorithm::Ed25519, &[1u8; 32]).unwrap();
    let raw = awssig::Ed25519KeyPair::from_seed_unchecked(&[1u8; 32]).unwrap();
    let pk = key.public_key();
    let sig = key.sign(&msg, &opts).unwrap();
    compare(
        "Ed25519 sign",
        "aws-lc",
        300,
        || {
            black_box(key.sign(&msg, &opts).unwrap());
        },
        || {
            black_box(raw.sign(&msg));
        },
    );
    compare(
        "Ed25519 verify",
        "aws-lc",
        100,
        || pk.verify(&msg, &sig, &opts).unwrap(),
        || {
            awssig::UnparsedPublicKey::new(&awssig::ED25519, raw.public_key().as_ref())
                .verify(&msg, &sig)
                .unwrap()
        },
    );

    let key = PrivateKey::from_seed(Algorithm::EcdsaP256, &[3u8; 32]).unwrap();
    let der = key.to_pkcs8_der().unwrap();
    let raw =
        awssig::EcdsaKeyPair::from_pkcs8(&awssig::ECDSA_P256_SHA256_ASN1_SIGNING, der.expose())
            .unwrap();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pk = key.public_key();
    let sig = key.sign(&msg, &opts).unwrap();
    compare(
        "ECDSA P-256 sign",
        "aws-lc",
        200,
        || {
            black_box(key.sign(&msg, &opts).unwrap());
        },
        || {
            black_box(raw.sign(&rng, &msg).unwrap());
        },
    );
    compare(
        "ECDSA P-256 verify",
        "aws-lc",
        100,
        || pk.verify(&msg, &sig, &opts).unwrap(),
        || {
            awssig::UnparsedPublicKey::new(
                &awssig::ECDSA_P256_SHA256_ASN1,
                raw.public_key().as_ref(),
            )
            .verify(&msg, &sig)
            .unwrap()
        },
    );

    let data = vec![0x5au8; 1 << 20];
    let nonce = [0u8; 12];
    for (alg, raw_alg, name) in [
        (
            Algorithm::Aes256Gcm,
            &aws_lc_rs::aead::AES_256_GCM,
            "AES-256-GCM seal 1 MiB",
        ),
        (
            Algorithm::ChaCha20Poly1305,
            &aws_lc_rs::aead::CHACHA20_POLY1305,
            "ChaCha20-Poly1305 seal 1 MiB",
        ),
    ] {
        let key = AeadKey::new(alg, &[1u8; 32]).unwrap();
        let raw = aws_lc_rs::aead::LessSafeKey::new(
            aws_lc_rs::aead::UnboundKey::new(raw_alg, &[1u8; 32]).unwrap(),
        );
        let mut b1 = Vec::with_capacity(data.len() + 16);
        let mut b2 = Vec::with_capacity(data.len() + 16);
        compare(
            name,
            "aws-lc",
            10,
            || {
                b1.clear();
                b1.extend_from_slice(&data);
                key.seal_in_place(&nonce, b"", &mut b1).unwrap();
            },
            || {
                b2.clear();
                b2.extend_from_slice(&data);
                raw.seal_in_place_append_tag(
                    aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
                    aws_lc_rs::aead::Aad::empty(),
                    &mut b2,
                )
                .unwrap();
            },
        );
    }

    let seed = [8u8; 48];
    let key = PrivateKey::from_seed(Algorithm::SlhDsaSha2_128s, &seed).unwrap();
    let raw = slh_dsa::SigningKey::<slh_dsa::Sha2_128s>::slh_keygen_internal(
        &seed[..16],
        &seed[16..32],
        &seed[32..],
    );
    compare_slow(
        "SLH-DSA-SHA2-128s sign",
        "slh-dsa",
        || {
            black_box(key.sign(&msg, &opts).unwrap());
        },
        || {
            black_box(
                raw.try_sign_with_context(&msg, b"", Some(&rand32()[..16]))
                    .unwrap(),
            );
        },
    );
}

/// For operations of a quarter second: fewer rounds, one call per batch.
fn compare_slow(name: &str, backend: &str, mut ours: impl FnMut(), mut raw: impl FnMut()) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for r in 0..7 {
        if r % 2 == 0 {
            a.push(time_batch(1, &mut ours));
            b.push(time_batch(1, &mut raw));
        } else {
            b.push(time_batch(1, &mut raw));
            a.push(time_batch(1, &mut ours));
        }
    }
    let (ma, mb) = (median(a), median(b));
    println!(
        "| {name} | {:.1} ms | {:.1} ms | {backend} | {:+.1}% |",
        ma / 1e6,
        mb / 1e6,
        (ma / mb - 1.0) * 100.0
    );
}
