//! ML-DSA (FIPS 204) on libcrux-ml-dsa: seeds, expanded keys, pure signing with a
//! context string, hedged or deterministic.

use crate::{Algorithm, Error, Result};
use zeroize::Zeroize;

/// Length of an ML-DSA seed `xi`.
pub(crate) const SEED_LEN: usize = 32;
/// Largest context string FIPS 204 allows.
pub(crate) const MAX_CONTEXT_LEN: usize = 255;

macro_rules! level {
    ($m:ident, $lib:ident, $sk:literal, $pk:literal, $sig:literal) => {
        pub(crate) mod $m {
            use super::*;
            use libcrux_ml_dsa::{
                MLDSASignature, MLDSASigningKey, MLDSAVerificationKey, $lib as lib,
            };

            pub(crate) const SK_LEN: usize = $sk;
            pub(crate) const PK_LEN: usize = $pk;
            pub(crate) const SIG_LEN: usize = $sig;

            pub(crate) struct Sk(MLDSASigningKey<SK_LEN>);

            impl Drop for Sk {
                fn drop(&mut self) {
                    self.0.as_mut_slice().zeroize();
                }
            }

            pub(crate) struct Pk(pub(crate) MLDSAVerificationKey<PK_LEN>);

            pub(crate) fn keygen(seed: &[u8; SEED_LEN]) -> (Box<Sk>, Box<Pk>) {
                let kp = lib::generate_key_pair(*seed);
                (
                    Box::new(Sk(kp.signing_key)),
                    Box::new(Pk(kp.verification_key)),
                )
            }

            pub(crate) fn sk_from_expanded(bytes: &[u8]) -> Result<Box<Sk>> {
                let arr: [u8; SK_LEN] = bytes
                    .try_into()
                    .map_err(|_| Error::length("ML-DSA private key", SK_LEN, bytes.len()))?;
                Ok(Box::new(Sk(MLDSASigningKey::new(arr))))
            }

            pub(crate) fn sk_bytes(sk: &Sk) -> &[u8] {
                sk.0.as_slice()
            }

            pub(crate) fn pk_from_bytes(bytes: &[u8]) -> Result<Box<Pk>> {
                let arr: [u8; PK_LEN] = bytes
                    .try_into()
                    .map_err(|_| Error::length("ML-DSA public key", PK_LEN, bytes.len()))?;
                Ok(Box::new(Pk(MLDSAVerificationKey::new(arr))))
            }

            pub(crate) fn sign(sk: &Sk, msg: &[u8], ctx: &[u8], rnd: [u8; 32]) -> Result<Vec<u8>> {
                lib::sign(&sk.0, msg, ctx, rnd)
                    .map(|s| s.as_slice().to_vec())
                    .map_err(|_| Error::Crypto)
            }

            pub(crate) fn verify(pk: &Pk, msg: &[u8], ctx: &[u8], sig: &[u8]) -> Result<()> {
                let arr: [u8; SIG_LEN] = sig.try_into().map_err(|_| Error::BadSignature)?;
                lib::verify(&pk.0, msg, ctx, &MLDSASignature::new(arr))
                    .map_err(|_| Error::BadSignature)
            }
        }
    };
}

level!(l44, ml_dsa_44, 2560, 1312, 2420);
level!(l65, ml_dsa_65, 4032, 1952, 3309);
level!(l87, ml_dsa_87, 4896, 2592, 4627);

/// An ML-DSA signing key (expanded form, as libcrux uses it).
pub(crate) enum Sk {
    L44(Box<l44::Sk>),
    L65(Box<l65::Sk>),
    L87(Box<l87::Sk>),
}

/// An ML-DSA verification key.
pub(crate) enum Pk {
    L44(Box<l44::Pk>),
    L65(Box<l65::Pk>),
    L87(Box<l87::Pk>),
}

pub(crate) fn keygen(alg: Algorithm, seed: &[u8; SEED_LEN]) -> Result<(Sk, Pk)> {
    Ok(match alg {
        Algorithm::MlDsa44 => {
            let (s, p) = l44::keygen(seed);
            (Sk::L44(s), Pk::L44(p))
        }
        Algorithm::MlDsa65 => {
            let (s, p) = l65::keygen(seed);
            (Sk::L65(s), Pk::L65(p))
        }
        Algorithm::MlDsa87 => {
            let (s, p) = l87::keygen(seed);
            (Sk::L87(s), Pk::L87(p))
        }
        other => return Err(Error::unsupported(other, "ML-DSA")),
    })
}

