//! Key derivation (HKDF-SHA-256, HKDF-SHA3-256), HMAC-SHA-256 and digests.

use crate::{Error, Result, SecretBytes};
use aws_lc_rs::{digest, hkdf, hmac};

/// Maximum HKDF output for a 32-byte hash: 255 blocks.
pub(crate) const HKDF_MAX_LEN: usize = 255 * 32;

/// HKDF-SHA-256 (RFC 5869): extract with `salt`, expand with `info` to `len` bytes.
///
/// # Errors
/// [`Error::InvalidLength`] if `len` exceeds 8160 bytes.
pub fn hkdf_sha256(ikm: &[u8], salt: &[u8], info: &[u8], len: usize) -> Result<SecretBytes> {
    check_len(len)?;
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    let okm = prk.expand(&info, OutLen(len)).map_err(|_| Error::Crypto)?;
    let mut out = vec![0u8; len];
    okm.fill(&mut out).map_err(|_| Error::Crypto)?;
    Ok(SecretBytes::new(out))
}

/// HKDF-SHA3-256 (RFC 5869 instantiated with SHA3-256, as used by X-Wing-style
/// combiners and NIST SP 800-56C).
///
/// # Errors
/// [`Error::InvalidLength`] if `len` exceeds 8160 bytes.
pub fn hkdf_sha3_256(ikm: &[u8], salt: &[u8], info: &[u8], len: usize) -> Result<SecretBytes> {
    check_len(len)?;
    let hk = ::hkdf::Hkdf::<sha3::Sha3_256>::new(Some(salt), ikm);
    let mut out = vec![0u8; len];
    hk.expand(info, &mut out).map_err(|_| Error::Crypto)?;
    Ok(SecretBytes::new(out))
}

/// An HMAC-SHA-256 key.
pub struct HmacKey(hmac::Key);

impl core::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HmacKey([redacted])")
    }
}

/// Length of an HMAC-SHA-256 tag.
pub const HMAC_SHA256_LEN: usize = 32;

impl HmacKey {
    /// Makes a key from raw bytes (any length, as RFC 2104 allows).
    pub fn new(key: &[u8]) -> Self {
        HmacKey(hmac::Key::new(hmac::HMAC_SHA256, key))
    }

    /// Computes the 32-byte tag of `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; HMAC_SHA256_LEN] {
        let tag = hmac::sign(&self.0, msg);
        let mut out = [0u8; HMAC_SHA256_LEN];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Checks a full 32-byte tag in constant time.
    ///
    /// # Errors
    /// [`Error::BadSignature`] if the tag is wrong or not 32 bytes long.
    pub fn verify(&self, msg: &[u8], tag: &[u8]) -> Result<()> {
        hmac::verify(&self.0, msg, tag).map_err(|_| Error::BadSignature)
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 over data given in pieces (for hashes of framed input, without a copy).
pub struct Sha256(digest::Context);

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha256 {
    /// An empty hash state.
    #[must_use]
    pub fn new() -> Self {
        Sha256(digest::Context::new(&digest::SHA256))
    }

    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything added.
    #[must_use]
    pub fn finish(self) -> [u8; 32] {
        let d = self.0.finish();
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }
}

/// SHA-512 of `data`.
pub fn sha512(data: &[u8]) -> [u8; 64] {
    let d = digest::digest(&digest::SHA512, data);
    let mut out = [0u8; 64];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA3-256 of `data`.
pub fn sha3_256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA3_256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn check_len(len: usize) -> Result<()> {
    if len > HKDF_MAX_LEN {
        return Err(Error::InvalidLength {
            what: "HKDF output",
            expected: format!("at most {HKDF_MAX_LEN}"),
            got: len,
        });
    }
    Ok(())
}

struct OutLen(usize);

impl hkdf::KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5869_case_1() {
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0u8..=0x0c).collect();
        let info: Vec<u8> = (0xf0u8..=0xf9).collect();
        let okm = hkdf_sha256(&ikm, &salt, &info, 42).unwrap();
        assert_eq!(
            hex::encode(okm.expose()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
        assert!(hkdf_sha256(&ikm, &salt, &info, HKDF_MAX_LEN + 1).is_err());
    }

    #[test]
    fn hmac_verify_rejects_wrong_and_short_tags() {
        let k = HmacKey::new(b"key");
        let t = k.sign(b"msg");
        k.verify(b"msg", &t).unwrap();
        assert_eq!(k.verify(b"msG", &t), Err(Error::BadSignature));
        assert_eq!(k.verify(b"msg", &t[..16]), Err(Error::BadSignature));
    }
}
