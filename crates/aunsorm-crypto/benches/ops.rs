#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // benches may unwrap
//! Each operation twice, side by side: through Aunsorm's API and as the raw backend
//! call, so the wrapper's cost is visible. `cargo bench -p aunsorm-crypto`.

use aunsorm_crypto::{AeadKey, Algorithm, PrivateKey, SignOptions};
use aws_lc_rs::signature::{self as awssig, KeyPair};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

fn rand32() -> [u8; 32] {
    let mut r = [0u8; 32];
    aws_lc_rs::rand::fill(&mut r).unwrap();
    r
}

fn ml_kem_768(c: &mut Criterion) {
    let mut g = c.benchmark_group("ml-kem-768");
    let seed = [7u8; 64];
    let key = PrivateKey::from_seed(Algorithm::MlKem768, &seed).unwrap();
    let pk = key.public_key();
    let raw = libcrux_ml_kem::mlkem768::generate_key_pair(seed);
    let (ct, _) = pk.encapsulate().unwrap();
    let raw_ct = libcrux_ml_kem::mlkem768::MlKem768Ciphertext::try_from(&ct[..]).unwrap();
    g.bench_function("encaps/aunsorm", |b| {
        b.iter(|| black_box(pk.encapsulate().unwrap()))
    });
    g.bench_function("encaps/libcrux", |b| {
        b.iter(|| {
            black_box(libcrux_ml_kem::mlkem768::encapsulate(
                raw.public_key(),
                rand32(),
            ))
        })
    });
    // libcrux's unpacked form, which Aunsorm keeps in memory (AVX2 here when the CPU has
    // it, as Aunsorm chooses at run time; this bench machine has AVX2).
    let unpacked = libcrux_ml_kem::mlkem768::avx2::unpacked::generate_key_pair(seed);
    let unpacked_pk = unpacked.public_key().clone();
    g.bench_function("encaps/libcrux-unpacked", |b| {
        b.iter(|| {
            black_box(libcrux_ml_kem::mlkem768::avx2::unpacked::encapsulate(
                &unpacked_pk,
                rand32(),
            ))
        })
    });
    g.bench_function("decaps/libcrux-unpacked", |b| {
        b.iter(|| {
            black_box(libcrux_ml_kem::mlkem768::avx2::unpacked::decapsulate(
                &unpacked, &raw_ct,
            ))
        })
    });
    g.bench_function("decaps/aunsorm", |b| {
        b.iter(|| black_box(key.decapsulate(&ct).unwrap()))
    });
    g.bench_function("decaps/libcrux", |b| {
        b.iter(|| {
            black_box(libcrux_ml_kem::mlkem768::decapsulate(
                raw.private_key(),
                &raw_ct,
            ))
        })
    });
    g.bench_function("keygen/aunsorm", |b| {
        b.iter(|| black_box(PrivateKey::from_seed(Algorithm::MlKem768, &seed).unwrap()))
    });
    g.bench_function("keygen/libcrux", |b| {
        b.iter(|| black_box(libcrux_ml_kem::mlkem768::generate_key_pair(seed)))
    });
    g.finish();
}

fn ml_dsa_65(c: &mut Criterion) {
    let mut g = c.benchmark_group("ml-dsa-65");
    let seed = [9u8; 32];
    let key = PrivateKey::from_seed(Algorithm::MlDsa65, &seed).unwrap();
    let pk = key.public_key();
    let raw = libcrux_ml_dsa::ml_dsa_65::generate_key_pair(seed);
    let msg = [0x42u8; 64];
    let opts = SignOptions::new();
    let sig = key.sign(&msg, &opts).unwrap();
    let raw_sig = libcrux_ml_dsa::ml_dsa_65::sign(&raw.signing_key, &msg, b"", rand32()).unwrap();
    g.bench_function("sign/aunsorm", |b| {
        b.iter(|| black_box(key.sign(&msg, &opts).unwrap()))
    });
    g.bench_function("sign/libcrux", |b| {
        b.iter(|| {
            black_box(
                libcrux_ml_dsa::ml_dsa_65::sign(&raw.signing_key, &msg, b"", rand32()).unwrap(),
            )
        })
    });
    g.bench_function("verify/aunsorm", |b| {
        b.iter(|| pk.verify(&msg, &sig, &opts).unwrap())
    });
    g.bench_function("verify/libcrux", |b| {
        b.iter(|| {
            libcrux_ml_dsa::ml_dsa_65::verify(&raw.verification_key, &msg, b"", &raw_sig).unwrap()
        })
    });
    g.finish();
}

