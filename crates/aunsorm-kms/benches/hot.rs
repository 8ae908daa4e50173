#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    missing_docs
)] // benches may unwrap
//! Hot-key operations through the KMS against the raw aunsorm-crypto call, interleaved
//! as in aunsorm-crypto's overhead bench. `cargo bench -p aunsorm-kms --bench hot`

use aunsorm_crypto::{AeadKey, Algorithm, PrivateKey, SignOptions};
use aunsorm_kms::{KeyName, KeyOptions, KeyRef, Kms, PassphraseParams};
use aunsorm_store::MemoryStore;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn batch(n: usize, f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e9 / n as f64
}

fn compare(name: &str, n: usize, mut kms: impl FnMut(), mut raw: impl FnMut()) {
    let (mut a, mut b) = (vec![], vec![]);
    for r in 0..31 {
        if r % 2 == 0 {
            a.push(batch(n, &mut kms));
            b.push(batch(n, &mut raw));
        } else {
            b.push(batch(n, &mut raw));
            a.push(batch(n, &mut kms));
        }
    }
    let (ma, mb) = (median(a), median(b));
    println!(
        "| {name} | {:.2} µs | {:.2} µs | {:.2}x |",
        ma / 1e3,
        mb / 1e3,
        ma / mb
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let kms = Kms::new(Arc::new(MemoryStore::new()));
    kms.init_with_passphrase(
        b"bench",
        PassphraseParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        },
    )
    .unwrap();
    println!("| operation | through Kms (median) | raw aunsorm-crypto (median) | ratio |");
    println!("|---|---|---|---|");
    let msg = [7u8; 64];
    for alg in [Algorithm::Ed25519, Algorithm::MlDsa65] {
        let name: KeyName = format!("bench-{}", alg.id()).parse().unwrap();
        kms.create(&name, alg, &KeyOptions::default()).unwrap();
        let raw = PrivateKey::generate(alg).unwrap();
        let opts = SignOptions::new();
        let kr = r(&name);
        compare(
            &format!("{alg} sign (hot key)"),
            50,
            || {
                black_box(kms.sign(&kr, &msg, b"").unwrap());
            },
            || {
                black_box(raw.sign(&msg, &opts).unwrap());
            },
        );
    }
    // ML-KEM-768: the KMS keeps libcrux's unpacked key in its cache. The second row puts
    // the same decapsulation beside libcrux's packed call, which is what every
    // decapsulation cost before the cache held unpacked keys.
    let name: KeyName = "bench-ml-kem-768".parse().unwrap();
    kms.create(&name, Algorithm::MlKem768, &KeyOptions::default())
        .unwrap();
    let raw = PrivateKey::generate(Algorithm::MlKem768).unwrap();
    let (_, ct) = kms.encapsulate(&r(&name)).unwrap();
    let (raw_ct, _) = raw.public_key().encapsulate().unwrap();
    compare(
        "ML-KEM-768 decapsulate (hot key)",
        200,
        || {
            black_box(kms.decapsulate(&name, &ct).unwrap());
        },
        || {
            black_box(raw.decapsulate(&raw_ct).unwrap());
        },
    );
    let packed = libcrux_ml_kem::mlkem768::generate_key_pair([3u8; 64]);
    let packed_ct = libcrux_ml_kem::mlkem768::MlKem768Ciphertext::try_from(&ct.bytes[..]).unwrap();
    compare(
        "ML-KEM-768 decapsulate (hot key) against libcrux packed",
        200,
        || {
            black_box(kms.decapsulate(&name, &ct).unwrap());
        },
        || {
            black_box(libcrux_ml_kem::mlkem768::decapsulate(
                packed.private_key(),
                &packed_ct,
            ));
        },
    );
    let name: KeyName = "bench-aes".parse().unwrap();
    kms.create(&name, Algorithm::Aes256Gcm, &KeyOptions::default())
        .unwrap();
    let raw = AeadKey::new(Algorithm::Aes256Gcm, &[1u8; 32]).unwrap();
    let pt = [5u8; 1024];
    let kr = r(&name);
    compare(
        "AES-256-GCM encrypt 1 KiB (hot key)",
        500,
        || {
            black_box(kms.encrypt(&kr, &pt, b"").unwrap());
        },
        || {
            black_box(raw.encrypt(b"", &pt).unwrap());
        },
    );
}

fn r(n: &KeyName) -> KeyRef {
    KeyRef::from(n.clone())
}
