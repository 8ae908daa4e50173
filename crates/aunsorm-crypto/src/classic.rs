//! Classical public-key pieces on AWS-LC: X25519, DHKEM(X25519), ECDSA key building.

use crate::{Algorithm, Error, Result, SharedSecret};
use aws_lc_rs::{agreement, hkdf};
use zeroize::Zeroizing;

/// X25519 public key of a 32-byte private key.
pub(crate) fn x25519_public(sk: &[u8; 32]) -> Result<[u8; 32]> {
    let k = agreement::PrivateKey::from_private_key(&agreement::X25519, sk)
        .map_err(|_| Error::Crypto)?;
    let pk = k.compute_public_key().map_err(|_| Error::Crypto)?;
    pk.as_ref().try_into().map_err(|_| Error::Crypto)
}

/// X25519(sk, pk). Fails (as AWS-LC does) when the result is all zeros, i.e. for
/// small-order peer points.
pub(crate) fn x25519(sk: &[u8; 32], pk: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    if pk.len() != 32 {
        return Err(Error::length("X25519 public key", 32, pk.len()));
    }
    let k = agreement::PrivateKey::from_private_key(&agreement::X25519, sk)
        .map_err(|_| Error::Crypto)?;
    agreement::agree(
        &k,
        agreement::UnparsedPublicKey::new(&agreement::X25519, pk),
        Error::invalid(
            "X25519 public key",
            "low-order point (all-zero shared secret)",
        ),
        |ss| {
            let mut out = Zeroizing::new([0u8; 32]);
            out.copy_from_slice(ss);
            Ok(out)
        },
    )
}

// DHKEM(X25519, HKDF-SHA256), RFC 9180 section 4.1, KEM id 0x0020.
const SUITE_ID: &[u8] = b"KEM\x00\x20";

/// DHKEM encapsulation to `pk_r` with ephemeral private key `sk_e`.
pub(crate) fn dhkem_encap(pk_r: &[u8; 32], sk_e: &[u8; 32]) -> Result<(Vec<u8>, SharedSecret)> {
    let enc = x25519_public(sk_e)?;
    let dh = x25519(sk_e, pk_r)?;
    let ss = dhkem_extract_and_expand(&dh[..], &enc, pk_r)?;
    Ok((enc.to_vec(), ss))
}

/// DHKEM decapsulation with the recipient's private key.
pub(crate) fn dhkem_decap(sk_r: &[u8; 32], pk_r: &[u8; 32], enc: &[u8]) -> Result<SharedSecret> {
    if enc.len() != 32 {
        return Err(Error::length("X25519 KEM ciphertext", 32, enc.len()));
    }
    let dh = x25519(sk_r, enc)?;
    dhkem_extract_and_expand(&dh[..], enc, pk_r)
}

fn dhkem_extract_and_expand(dh: &[u8], enc: &[u8], pk_r: &[u8]) -> Result<SharedSecret> {
    // eae_prk = LabeledExtract("", "eae_prk", dh)
    let mut ikm = Zeroizing::new(Vec::with_capacity(7 + SUITE_ID.len() + 7 + dh.len()));
    ikm.extend_from_slice(b"HPKE-v1");
    ikm.extend_from_slice(SUITE_ID);
    ikm.extend_from_slice(b"eae_prk");
    ikm.extend_from_slice(dh);
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &[]).extract(&ikm);
    // shared_secret = LabeledExpand(eae_prk, "shared_secret", enc || pk_r, 32)
    let mut info = Vec::with_capacity(2 + 7 + SUITE_ID.len() + 13 + 64);
    info.extend_from_slice(&32u16.to_be_bytes());
    info.extend_from_slice(b"HPKE-v1");
    info.extend_from_slice(SUITE_ID);
    info.extend_from_slice(b"shared_secret");
    info.extend_from_slice(enc);
    info.extend_from_slice(pk_r);
    let info = [info.as_slice()];
    let okm = prk
        .expand(&info, hkdf::HKDF_SHA256)
        .map_err(|_| Error::Crypto)?;
    let mut out = vec![0u8; 32];
    okm.fill(&mut out).map_err(|_| Error::Crypto)?;
    Ok(SharedSecret::new(out))
}

/// RFC 5915 ECPrivateKey DER for a raw scalar, so AWS-LC can derive the public point.
pub(crate) fn ec_private_key_der(alg: Algorithm, scalar: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let (len, curve_oid): (usize, &[u8]) = match alg {
        Algorithm::EcdsaP256 => (32, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
        Algorithm::EcdsaP384 => (48, &[0x2b, 0x81, 0x04, 0x00, 0x22]),
        other => return Err(Error::unsupported(other, "ECDSA")),
    };
    if scalar.len() != len {
        return Err(Error::length("EC private key", len, scalar.len()));
    }
    // Every length here is below 128, so each fits DER's one-byte short form.
    let byte = |n: usize| u8::try_from(n).map_err(|_| Error::Crypto);
    let mut body = Vec::with_capacity(len + 32);
    body.extend_from_slice(&[0x02, 0x01, 0x01, 0x04, byte(len)?]);
    body.extend_from_slice(scalar);
    body.extend_from_slice(&[
        0xa0,
        byte(curve_oid.len() + 2)?,
        0x06,
        byte(curve_oid.len())?,
    ]);
    body.extend_from_slice(curve_oid);
    let mut der = Zeroizing::new(Vec::with_capacity(body.len() + 2));
    der.extend_from_slice(&[0x30, byte(body.len())?]);
    der.extend_from_slice(&body);
    zeroize::Zeroize::zeroize(&mut body);
    Ok(der)
}