fn classical(c: &mut Criterion) {
    let msg = [0x42u8; 64];
    let opts = SignOptions::new();
    let rng = aws_lc_rs::rand::SystemRandom::new();

    let mut g = c.benchmark_group("ed25519");
    let key = PrivateKey::from_seed(Algorithm::Ed25519, &[1u8; 32]).unwrap();
    let raw = awssig::Ed25519KeyPair::from_seed_unchecked(&[1u8; 32]).unwrap();
    let pk = key.public_key();
    let sig = key.sign(&msg, &opts).unwrap();
    g.bench_function("sign/aunsorm", |b| {
        b.iter(|| black_box(key.sign(&msg, &opts).unwrap()))
    });
    g.bench_function("sign/aws-lc", |b| b.iter(|| black_box(raw.sign(&msg))));
    g.bench_function("verify/aunsorm", |b| {
        b.iter(|| pk.verify(&msg, &sig, &opts).unwrap())
    });
    g.bench_function("verify/aws-lc", |b| {
        b.iter(|| {
            awssig::UnparsedPublicKey::new(&awssig::ED25519, raw.public_key().as_ref())
                .verify(&msg, &sig)
                .unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("ecdsa-p256");
    let key = PrivateKey::from_seed(Algorithm::EcdsaP256, &[3u8; 32]).unwrap();
    let der = key.to_pkcs8_der().unwrap();
    let raw =
        awssig::EcdsaKeyPair::from_pkcs8(&awssig::ECDSA_P256_SHA256_ASN1_SIGNING, der.expose())
            .unwrap();
    let pk = key.public_key();
    let sig = key.sign(&msg, &opts).unwrap();
    g.bench_function("sign/aunsorm", |b| {
        b.iter(|| black_box(key.sign(&msg, &opts).unwrap()))
    });
    g.bench_function("sign/aws-lc", |b| {
        b.iter(|| black_box(raw.sign(&rng, &msg).unwrap()))
    });
    g.bench_function("verify/aunsorm", |b| {
        b.iter(|| pk.verify(&msg, &sig, &opts).unwrap())
    });
    g.bench_function("verify/aws-lc", |b| {
        b.iter(|| {
            awssig::UnparsedPublicKey::new(
                &awssig::ECDSA_P256_SHA256_ASN1,
                raw.public_key().as_ref(),
            )
            .verify(&msg, &sig)
            .unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("x25519-dhkem");
    let key = PrivateKey::from_seed(Algorithm::X25519, &[5u8; 32]).unwrap();
    let pk = key.public_key();
    let (ct, _) = pk.encapsulate().unwrap();
    g.bench_function("encaps/aunsorm", |b| {
        b.iter(|| black_box(pk.encapsulate().unwrap()))
    });
    g.bench_function("decaps/aunsorm", |b| {
        b.iter(|| black_box(key.decapsulate(&ct).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("x-wing");
    let key = PrivateKey::from_seed(Algorithm::XWingDraft06, &[6u8; 32]).unwrap();
    let pk = key.public_key();
    let (ct, _) = pk.encapsulate().unwrap();
    g.bench_function("encaps/aunsorm", |b| {
        b.iter(|| black_box(pk.encapsulate().unwrap()))
    });
    g.bench_function("decaps/aunsorm", |b| {
        b.iter(|| black_box(key.decapsulate(&ct).unwrap()))
    });
    g.finish();
}

fn aead(c: &mut Criterion) {
    let data = vec![0x5au8; 1 << 20];
    let nonce = [0u8; 12];
    for (alg, raw_alg) in [
        (Algorithm::Aes256Gcm, &aws_lc_rs::aead::AES_256_GCM),
        (
            Algorithm::ChaCha20Poly1305,
            &aws_lc_rs::aead::CHACHA20_POLY1305,
        ),
    ] {
        let mut g = c.benchmark_group(format!("{alg}-1MiB"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        let key = AeadKey::new(alg, &[1u8; 32]).unwrap();
        let raw = aws_lc_rs::aead::LessSafeKey::new(
            aws_lc_rs::aead::UnboundKey::new(raw_alg, &[1u8; 32]).unwrap(),
        );
        let mut buf = Vec::with_capacity(data.len() + 16);
        g.bench_function("seal/aunsorm", |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(&data);
                key.seal_in_place(&nonce, b"", &mut buf).unwrap();
            })
        });
        g.bench_function("seal/aws-lc", |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(&data);
                raw.seal_in_place_append_tag(
                    aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
                    aws_lc_rs::aead::Aad::empty(),
                    &mut buf,
                )
                .unwrap();
            })
        });
        g.finish();
    }
}

fn slow(c: &mut Criterion) {
    let mut g = c.benchmark_group("slow");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    let msg = [0x42u8; 64];
    let seed = [8u8; 48];
    let key = PrivateKey::from_seed(Algorithm::SlhDsaSha2_128s, &seed).unwrap();
    let raw = slh_dsa::SigningKey::<slh_dsa::Sha2_128s>::slh_keygen_internal(
        &seed[..16],
        &seed[16..32],
        &seed[32..],
    );
    g.bench_function(BenchmarkId::new("slh-dsa-sha2-128s-sign", "aunsorm"), |b| {
        b.iter(|| black_box(key.sign(&msg, &SignOptions::new()).unwrap()))
    });
    g.bench_function(BenchmarkId::new("slh-dsa-sha2-128s-sign", "slh-dsa"), |b| {
        b.iter(|| {
            black_box(
                raw.try_sign_with_context(&msg, b"", Some(&rand32()[..16]))
                    .unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("rsa-2048-keygen", "aunsorm"), |b| {
        b.iter(|| black_box(PrivateKey::generate(Algorithm::Rsa2048).unwrap()))
    });
    g.bench_function(BenchmarkId::new("rsa-2048-keygen", "aws-lc"), |b| {
        b.iter(|| {
            black_box(aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap())
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(40);
    targets = ml_kem_768, ml_dsa_65, classical, aead
}
criterion_group!(slow_benches, slow);
criterion_main!(benches, slow_benches);
