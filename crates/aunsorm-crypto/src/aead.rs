//! Authenticated encryption with associated data: AES-256-GCM, ChaCha20-Poly1305
//! (AWS-LC) and XChaCha20-Poly1305 (RustCrypto; AWS-LC does not expose it).

use crate::{Algorithm, Error, Result, SecretBytes, rng};
use aws_lc_rs::aead::{self as awsaead, LessSafeKey, UnboundKey};
use chacha20poly1305::aead::{AeadInOut, KeyInit};

/// Length in bytes of every AEAD key Aunsorm uses.
pub const KEY_LEN: usize = 32;
/// Length in bytes of the authentication tag.
pub const TAG_LEN: usize = 16;

/// A key for one AEAD algorithm, ready to seal and open.
pub struct AeadKey {
    alg: Algorithm,
    inner: Inner,
}

enum Inner {
    Aws(LessSafeKey),
    XChaCha(Box<chacha20poly1305::XChaCha20Poly1305>),
}

impl core::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AeadKey({}, [redacted])", self.alg)
    }
}

impl AeadKey {
    /// Makes a key from its 32 raw bytes.
    ///
    /// # Errors
    /// [`Error::UnsupportedOperation`] if `alg` is not an AEAD, [`Error::InvalidLength`]
    /// if `key` is not 32 bytes.
    pub fn new(alg: Algorithm, key: &[u8]) -> Result<Self> {
        if key.len() != KEY_LEN {
            return Err(Error::length("AEAD key", KEY_LEN, key.len()));
        }
        let inner = match alg {
            Algorithm::Aes256Gcm => Inner::Aws(aws_key(&awsaead::AES_256_GCM, key)?),
            Algorithm::ChaCha20Poly1305 => Inner::Aws(aws_key(&awsaead::CHACHA20_POLY1305, key)?),
            Algorithm::XChaCha20Poly1305 => Inner::XChaCha(Box::new(
                chacha20poly1305::XChaCha20Poly1305::new_from_slice(key)
                    .map_err(|_| Error::Crypto)?,
            )),
            other => return Err(Error::unsupported(other, "authenticated encryption")),
        };
        Ok(AeadKey { alg, inner })
    }

    /// Generates fresh key bytes for `alg` from the system RNG.
    ///
    /// # Errors
    /// [`Error::Entropy`] if the RNG fails; [`Error::UnsupportedOperation`] if `alg` is
    /// not an AEAD.
    pub fn generate_key_bytes(alg: Algorithm) -> Result<SecretBytes> {
        if !matches!(alg.kind(), crate::AlgorithmKind::Aead) {
            return Err(Error::unsupported(alg, "authenticated encryption"));
        }
        Ok(SecretBytes::new(rng::random_bytes(KEY_LEN)?))
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Nonce length in bytes: 12, or 24 for XChaCha20-Poly1305.
    pub fn nonce_len(&self) -> usize {
        nonce_len(self.alg)
    }

    /// Encrypts `buf` in place and appends the tag.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for a nonce of the wrong length; [`Error::Crypto`] if the
    /// backend refuses (for example a message over the algorithm's limit).
    pub fn seal_in_place(&self, nonce: &[u8], aad: &[u8], buf: &mut Vec<u8>) -> Result<()> {
        let tag = self.seal_detached(nonce, aad, buf)?;
        buf.extend_from_slice(&tag);
        Ok(())
    }

    /// Encrypts `body` in place and returns the tag.
    fn seal_detached(&self, nonce: &[u8], aad: &[u8], body: &mut [u8]) -> Result<[u8; TAG_LEN]> {
        self.check_nonce(nonce)?;
        let mut out = [0u8; TAG_LEN];
        match &self.inner {
            Inner::Aws(k) => {
                let n =
                    awsaead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::Crypto)?;
                let tag = k
                    .seal_in_place_separate_tag(n, awsaead::Aad::from(aad), body)
                    .map_err(|_| Error::Crypto)?;
                out.copy_from_slice(tag.as_ref());
            }
            Inner::XChaCha(k) => {
                let n = chacha20poly1305::XNonce::try_from(nonce).map_err(|_| Error::Crypto)?;
                let tag = k
                    .encrypt_inout_detached(&n, aad, body.into())
                    .map_err(|_| Error::Crypto)?;
                out.copy_from_slice(&tag);
            }
        }
        Ok(out)
    }

