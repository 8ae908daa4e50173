//! ML-KEM (FIPS 203) on libcrux-ml-kem: seeds, expanded keys, encapsulation.

use crate::{Algorithm, Error, Result, SharedSecret};
use zeroize::{Zeroize, Zeroizing};

/// Length of an ML-KEM seed `d || z`.
pub(crate) const SEED_LEN: usize = 64;
/// Length of the encapsulation randomness `m`.
pub(crate) const ENCAPS_RANDOMNESS_LEN: usize = 32;

/// The libcrux backend an unpacked key is made for. Its AVX2 functions do not check the CPU
/// themselves, so an AVX2 key is made only when [`Backend::detect`] finds AVX2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Backend {
    /// The fastest backend this CPU runs (the check is cached by the standard library).
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Backend::Avx2;
        }
        Backend::Portable
    }

    /// Every backend this CPU runs, for tests that compare them.
    #[cfg(test)]
    fn available() -> Vec<Self> {
        let mut all = vec![Backend::Portable];
        if Backend::detect() != Backend::Portable {
            all.push(Backend::detect());
        }
        all
    }
}

/// Runs `$body` with `$k` bound to the unpacked key inside `$v` and `$b` naming the libcrux
/// backend module (`portable` or `avx2`) that made it.
macro_rules! on_backend {
    ($lib:ident, $enum:ident, $v:expr, |$k:ident, $b:ident| $body:expr) => {
        match $v {
            $enum::Portable($k) => {
                use libcrux_ml_kem::$lib::portable as $b;
                $body
            }
            #[cfg(target_arch = "x86_64")]
            $enum::Avx2($k) => {
                use libcrux_ml_kem::$lib::avx2 as $b;
                $body
            }
        }
    };
}

