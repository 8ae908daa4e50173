//! SLH-DSA (FIPS 205) on RustCrypto's slh-dsa, all twelve parameter sets.

use crate::{Algorithm, Error, Result};
use slh_dsa::{ParameterSet, Signature, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

/// A signing key of one parameter set (type-erased so the key types stay enums).
pub(crate) trait Signer: Send + Sync {
    fn sign(&self, msg: &[u8], ctx: &[u8], opt_rand: Option<&[u8]>) -> Result<Vec<u8>>;
    fn to_bytes(&self) -> Zeroizing<Vec<u8>>;
    fn public(&self) -> Box<dyn Verifier>;
}

/// A verifying key of one parameter set.
pub(crate) trait Verifier: Send + Sync {
    fn verify(&self, msg: &[u8], ctx: &[u8], sig: &[u8]) -> Result<()>;
    fn to_bytes(&self) -> Vec<u8>;
    fn clone_box(&self) -> Box<dyn Verifier>;
}

struct Sk<P: ParameterSet>(SigningKey<P>);
struct Pk<P: ParameterSet>(VerifyingKey<P>);

impl<P: ParameterSet + 'static> Signer for Sk<P> {
    fn sign(&self, msg: &[u8], ctx: &[u8], opt_rand: Option<&[u8]>) -> Result<Vec<u8>> {
        self.0
            .try_sign_with_context(msg, ctx, opt_rand)
            .map(|s| s.to_vec())
            .map_err(|_| Error::Crypto)
    }
    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.to_vec())
    }
    fn public(&self) -> Box<dyn Verifier> {
        Box::new(Pk::<P>(self.0.as_ref().clone()))
    }
}

impl<P: ParameterSet + 'static> Verifier for Pk<P> {
    fn verify(&self, msg: &[u8], ctx: &[u8], sig: &[u8]) -> Result<()> {
        let sig = Signature::<P>::try_from(sig).map_err(|_| Error::BadSignature)?;
        self.0
            .try_verify_with_context(msg, ctx, &sig)
            .map_err(|_| Error::BadSignature)
    }
    fn to_bytes(&self) -> Vec<u8> {
        self.0.to_vec()
    }
    fn clone_box(&self) -> Box<dyn Verifier> {
        Box::new(Pk::<P>(self.0.clone()))
    }
}

/// `n`, the security parameter in bytes, of a parameter set.
pub(crate) fn n(alg: Algorithm) -> usize {
    alg.seed_len().unwrap_or(0) / 3
}

macro_rules! dispatch {
    ($alg:expr, $f:ident $(, $arg:expr)*) => {
        match $alg {
            Algorithm::SlhDsaSha2_128s => $f::<slh_dsa::Sha2_128s>($($arg),*),
            Algorithm::SlhDsaSha2_128f => $f::<slh_dsa::Sha2_128f>($($arg),*),
            Algorithm::SlhDsaSha2_192s => $f::<slh_dsa::Sha2_192s>($($arg),*),
            Algorithm::SlhDsaSha2_192f => $f::<slh_dsa::Sha2_192f>($($arg),*),
            Algorithm::SlhDsaSha2_256s => $f::<slh_dsa::Sha2_256s>($($arg),*),
            Algorithm::SlhDsaSha2_256f => $f::<slh_dsa::Sha2_256f>($($arg),*),
            Algorithm::SlhDsaShake128s => $f::<slh_dsa::Shake128s>($($arg),*),
            Algorithm::SlhDsaShake128f => $f::<slh_dsa::Shake128f>($($arg),*),
            Algorithm::SlhDsaShake192s => $f::<slh_dsa::Shake192s>($($arg),*),
            Algorithm::SlhDsaShake192f => $f::<slh_dsa::Shake192f>($($arg),*),
            Algorithm::SlhDsaShake256s => $f::<slh_dsa::Shake256s>($($arg),*),
            Algorithm::SlhDsaShake256f => $f::<slh_dsa::Shake256f>($($arg),*),
            other => Err(Error::unsupported(other, "SLH-DSA")),
        }
    };
}

/// Key generation from the 3n-byte seed `sk_seed || sk_prf || pk_seed` (FIPS 205
/// slh_keygen_internal).
pub(crate) fn keygen(alg: Algorithm, seed: &[u8]) -> Result<Box<dyn Signer>> {
    let n = n(alg);
    if seed.len() != 3 * n || n == 0 {
        return Err(Error::length("SLH-DSA seed", 3 * n, seed.len()));
    }
    fn go<P: ParameterSet + 'static>(seed: &[u8], n: usize) -> Result<Box<dyn Signer>> {
        Ok(Box::new(Sk::<P>(SigningKey::<P>::slh_keygen_internal(
            &seed[..n],
            &seed[n..2 * n],
            &seed[2 * n..],
        ))))
    }
    dispatch!(alg, go, seed, n)
}

/// A 4n-byte private key `sk_seed || sk_prf || pk_seed || pk_root`. The root is
/// recomputed from the seeds and must match.
pub(crate) fn sk_from_bytes(alg: Algorithm, bytes: &[u8]) -> Result<Box<dyn Signer>> {
    let n = n(alg);
    if bytes.len() != 4 * n || n == 0 {
        return Err(Error::length("SLH-DSA private key", 4 * n, bytes.len()));
    }
    let key = keygen(alg, &bytes[..3 * n])?;
    let again = key.to_bytes();
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&again[..], bytes)) {
        return Err(Error::InconsistentKey(
            "SLH-DSA public root does not match the seeds",
        ));
    }
    Ok(key)
}

/// A 2n-byte public key `pk_seed || pk_root`.
pub(crate) fn pk_from_bytes(alg: Algorithm, bytes: &[u8]) -> Result<Box<dyn Verifier>> {
    let n = n(alg);
    if bytes.len() != 2 * n || n == 0 {
        return Err(Error::length("SLH-DSA public key", 2 * n, bytes.len()));
    }
    fn go<P: ParameterSet + 'static>(bytes: &[u8]) -> Result<Box<dyn Verifier>> {
        let vk = VerifyingKey::<P>::try_from(bytes)
            .map_err(|_| Error::invalid("SLH-DSA public key", "malformed"))?;
        Ok(Box::new(Pk::<P>(vk)))
    }
    dispatch!(alg, go, bytes)
}