    /// Decrypts `buf` (ciphertext followed by tag) in place and truncates the tag.
    /// On failure `buf` is cleared, so no unauthenticated plaintext is ever visible.
    ///
    /// # Errors
    /// [`Error::DecryptionFailed`] for any authentication failure (wrong key, wrong
    /// associated data, modified or truncated ciphertext); [`Error::InvalidLength`] for a
    /// nonce of the wrong length.
    pub fn open_in_place(&self, nonce: &[u8], aad: &[u8], buf: &mut Vec<u8>) -> Result<()> {
        self.check_nonce(nonce)?;
        if buf.len() < TAG_LEN {
            buf.clear();
            return Err(Error::DecryptionFailed);
        }
        let ok = match &self.inner {
            Inner::Aws(k) => {
                let n =
                    awsaead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::Crypto)?;
                k.open_in_place(n, awsaead::Aad::from(aad), buf)
                    .map(|p| p.len())
                    .ok()
            }
            Inner::XChaCha(k) => {
                let n = chacha20poly1305::XNonce::try_from(nonce).map_err(|_| Error::Crypto)?;
                let split = buf.len() - TAG_LEN;
                let (body, tag) = buf.split_at_mut(split);
                let tag = chacha20poly1305::Tag::try_from(&*tag).map_err(|_| Error::Crypto)?;
                k.decrypt_inout_detached(&n, aad, body.into(), &tag)
                    .ok()
                    .map(|()| split)
            }
        };
        match ok {
            Some(len) => {
                buf.truncate(len);
                Ok(())
            }
            None => {
                zeroize::Zeroize::zeroize(buf);
                buf.clear();
                Err(Error::DecryptionFailed)
            }
        }
    }

    /// Encrypts `plaintext`, returning ciphertext followed by the tag.
    ///
    /// # Errors
    /// As [`AeadKey::seal_in_place`].
    pub fn seal(&self, nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
        buf.extend_from_slice(plaintext);
        self.seal_in_place(nonce, aad, &mut buf)?;
        Ok(buf)
    }

    /// Decrypts ciphertext followed by tag.
    ///
    /// # Errors
    /// As [`AeadKey::open_in_place`].
    pub fn open(&self, nonce: &[u8], aad: &[u8], ciphertext: &[u8]) -> Result<SecretBytes> {
        let mut buf = ciphertext.to_vec();
        self.open_in_place(nonce, aad, &mut buf)?;
        Ok(SecretBytes::new(buf))
    }

    /// Encrypts with a fresh random nonce; returns `nonce || ciphertext || tag`.
    ///
    /// # Security
    /// Random 96-bit nonces bound the number of messages per key to about 2^32; rotate
    /// keys before that (the custody layer does).
    ///
    /// # Errors
    /// [`Error::Entropy`] if the RNG fails, otherwise as [`AeadKey::seal_in_place`].
    pub fn encrypt(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        // One buffer of the final size: no reallocation leaves a copy of the plaintext
        // behind in freed memory, and the ciphertext is not copied again.
        let nl = self.nonce_len();
        let mut out = Vec::with_capacity(nl + plaintext.len() + TAG_LEN);
        out.resize(nl, 0);
        rng::fill(&mut out)?;
        out.extend_from_slice(plaintext);
        let (nonce, body) = out.split_at_mut(nl);
        let tag = self.seal_detached(nonce, aad, body)?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Decrypts `nonce || ciphertext || tag` as made by [`AeadKey::encrypt`].
    ///
    /// # Errors
    /// [`Error::DecryptionFailed`] for anything that does not authenticate.
    pub fn decrypt(&self, aad: &[u8], data: &[u8]) -> Result<SecretBytes> {
        let nl = self.nonce_len();
        if data.len() < nl + TAG_LEN {
            return Err(Error::DecryptionFailed);
        }
        let (nonce, ct) = data.split_at(nl);
        self.open(nonce, aad, ct)
    }

    fn check_nonce(&self, nonce: &[u8]) -> Result<()> {
        if nonce.len() != self.nonce_len() {
            return Err(Error::length("nonce", self.nonce_len(), nonce.len()));
        }
        Ok(())
    }
}

/// Nonce length of an AEAD algorithm (0 for anything else).
pub const fn nonce_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::XChaCha20Poly1305 => 24,
        Algorithm::Aes256Gcm | Algorithm::ChaCha20Poly1305 => 12,
        _ => 0,
    }
}

fn aws_key(alg: &'static awsaead::Algorithm, key: &[u8]) -> Result<LessSafeKey> {
    Ok(LessSafeKey::new(
        UnboundKey::new(alg, key).map_err(|_| Error::Crypto)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_for_each_aead() {
        for alg in [
            Algorithm::Aes256Gcm,
            Algorithm::ChaCha20Poly1305,
            Algorithm::XChaCha20Poly1305,
        ] {
            let kb = AeadKey::generate_key_bytes(alg).unwrap();
            let k = AeadKey::new(alg, kb.expose()).unwrap();
            let ct = k.encrypt(b"aad", b"hello").unwrap();
            assert_eq!(ct.len(), k.nonce_len() + 5 + TAG_LEN);
            assert_eq!(k.decrypt(b"aad", &ct).unwrap().expose(), b"hello");
            assert_eq!(k.decrypt(b"aaD", &ct), Err(Error::DecryptionFailed));
            let mut bad = ct.clone();
            *bad.last_mut().unwrap() ^= 1;
            assert_eq!(k.decrypt(b"aad", &bad), Err(Error::DecryptionFailed));
            assert_eq!(k.decrypt(b"aad", &ct[..5]), Err(Error::DecryptionFailed));
        }
    }

    #[test]
    fn wrong_key_length_and_non_aead_are_refused() {
        assert!(matches!(
            AeadKey::new(Algorithm::Aes256Gcm, &[0; 16]),
            Err(Error::InvalidLength { .. })
        ));
        assert!(matches!(
            AeadKey::new(Algorithm::Ed25519, &[0; 32]),
            Err(Error::UnsupportedOperation { .. })
        ));
    }
}
