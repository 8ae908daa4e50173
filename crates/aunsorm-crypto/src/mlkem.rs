//! ML-KEM (FIPS 203) on libcrux-ml-kem: seeds, expanded keys, encapsulation.

use crate::{Algorithm, Error, Result, SharedSecret};
use zeroize::{Zeroize, Zeroizing};

/// Length of an ML-KEM seed `d || z`.
pub(crate) const SEED_LEN: usize = 64;
/// Length of the encapsulation randomness `m`.
pub(crate) const ENCAPS_RANDOMNESS_LEN: usize = 32;

macro_rules! level {
    ($m:ident, $lib:ident, $dk:literal, $ek:literal, $ct:literal) => {
        pub(crate) mod $m {
            use super::*;
            use libcrux_ml_kem::{MlKemCiphertext, MlKemPrivateKey, MlKemPublicKey, $lib as lib};

            pub(crate) const DK_LEN: usize = $dk;
            pub(crate) const EK_LEN: usize = $ek;
            pub(crate) const CT_LEN: usize = $ct;

            /// Expanded decapsulation key; zeroized on drop.
            pub(crate) struct Dk(MlKemPrivateKey<DK_LEN>);

            impl Drop for Dk {
                fn drop(&mut self) {
                    self.0[0..].zeroize();
                }
            }

            pub(crate) struct Ek(pub(crate) MlKemPublicKey<EK_LEN>);

            pub(crate) fn keygen(seed: &[u8; SEED_LEN]) -> (Box<Dk>, Box<Ek>) {
                let kp = lib::generate_key_pair(*seed);
                let (sk, pk) = kp.into_parts();
                (Box::new(Dk(sk)), Box::new(Ek(pk)))
            }

            pub(crate) fn dk_from_expanded(bytes: &[u8]) -> Result<(Box<Dk>, Box<Ek>)> {
                if bytes.len() != DK_LEN {
                    return Err(Error::length(
                        "ML-KEM decapsulation key",
                        DK_LEN,
                        bytes.len(),
                    ));
                }
                let dk = Box::new(Dk(
                    MlKemPrivateKey::try_from(bytes).map_err(|_| Error::Crypto)?
                ));
                // FIPS 203 7.3: the hash check H(ek) == h inside the expanded key.
                let ct = MlKemCiphertext::<CT_LEN>::default();
                if !lib::validate_private_key(&dk.0, &ct) {
                    return Err(Error::InconsistentKey(
                        "ML-KEM decapsulation key hash check failed",
                    ));
                }
                let pke_len = DK_LEN - EK_LEN - 64;
                let ek = ek_from_bytes(&bytes[pke_len..pke_len + EK_LEN])?;
                Ok((dk, ek))
            }

            pub(crate) fn dk_bytes(dk: &Dk) -> Zeroizing<Vec<u8>> {
                Zeroizing::new(dk.0.as_slice().to_vec())
            }

            pub(crate) fn ek_from_bytes(bytes: &[u8]) -> Result<Box<Ek>> {
                if bytes.len() != EK_LEN {
                    return Err(Error::length(
                        "ML-KEM encapsulation key",
                        EK_LEN,
                        bytes.len(),
                    ));
                }
                let ek = MlKemPublicKey::try_from(bytes).map_err(|_| Error::Crypto)?;
                // FIPS 203 7.2: the modulus check, done once when the key is parsed.
                if !lib::validate_public_key(&ek) {
                    return Err(Error::invalid(
                        "ML-KEM encapsulation key",
                        "coefficient out of range (modulus check failed)",
                    ));
                }
                Ok(Box::new(Ek(ek)))
            }

            pub(crate) fn encapsulate(
                ek: &Ek,
                m: [u8; ENCAPS_RANDOMNESS_LEN],
            ) -> (Vec<u8>, SharedSecret) {
                let (ct, ss) = lib::encapsulate(&ek.0, m);
                (ct.as_slice().to_vec(), SharedSecret::from_slice(&ss))
            }

            pub(crate) fn decapsulate(dk: &Dk, ct: &[u8]) -> Result<SharedSecret> {
                let ct = MlKemCiphertext::<CT_LEN>::try_from(ct)
                    .map_err(|_| Error::length("ML-KEM ciphertext", CT_LEN, ct.len()))?;
                let mut ss = lib::decapsulate(&dk.0, &ct);
                let out = SharedSecret::from_slice(&ss);
                ss.zeroize();
                Ok(out)
            }
        }
    };
}