/// An expanded private key with its public key. FIPS 204 puts `tr = H(pk, 64)` at bytes
/// 64..128 of the private key; the two must agree.
pub(crate) fn from_expanded(alg: Algorithm, sk: &[u8], pk: &[u8]) -> Result<(Sk, Pk)> {
    let pair = match alg {
        Algorithm::MlDsa44 => (
            Sk::L44(l44::sk_from_expanded(sk)?),
            Pk::L44(l44::pk_from_bytes(pk)?),
        ),
        Algorithm::MlDsa65 => (
            Sk::L65(l65::sk_from_expanded(sk)?),
            Pk::L65(l65::pk_from_bytes(pk)?),
        ),
        Algorithm::MlDsa87 => (
            Sk::L87(l87::sk_from_expanded(sk)?),
            Pk::L87(l87::pk_from_bytes(pk)?),
        ),
        other => return Err(Error::unsupported(other, "ML-DSA")),
    };
    let tr = shake256_64(pk);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&sk[64..128], &tr[..])) || sk[..32] != pk[..32] {
        return Err(Error::InconsistentKey(
            "ML-DSA private key does not match its public key",
        ));
    }
    Ok(pair)
}

/// For known-answer tests only: an expanded key with a placeholder public key (the
/// public key's leading `rho` from the private key, zeros after it).
#[cfg(feature = "kat")]
pub(crate) fn from_expanded_unchecked(alg: Algorithm, sk: &[u8]) -> Result<(Sk, Pk)> {
    let pk_len = match alg {
        Algorithm::MlDsa44 => l44::PK_LEN,
        Algorithm::MlDsa65 => l65::PK_LEN,
        _ => l87::PK_LEN,
    };
    let mut pk = vec![0u8; pk_len];
    pk[..32].copy_from_slice(sk.get(..32).ok_or(Error::length(
        "ML-DSA private key",
        32,
        sk.len(),
    ))?);
    Ok(match alg {
        Algorithm::MlDsa44 => (
            Sk::L44(l44::sk_from_expanded(sk)?),
            Pk::L44(l44::pk_from_bytes(&pk)?),
        ),
        Algorithm::MlDsa65 => (
            Sk::L65(l65::sk_from_expanded(sk)?),
            Pk::L65(l65::pk_from_bytes(&pk)?),
        ),
        Algorithm::MlDsa87 => (
            Sk::L87(l87::sk_from_expanded(sk)?),
            Pk::L87(l87::pk_from_bytes(&pk)?),
        ),
        other => return Err(Error::unsupported(other, "ML-DSA")),
    })
}

pub(crate) fn pk_from_bytes(alg: Algorithm, bytes: &[u8]) -> Result<Pk> {
    Ok(match alg {
        Algorithm::MlDsa44 => Pk::L44(l44::pk_from_bytes(bytes)?),
        Algorithm::MlDsa65 => Pk::L65(l65::pk_from_bytes(bytes)?),
        Algorithm::MlDsa87 => Pk::L87(l87::pk_from_bytes(bytes)?),
        other => return Err(Error::unsupported(other, "ML-DSA")),
    })
}

impl Sk {
    pub(crate) fn sign(&self, msg: &[u8], ctx: &[u8], rnd: [u8; 32]) -> Result<Vec<u8>> {
        check_context(ctx)?;
        match self {
            Sk::L44(k) => l44::sign(k, msg, ctx, rnd),
            Sk::L65(k) => l65::sign(k, msg, ctx, rnd),
            Sk::L87(k) => l87::sign(k, msg, ctx, rnd),
        }
    }

    pub(crate) fn expanded_bytes(&self) -> &[u8] {
        match self {
            Sk::L44(k) => l44::sk_bytes(k),
            Sk::L65(k) => l65::sk_bytes(k),
            Sk::L87(k) => l87::sk_bytes(k),
        }
    }
}

impl Pk {
    pub(crate) fn verify(&self, msg: &[u8], ctx: &[u8], sig: &[u8]) -> Result<()> {
        check_context(ctx)?;
        match self {
            Pk::L44(k) => l44::verify(k, msg, ctx, sig),
            Pk::L65(k) => l65::verify(k, msg, ctx, sig),
            Pk::L87(k) => l87::verify(k, msg, ctx, sig),
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Pk::L44(k) => k.0.as_slice(),
            Pk::L65(k) => k.0.as_slice(),
            Pk::L87(k) => k.0.as_slice(),
        }
    }

    pub(crate) fn clone_box(&self) -> Pk {
        match self {
            Pk::L44(k) => Pk::L44(Box::new(l44::Pk(k.0.clone()))),
            Pk::L65(k) => Pk::L65(Box::new(l65::Pk(k.0.clone()))),
            Pk::L87(k) => Pk::L87(Box::new(l87::Pk(k.0.clone()))),
        }
    }
}

pub(crate) fn check_context(ctx: &[u8]) -> Result<()> {
    if ctx.len() > MAX_CONTEXT_LEN {
        return Err(Error::InvalidLength {
            what: "signature context",
            expected: format!("at most {MAX_CONTEXT_LEN}"),
            got: ctx.len(),
        });
    }
    Ok(())
}

fn shake256_64(data: &[u8]) -> [u8; 64] {
    use sha3::digest::{ExtendableOutput, Update, XofReader};
    let mut h = sha3::Shake256::default();
    h.update(data);
    let mut out = [0u8; 64];
    h.finalize_xof().read(&mut out);
    out
}