macro_rules! level {
    ($m:ident, $lib:ident, $kp:ident, $pk:ident, $dk:literal, $ek:literal, $ct:literal) => {
        pub(crate) mod $m {
            use super::*;
            use libcrux_ml_kem::{MlKemCiphertext, MlKemPrivateKey, MlKemPublicKey, $lib as lib};

            pub(crate) const DK_LEN: usize = $dk;
            pub(crate) const EK_LEN: usize = $ek;
            pub(crate) const CT_LEN: usize = $ct;

            /// libcrux's unpacked key pair: the secret vector in NTT form and the public
            /// matrix A already sampled, so decapsulation skips the unpacking that the packed
            /// form repeats on every call.
            enum KeyPair {
                Portable(lib::portable::unpacked::$kp),
                #[cfg(target_arch = "x86_64")]
                Avx2(lib::avx2::unpacked::$kp),
            }

            /// The unpacked public key (t in NTT form, matrix A, H(ek)).
            #[derive(Clone)]
            enum Unpacked {
                Portable(lib::portable::unpacked::$pk),
                #[cfg(target_arch = "x86_64")]
                Avx2(lib::avx2::unpacked::$pk),
            }

            impl KeyPair {
                fn empty(backend: Backend) -> Self {
                    match backend {
                        Backend::Portable => {
                            KeyPair::Portable(lib::portable::unpacked::init_key_pair())
                        }
                        #[cfg(target_arch = "x86_64")]
                        Backend::Avx2 => KeyPair::Avx2(lib::avx2::unpacked::init_key_pair()),
                    }
                }
            }

            /// Expanded decapsulation key, packed (the FIPS 203 encoding, for export) and
            /// unpacked (for decapsulation); both zeroized on drop.
            pub(crate) struct Dk {
                packed: MlKemPrivateKey<DK_LEN>,
                unpacked: KeyPair,
            }

            impl Drop for Dk {
                fn drop(&mut self) {
                    self.packed[0..].zeroize();
                    // The unpacked types are plain arrays without `Zeroize`; overwrite them
                    // with the empty key and keep the store observable so it is not elided.
                    on_backend!($lib, KeyPair, &mut self.unpacked, |kp, b| {
                        *kp = b::unpacked::init_key_pair()
                    });
                    std::hint::black_box(&mut self.unpacked);
                }
            }

            /// Encapsulation key, packed (its bytes) and unpacked (for encapsulation).
            #[derive(Clone)]
            pub(crate) struct Ek {
                packed: MlKemPublicKey<EK_LEN>,
                unpacked: Unpacked,
            }

            impl Ek {
                pub(crate) fn as_bytes(&self) -> &[u8] {
                    self.packed.as_slice()
                }
            }

            /// Builds the unpacked key pair in place on the heap from a packed key, which
            /// the caller has checked.
            fn dk_from_packed(backend: Backend, packed: MlKemPrivateKey<DK_LEN>) -> Box<Dk> {
                let mut dk = Box::new(Dk {
                    packed,
                    unpacked: KeyPair::empty(backend),
                });
                let Dk { packed, unpacked } = &mut *dk;
                on_backend!($lib, KeyPair, unpacked, |kp, b| {
                    b::unpacked::key_pair_from_private_mut(packed, kp)
                });
                dk
            }

            pub(crate) fn keygen(backend: Backend, seed: &[u8; SEED_LEN]) -> (Box<Dk>, Box<Ek>) {
                let mut dk = Box::new(Dk {
                    packed: MlKemPrivateKey::default(),
                    unpacked: KeyPair::empty(backend),
                });
                let mut packed_ek = MlKemPublicKey::default();
                let Dk { packed, unpacked } = &mut *dk;
                let unpacked_ek = on_backend!($lib, KeyPair, unpacked, |kp, b| {
                    b::unpacked::generate_key_pair_mut(*seed, kp);
                    b::unpacked::key_pair_serialized_private_key_mut(kp, packed);
                    b::unpacked::key_pair_serialized_public_key_mut(kp, &mut packed_ek);
                    Unpacked::from(kp.public_key().clone())
                });
                let ek = Box::new(Ek {
                    packed: packed_ek,
                    unpacked: unpacked_ek,
                });
                (dk, ek)
            }

            impl From<lib::portable::unpacked::$pk> for Unpacked {
                fn from(pk: lib::portable::unpacked::$pk) -> Self {
                    Unpacked::Portable(pk)
                }
            }

            #[cfg(target_arch = "x86_64")]
            impl From<lib::avx2::unpacked::$pk> for Unpacked {
                fn from(pk: lib::avx2::unpacked::$pk) -> Self {
                    Unpacked::Avx2(pk)
                }
            }

            pub(crate) fn dk_from_expanded(
                backend: Backend,
                bytes: &[u8],
            ) -> Result<(Box<Dk>, Box<Ek>)> {
                if bytes.len() != DK_LEN {
                    return Err(Error::length(
                        "ML-KEM decapsulation key",
                        DK_LEN,
                        bytes.len(),
                    ));
                }
                let packed = MlKemPrivateKey::try_from(bytes).map_err(|_| Error::Crypto)?;
                // FIPS 203 7.3: the hash check H(ek) == h inside the expanded key.
                let ct = MlKemCiphertext::<CT_LEN>::default();
                if !lib::validate_private_key(&packed, &ct) {
                    let mut packed = packed;
                    packed[0..].zeroize();
                    return Err(Error::InconsistentKey(
                        "ML-KEM decapsulation key hash check failed",
                    ));
                }
                let pke_len = DK_LEN - EK_LEN - 64;
                let ek = ek_from_bytes(backend, &bytes[pke_len..pke_len + EK_LEN])?;
                Ok((dk_from_packed(backend, packed), ek))
            }

            pub(crate) fn dk_bytes(dk: &Dk) -> Zeroizing<Vec<u8>> {
                Zeroizing::new(dk.packed.as_slice().to_vec())
            }

            pub(crate) fn ek_from_bytes(backend: Backend, bytes: &[u8]) -> Result<Box<Ek>> {
                if bytes.len() != EK_LEN {
                    return Err(Error::length(
                        "ML-KEM encapsulation key",
                        EK_LEN,
                        bytes.len(),
                    ));
                }
                let packed = MlKemPublicKey::try_from(bytes).map_err(|_| Error::Crypto)?;
                // FIPS 203 7.2: the modulus check, done once when the key is parsed.
                if !lib::validate_public_key(&packed) {
                    return Err(Error::invalid(
                        "ML-KEM encapsulation key",
                        "coefficient out of range (modulus check failed)",
                    ));
                }
                let unpacked = match backend {
                    Backend::Portable => {
                        let mut pk = lib::portable::unpacked::init_public_key();
                        lib::portable::unpacked::unpacked_public_key(&packed, &mut pk);
                        Unpacked::Portable(pk)
                    }
                    #[cfg(target_arch = "x86_64")]
                    Backend::Avx2 => {
                        let mut pk = lib::avx2::unpacked::init_public_key();
                        lib::avx2::unpacked::unpacked_public_key(&packed, &mut pk);
                        Unpacked::Avx2(pk)
                    }
                };
                Ok(Box::new(Ek { packed, unpacked }))
            }

            pub(crate) fn encapsulate(
                ek: &Ek,
                m: [u8; ENCAPS_RANDOMNESS_LEN],
            ) -> (Vec<u8>, SharedSecret) {
                let (ct, mut ss) = on_backend!($lib, Unpacked, &ek.unpacked, |pk, b| {
                    b::unpacked::encapsulate(pk, m)
                });
                let out = SharedSecret::from_slice(&ss);
                ss.zeroize();
                (ct.as_slice().to_vec(), out)
            }

            pub(crate) fn decapsulate(dk: &Dk, ct: &[u8]) -> Result<SharedSecret> {
                let ct = MlKemCiphertext::<CT_LEN>::try_from(ct)
                    .map_err(|_| Error::length("ML-KEM ciphertext", CT_LEN, ct.len()))?;
                let mut ss = on_backend!($lib, KeyPair, &dk.unpacked, |kp, b| {
                    b::unpacked::decapsulate(kp, &ct)
                });
                let out = SharedSecret::from_slice(&ss);
                ss.zeroize();
                Ok(out)
            }
        }
    };
}

