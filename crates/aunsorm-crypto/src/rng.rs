//! Randomness: the operating system's entropy through AWS-LC's SP 800-90A CTR-DRBG.

use crate::{Error, Result};
use zeroize::Zeroizing;

/// Fills `out` with random bytes.
///
/// # Errors
/// [`Error::Entropy`] if the system generator fails.
pub fn fill(out: &mut [u8]) -> Result<()> {
    aws_lc_rs::rand::fill(out).map_err(|_| Error::Entropy)
}

/// Returns `n` random bytes.
///
/// # Errors
/// [`Error::Entropy`] if the system generator fails.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut v = vec![0u8; n];
    fill(&mut v)?;
    Ok(v)
}

/// A random array meant to become key material; zeroized on drop.
pub(crate) fn secret_array<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut a = Zeroizing::new([0u8; N]);
    fill(a.as_mut())?;
    Ok(a)
}

/// A random array that is not secret once used (nonces, randomizers).
pub(crate) fn array<const N: usize>() -> Result<[u8; N]> {
    let mut a = [0u8; N];
    fill(&mut a)?;
    Ok(a)
}
