//! AES key wrap with padding (RFC 5649, NIST SP 800-38F KWP) with a 256-bit KEK, on
//! AWS-LC. Used to import keys in the format of Vault's `wrapping_key`: an ephemeral AES
//! key under RSA-OAEP, the key material under that AES key with KWP.

use crate::{Error, Result, SecretBytes};
use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrapPadded};

/// Wraps `plaintext` (1 byte or more) under the 32-byte `kek`.
///
/// # Errors
/// [`Error::InvalidLength`] for a KEK that is not 32 bytes; [`Error::InvalidInput`] for
/// an empty plaintext.
pub fn aes256_kwp_wrap(kek: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    if plaintext.is_empty() {
        return Err(Error::invalid("key wrap input", "empty"));
    }
    let kek = kek_of(kek)?;
    let mut out = vec![0u8; plaintext.len() + 15];
    let n = kek
        .wrap_with_padding(plaintext, &mut out)
        .map_err(|_| Error::Crypto)?
        .len();
    out.truncate(n);
    Ok(out)
}

/// Unwraps a KWP ciphertext; any modification fails.
///
/// # Errors
/// [`Error::DecryptionFailed`] if the ciphertext does not authenticate.
pub fn aes256_kwp_unwrap(kek: &[u8], ciphertext: &[u8]) -> Result<SecretBytes> {
    let kek = kek_of(kek)?;
    if ciphertext.len() < 16 || !ciphertext.len().is_multiple_of(8) {
        return Err(Error::DecryptionFailed);
    }
    let mut out = zeroize::Zeroizing::new(vec![0u8; ciphertext.len()]);
    let n = kek
        .unwrap_with_padding(ciphertext, &mut out)
        .map_err(|_| Error::DecryptionFailed)?
        .len();
    Ok(SecretBytes::new(out[..n].to_vec()))
}

fn kek_of(kek: &[u8]) -> Result<AesKek> {
    if kek.len() != 32 {
        return Err(Error::length("AES-KWP key", 32, kek.len()));
    }
    AesKek::new(&AES_256, kek).map_err(|_| Error::Crypto)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let kek = [7u8; 32];
        for len in [1usize, 7, 8, 9, 32, 1217] {
            let pt: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let ct = aes256_kwp_wrap(&kek, &pt).unwrap();
            assert_eq!(ct.len(), len.div_ceil(8) * 8 + 8);
            assert_eq!(aes256_kwp_unwrap(&kek, &ct).unwrap().expose(), &pt[..]);
            for i in 0..ct.len() {
                let mut bad = ct.clone();
                bad[i] ^= 0x80;
                assert!(aes256_kwp_unwrap(&kek, &bad).is_err());
            }
            assert!(aes256_kwp_unwrap(&[8u8; 32], &ct).is_err());
            assert!(aes256_kwp_unwrap(&kek, &ct[..ct.len() - 8]).is_err());
        }
        assert!(aes256_kwp_wrap(&kek, &[]).is_err());
        assert!(aes256_kwp_wrap(&kek[..16], &[1]).is_err());
    }
}
