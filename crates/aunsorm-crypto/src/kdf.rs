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

/// A hash function, named by its identifier (`sha2-256`, `sha3-512`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-224 (FIPS 180-4).
    Sha2_224,
    /// SHA-256 (FIPS 180-4).
    Sha2_256,
    /// SHA-384 (FIPS 180-4).
    Sha2_384,
    /// SHA-512 (FIPS 180-4).
    Sha2_512,
    /// SHA3-224 (FIPS 202).
    Sha3_224,
    /// SHA3-256 (FIPS 202).
    Sha3_256,
    /// SHA3-384 (FIPS 202).
    Sha3_384,
    /// SHA3-512 (FIPS 202).
    Sha3_512,
}

impl HashAlgorithm {
    /// Every hash, in a stable order.
    pub const ALL: &'static [HashAlgorithm] = &[
        HashAlgorithm::Sha2_224,
        HashAlgorithm::Sha2_256,
        HashAlgorithm::Sha2_384,
        HashAlgorithm::Sha2_512,
        HashAlgorithm::Sha3_224,
        HashAlgorithm::Sha3_256,
        HashAlgorithm::Sha3_384,
        HashAlgorithm::Sha3_512,
    ];

    /// The identifier, e.g. `sha2-256`.
    pub const fn id(self) -> &'static str {
        match self {
            HashAlgorithm::Sha2_224 => "sha2-224",
            HashAlgorithm::Sha2_256 => "sha2-256",
            HashAlgorithm::Sha2_384 => "sha2-384",
            HashAlgorithm::Sha2_512 => "sha2-512",
            HashAlgorithm::Sha3_224 => "sha3-224",
            HashAlgorithm::Sha3_256 => "sha3-256",
            HashAlgorithm::Sha3_384 => "sha3-384",
            HashAlgorithm::Sha3_512 => "sha3-512",
        }
    }

    /// The digest of `data`.
    #[must_use]
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            HashAlgorithm::Sha2_224 => &digest::SHA224,
            HashAlgorithm::Sha2_256 => &digest::SHA256,
            HashAlgorithm::Sha2_384 => &digest::SHA384,
            HashAlgorithm::Sha2_512 => &digest::SHA512,
            // AWS-LC's Rust binding has no SHA3-224; RustCrypto's sha3 has.
            HashAlgorithm::Sha3_224 => {
                use sha3::Digest as _;
                return sha3::Sha3_224::digest(data).to_vec();
            }
            HashAlgorithm::Sha3_256 => &digest::SHA3_256,
            HashAlgorithm::Sha3_384 => &digest::SHA3_384,
            HashAlgorithm::Sha3_512 => &digest::SHA3_512,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }
}

impl std::str::FromStr for HashAlgorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        HashAlgorithm::ALL
            .iter()
            .copied()
            .find(|h| h.id() == s)
            .ok_or_else(|| Error::UnknownAlgorithm(s.chars().take(64).collect()))
    }
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

    /// The "abc" examples of FIPS 180-4 and FIPS 202 (NIST's published example values).
    #[test]
    fn hashes_match_the_nist_examples() {
        let want = [
            (
                "sha2-224",
                "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
            ),
            (
                "sha2-256",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                "sha2-384",
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
            ),
            (
                "sha2-512",
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
            (
                "sha3-224",
                "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf",
            ),
            (
                "sha3-256",
                "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
            ),
            (
                "sha3-384",
                "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25",
            ),
            (
                "sha3-512",
                "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0",
            ),
        ];
        assert_eq!(want.len(), HashAlgorithm::ALL.len());
        for (id, hex) in want {
            let h: HashAlgorithm = id.parse().unwrap();
            assert_eq!(h.id(), id);
            let got: String = h
                .digest(b"abc")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(got, hex, "{id}");
        }
        assert!("sha2-999".parse::<HashAlgorithm>().is_err());
    }
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
