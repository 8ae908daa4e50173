//! Entry points for the fuzz targets in `fuzz/`. Each must return without panicking
//! for every input.

use crate::{AeadKey, Algorithm, Jwk, PrivateKey, PublicKey, envelope};

/// PKCS#8 DER or PEM private keys.
pub fn private_key(data: &[u8]) {
    let _ = PrivateKey::from_pkcs8(data);
}

/// SPKI DER or PEM public keys.
pub fn public_key(data: &[u8]) {
    let _ = PublicKey::from_spki(data);
}

/// JWKs, public and private.
pub fn jwk(data: &[u8]) {
    if let Ok(s) = core::str::from_utf8(data) {
        let _ = Jwk::to_public(s);
        let _ = Jwk::to_private(s);
    }
}

/// Raw public keys of every algorithm (the first byte picks the algorithm).
pub fn raw_public_key(data: &[u8]) {
    if let Some((&i, rest)) = data.split_first() {
        let all = Algorithm::ALL;
        let alg = all[usize::from(i) % all.len()];
        let _ = PublicKey::from_raw(alg, rest);
    }
}

/// Sealed-file headers and payloads, opened with a fixed X25519 key.
pub fn sealed_file(data: &[u8]) {
    if let Ok(k) = PrivateKey::from_seed(Algorithm::X25519, &[7u8; 32]) {
        let _ = envelope::open_to_vec(&k, data);
    }
    let _ = envelope::SealHeader::decode(data);
}

/// AEAD ciphertexts (`nonce || ct || tag`) under a fixed key, and KEM ciphertexts
/// decapsulated by fixed keys.
pub fn ciphertext(data: &[u8]) {
    for alg in [
        Algorithm::Aes256Gcm,
        Algorithm::ChaCha20Poly1305,
        Algorithm::XChaCha20Poly1305,
    ] {
        if let Ok(k) = AeadKey::new(alg, &[1u8; 32]) {
            let _ = k.decrypt(b"aad", data);
        }
    }
    for (alg, seed) in [
        (Algorithm::MlKem768, &[3u8; 64][..]),
        (Algorithm::XWingDraft06, &[3u8; 32][..]),
        (Algorithm::X25519, &[3u8; 32][..]),
    ] {
        if let Ok(k) = PrivateKey::from_seed(alg, seed) {
            let _ = k.decapsulate(data);
        }
    }
}

/// Signatures verified by fixed keys of several algorithms.
pub fn signature(data: &[u8]) {
    for (alg, seed) in [
        (Algorithm::MlDsa44, &[5u8; 32][..]),
        (Algorithm::Ed25519, &[5u8; 32][..]),
        (Algorithm::MlDsa65Ed25519Draft13, &[5u8; 64][..]),
    ] {
        if let Ok(k) = PrivateKey::from_seed(alg, seed) {
            let _ = k
                .public_key()
                .verify(b"msg", data, &crate::SignOptions::new());
        }
    }
}