level!(l512, mlkem512, 1632, 800, 768);
level!(l768, mlkem768, 2400, 1184, 1088);
level!(l1024, mlkem1024, 3168, 1568, 1568);

/// An ML-KEM decapsulation key of any parameter set.
pub(crate) enum Dk {
    L512(Box<l512::Dk>),
    L768(Box<l768::Dk>),
    L1024(Box<l1024::Dk>),
}

/// An ML-KEM encapsulation key of any parameter set, validated.
pub(crate) enum Ek {
    L512(Box<l512::Ek>),
    L768(Box<l768::Ek>),
    L1024(Box<l1024::Ek>),
}

pub(crate) fn keygen(alg: Algorithm, seed: &[u8; SEED_LEN]) -> Result<(Dk, Ek)> {
    Ok(match alg {
        Algorithm::MlKem512 => {
            let (d, e) = l512::keygen(seed);
            (Dk::L512(d), Ek::L512(e))
        }
        Algorithm::MlKem768 => {
            let (d, e) = l768::keygen(seed);
            (Dk::L768(d), Ek::L768(e))
        }
        Algorithm::MlKem1024 => {
            let (d, e) = l1024::keygen(seed);
            (Dk::L1024(d), Ek::L1024(e))
        }
        other => return Err(Error::unsupported(other, "ML-KEM")),
    })
}

pub(crate) fn from_expanded(alg: Algorithm, bytes: &[u8]) -> Result<(Dk, Ek)> {
    Ok(match alg {
        Algorithm::MlKem512 => {
            let (d, e) = l512::dk_from_expanded(bytes)?;
            (Dk::L512(d), Ek::L512(e))
        }
        Algorithm::MlKem768 => {
            let (d, e) = l768::dk_from_expanded(bytes)?;
            (Dk::L768(d), Ek::L768(e))
        }
        Algorithm::MlKem1024 => {
            let (d, e) = l1024::dk_from_expanded(bytes)?;
            (Dk::L1024(d), Ek::L1024(e))
        }
        other => return Err(Error::unsupported(other, "ML-KEM")),
    })
}

pub(crate) fn ek_from_bytes(alg: Algorithm, bytes: &[u8]) -> Result<Ek> {
    Ok(match alg {
        Algorithm::MlKem512 => Ek::L512(l512::ek_from_bytes(bytes)?),
        Algorithm::MlKem768 => Ek::L768(l768::ek_from_bytes(bytes)?),
        Algorithm::MlKem1024 => Ek::L1024(l1024::ek_from_bytes(bytes)?),
        other => return Err(Error::unsupported(other, "ML-KEM")),
    })
}

impl Dk {
    pub(crate) fn decapsulate(&self, ct: &[u8]) -> Result<SharedSecret> {
        match self {
            Dk::L512(k) => l512::decapsulate(k, ct),
            Dk::L768(k) => l768::decapsulate(k, ct),
            Dk::L1024(k) => l1024::decapsulate(k, ct),
        }
    }

    pub(crate) fn expanded_bytes(&self) -> Zeroizing<Vec<u8>> {
        match self {
            Dk::L512(k) => l512::dk_bytes(k),
            Dk::L768(k) => l768::dk_bytes(k),
            Dk::L1024(k) => l1024::dk_bytes(k),
        }
    }
}

impl Ek {
    pub(crate) fn encapsulate(&self, m: [u8; ENCAPS_RANDOMNESS_LEN]) -> (Vec<u8>, SharedSecret) {
        match self {
            Ek::L512(k) => l512::encapsulate(k, m),
            Ek::L768(k) => l768::encapsulate(k, m),
            Ek::L1024(k) => l1024::encapsulate(k, m),
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Ek::L512(k) => k.0.as_slice(),
            Ek::L768(k) => k.0.as_slice(),
            Ek::L1024(k) => k.0.as_slice(),
        }
    }

    pub(crate) fn clone_box(&self) -> Ek {
        match self {
            Ek::L512(k) => Ek::L512(Box::new(l512::Ek(k.0.clone()))),
            Ek::L768(k) => Ek::L768(Box::new(l768::Ek(k.0.clone()))),
            Ek::L1024(k) => Ek::L1024(Box::new(l1024::Ek(k.0.clone()))),
        }
    }
}

/// Ciphertext length of an ML-KEM parameter set.
pub(crate) const fn ct_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::MlKem512 => l512::CT_LEN,
        Algorithm::MlKem768 => l768::CT_LEN,
        _ => l1024::CT_LEN,
    }
}