level!(
    l512,
    mlkem512,
    MlKem512KeyPairUnpacked,
    MlKem512PublicKeyUnpacked,
    1632,
    800,
    768
);
level!(
    l768,
    mlkem768,
    MlKem768KeyPairUnpacked,
    MlKem768PublicKeyUnpacked,
    2400,
    1184,
    1088
);
level!(
    l1024,
    mlkem1024,
    MlKem1024KeyPairUnpacked,
    MlKem1024PublicKeyUnpacked,
    3168,
    1568,
    1568
);

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
            let (d, e) = l512::keygen(Backend::detect(), seed);
            (Dk::L512(d), Ek::L512(e))
        }
        Algorithm::MlKem768 => {
            let (d, e) = l768::keygen(Backend::detect(), seed);
            (Dk::L768(d), Ek::L768(e))
        }
        Algorithm::MlKem1024 => {
            let (d, e) = l1024::keygen(Backend::detect(), seed);
            (Dk::L1024(d), Ek::L1024(e))
        }
        other => return Err(Error::unsupported(other, "ML-KEM")),
    })
}

pub(crate) fn from_expanded(alg: Algorithm, bytes: &[u8]) -> Result<(Dk, Ek)> {
    Ok(match alg {
        Algorithm::MlKem512 => {
            let (d, e) = l512::dk_from_expanded(Backend::detect(), bytes)?;
            (Dk::L512(d), Ek::L512(e))
        }
        Algorithm::MlKem768 => {
            let (d, e) = l768::dk_from_expanded(Backend::detect(), bytes)?;
            (Dk::L768(d), Ek::L768(e))
        }
        Algorithm::MlKem1024 => {
            let (d, e) = l1024::dk_from_expanded(Backend::detect(), bytes)?;
            (Dk::L1024(d), Ek::L1024(e))
        }
        other => return Err(Error::unsupported(other, "ML-KEM")),
    })
}

pub(crate) fn ek_from_bytes(alg: Algorithm, bytes: &[u8]) -> Result<Ek> {
    Ok(match alg {
        Algorithm::MlKem512 => Ek::L512(l512::ek_from_bytes(Backend::detect(), bytes)?),
        Algorithm::MlKem768 => Ek::L768(l768::ek_from_bytes(Backend::detect(), bytes)?),
        Algorithm::MlKem1024 => Ek::L1024(l1024::ek_from_bytes(Backend::detect(), bytes)?),
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
            Ek::L512(k) => k.as_bytes(),
            Ek::L768(k) => k.as_bytes(),
            Ek::L1024(k) => k.as_bytes(),
        }
    }

    pub(crate) fn clone_box(&self) -> Ek {
        match self {
            Ek::L512(k) => Ek::L512(k.clone()),
            Ek::L768(k) => Ek::L768(k.clone()),
            Ek::L1024(k) => Ek::L1024(k.clone()),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The portable and AVX2 unpacked keys agree byte for byte: same keys from a seed, and a
    /// ciphertext made with one backend's key decapsulates with the other's. On a CPU
    /// without AVX2 this checks the portable backend against itself.
    macro_rules! backends_agree {
        ($name:ident, $m:ident) => {
            #[test]
            fn $name() {
                let seed = [0x5au8; SEED_LEN];
                let keys: Vec<_> = Backend::available()
                    .into_iter()
                    .map(|b| {
                        let (dk, ek) = $m::keygen(b, &seed);
                        let (dk2, ek2) = $m::dk_from_expanded(b, &$m::dk_bytes(&dk)).unwrap();
                        assert_eq!(*$m::dk_bytes(&dk2), *$m::dk_bytes(&dk));
                        assert_eq!(ek2.as_bytes(), ek.as_bytes());
                        (dk, ek)
                    })
                    .collect();
                for (dk_a, ek_a) in &keys {
                    for (dk_b, ek_b) in &keys {
                        assert_eq!(*$m::dk_bytes(dk_a), *$m::dk_bytes(dk_b));
                        assert_eq!(ek_a.as_bytes(), ek_b.as_bytes());
                        let (ct, ss) = $m::encapsulate(ek_a, [3u8; ENCAPS_RANDOMNESS_LEN]);
                        let (ct_b, ss_b) = $m::encapsulate(ek_b, [3u8; ENCAPS_RANDOMNESS_LEN]);
                        assert_eq!(ct, ct_b);
                        assert_eq!(ss.expose(), ss_b.expose());
                        assert_eq!($m::decapsulate(dk_b, &ct).unwrap().expose(), ss.expose());
                        // Implicit rejection agrees too.
                        let mut bad = ct.clone();
                        bad[0] ^= 1;
                        assert_eq!(
                            $m::decapsulate(dk_a, &bad).unwrap().expose(),
                            $m::decapsulate(dk_b, &bad).unwrap().expose()
                        );
                        assert_ne!($m::decapsulate(dk_a, &bad).unwrap().expose(), ss.expose());
                    }
                }
            }
        };
    }

    backends_agree!(backends_agree_512, l512);
    backends_agree!(backends_agree_768, l768);
    backends_agree!(backends_agree_1024, l1024);
}
