//! Asymmetric keys of every algorithm behind two types, [`PrivateKey`] and
//! [`PublicKey`], with generation, signing, encapsulation and the standard encodings.

use crate::hybrid::{mldsa65_ed25519_draft13 as composite, xwing_draft06 as xwing};
use crate::{Algorithm, AlgorithmKind, Error, Result, SecretBytes, SharedSecret};
use crate::{classic, encoding, mldsa, mlkem, rng, slhdsa};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{self as awsrsa, KeySize};
use aws_lc_rs::signature::{self as awssig, KeyPair};
use zeroize::Zeroizing;

/// RSA signature padding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RsaPadding {
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
    #[default]
    Pss,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Pkcs1v15,
}

/// ECDSA signature encoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EcdsaFormat {
    /// ASN.1 DER `SEQUENCE { r, s }`, as X.509, OpenSSL and Vault's `asn1` marshaling.
    #[default]
    Der,
    /// Fixed-width `r || s` (IEEE P1363), as JOSE and Vault's `jws` marshaling.
    Fixed,
}

/// Options for [`PrivateKey::sign`] and [`PublicKey::verify`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SignOptions<'a> {
    context: &'a [u8],
    rsa_padding: RsaPadding,
    ecdsa_format: EcdsaFormat,
    deterministic: bool,
}

impl<'a> SignOptions<'a> {
    /// Defaults: empty context, RSA-PSS, DER-encoded ECDSA, hedged (randomized) signing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The context string of FIPS 204/205 and the composite draft (at most 255 bytes).
    /// Algorithms without contexts refuse a non-empty one.
    pub fn context(mut self, ctx: &'a [u8]) -> Self {
        self.context = ctx;
        self
    }

    /// RSA padding.
    pub fn rsa_padding(mut self, p: RsaPadding) -> Self {
        self.rsa_padding = p;
        self
    }

    /// ECDSA signature encoding.
    pub fn ecdsa_format(mut self, f: EcdsaFormat) -> Self {
        self.ecdsa_format = f;
        self
    }

    /// Deterministic signing for ML-DSA (rnd = 0) and SLH-DSA (no opt_rand), for
    /// known-answer tests. The default hedged mode is the safer choice.
    pub fn deterministic(mut self, yes: bool) -> Self {
        self.deterministic = yes;
        self
    }
}

/// A private key of any asymmetric algorithm.
///
/// # Security
/// Secret material is zeroized on drop and never printed (`Debug` shows the algorithm
/// only). Post-quantum keys keep their seed, the form they are exported and stored in.
pub struct PrivateKey {
    alg: Algorithm,
    inner: Priv,
}

enum Priv {
    Ed25519 {
        seed: Zeroizing<[u8; 32]>,
        kp: awssig::Ed25519KeyPair,
    },
    Ecdsa(awssig::EcdsaKeyPair),
    Rsa(Box<awsrsa::KeyPair>),
    X25519 {
        sk: Zeroizing<[u8; 32]>,
        pk: [u8; 32],
    },
    MlKem {
        seed: Option<Zeroizing<[u8; 64]>>,
        dk: mlkem::Dk,
        ek: mlkem::Ek,
    },
    MlDsa {
        seed: Option<Zeroizing<[u8; 32]>>,
        sk: mldsa::Sk,
        pk: mldsa::Pk,
    },
    SlhDsa(Box<dyn slhdsa::Signer>),
    XWing(Box<xwing::DecapsulationKey>),
    Composite(Box<composite::SigningKey>),
    #[cfg(feature = "experimental-fn-dsa")]
    FnDsa(Box<crate::fndsa::Sk>),
}

/// A public key of any asymmetric algorithm, parsed and validated once.
pub struct PublicKey {
    alg: Algorithm,
    inner: Pub,
}

enum Pub {
    Ed25519([u8; 32]),
    /// Uncompressed SEC1 point.
    Ecdsa(Vec<u8>),
    /// PKCS#1 RSAPublicKey DER.
    Rsa(Vec<u8>),
    X25519([u8; 32]),
    MlKem(mlkem::Ek),
    MlDsa(mldsa::Pk),
    SlhDsa(Box<dyn slhdsa::Verifier>),
    XWing(Box<xwing::EncapsulationKey>),
    Composite(Box<composite::VerifyingKey>),
    #[cfg(feature = "experimental-fn-dsa")]
    FnDsa(Vec<u8>),
}

impl core::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PrivateKey({}, [redacted])", self.alg)
    }
}

impl core::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PublicKey({}, {} bytes)", self.alg, self.to_raw().len())
    }
}

impl PrivateKey {
    /// Generates a key from the system RNG.
    ///
    /// # Errors
    /// [`Error::UnsupportedOperation`] for symmetric algorithms,
    /// [`Error::AlgorithmUnavailable`] for algorithms not in this build,
    /// [`Error::Entropy`] if the RNG fails.
    pub fn generate(alg: Algorithm) -> Result<Self> {
        match alg {
            Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 => {
                let size = match alg {
                    Algorithm::Rsa2048 => KeySize::Rsa2048,
                    Algorithm::Rsa3072 => KeySize::Rsa3072,
                    _ => KeySize::Rsa4096,
                };
                let kp = awsrsa::KeyPair::generate(size).map_err(|_| Error::Crypto)?;
                Ok(PrivateKey {
                    alg,
                    inner: Priv::Rsa(Box::new(kp)),
                })
            }
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
                let kp = awssig::EcdsaKeyPair::generate(ecdsa_signing(alg))
                    .map_err(|_| Error::Crypto)?;
                Ok(PrivateKey {
                    alg,
                    inner: Priv::Ecdsa(kp),
                })
            }
            _ => {
                check_asymmetric(alg)?;
                let len = alg.seed_len().ok_or(Error::Crypto)?;
                let mut seed = Zeroizing::new(vec![0u8; len]);
                rng::fill(&mut seed)?;
                Self::from_seed(alg, &seed)
            }
        }
    }

    /// Derives a key deterministically from the algorithm's standard seed:
    /// ML-KEM `d || z` (64 bytes), ML-DSA `xi` (32), Ed25519 and X25519 private keys
    /// (32), SLH-DSA `sk_seed || sk_prf || pk_seed` (3n), X-Wing (32), ECDSA the private
    /// scalar, ML-DSA-65+Ed25519 the two component seeds (64).
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for a seed of the wrong length;
    /// [`Error::UnsupportedOperation`] for RSA (no standard seed) and symmetric algorithms.
    pub fn from_seed(alg: Algorithm, seed: &[u8]) -> Result<Self> {
        check_asymmetric(alg)?;
        let want = alg
            .seed_len()
            .ok_or(Error::unsupported(alg, "key generation from a seed"))?;
        if seed.len() != want {
            return Err(Error::length("seed", want, seed.len()));
        }
        let inner = match alg {
            Algorithm::Ed25519 => {
                let kp =
                    awssig::Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| Error::Crypto)?;
                Priv::Ed25519 {
                    seed: Zeroizing::new(arr(seed)?),
                    kp,
                }
            }
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
                let der = classic::ec_private_key_der(alg, seed)?;
                let kp = awssig::EcdsaKeyPair::from_private_key_der(ecdsa_signing(alg), &der)
                    .map_err(|_| Error::invalid("EC private key", "scalar out of range"))?;
                Priv::Ecdsa(kp)
            }
            Algorithm::X25519 => {
                let sk = Zeroizing::new(arr::<32>(seed)?);
                let pk = classic::x25519_public(&sk)?;
                Priv::X25519 { sk, pk }
            }
            Algorithm::MlKem512 | Algorithm::MlKem768 | Algorithm::MlKem1024 => {
                let s = Zeroizing::new(arr::<64>(seed)?);
                let (dk, ek) = mlkem::keygen(alg, &s)?;
                Priv::MlKem {
                    seed: Some(s),
                    dk,
                    ek,
                }
            }
            Algorithm::MlDsa44 | Algorithm::MlDsa65 | Algorithm::MlDsa87 => {
                let s = Zeroizing::new(arr::<32>(seed)?);
                let (sk, pk) = mldsa::keygen(alg, &s)?;
                Priv::MlDsa {
                    seed: Some(s),
                    sk,
                    pk,
                }
            }
            a if a.is_slh_dsa() => Priv::SlhDsa(slhdsa::keygen(a, seed)?),
            Algorithm::XWingDraft06 => Priv::XWing(Box::new(xwing::from_seed(&arr(seed)?)?)),
            Algorithm::MlDsa65Ed25519Draft13 => {
                Priv::Composite(Box::new(composite::from_seed(&arr(seed)?)?))
            }
            #[cfg(feature = "experimental-fn-dsa")]
            Algorithm::FnDsa512 | Algorithm::FnDsa1024 => {
                Priv::FnDsa(Box::new(crate::fndsa::keygen(alg, &arr(seed)?)?))
            }
            other => return Err(Error::AlgorithmUnavailable(other)),
        };
        Ok(PrivateKey { alg, inner })
    }

    /// Builds an ML-KEM or ML-DSA key from its expanded (FIPS 203/204 encoded) private
    /// key. ML-DSA needs the public key too, since it cannot be recomputed from the
    /// expanded form; ML-KEM carries it inside. Prefer seeds: keys made here have none.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for wrong sizes, [`Error::InconsistentKey`] when the
    /// embedded hashes do not match.
    pub fn from_expanded(alg: Algorithm, expanded: &[u8], public: Option<&[u8]>) -> Result<Self> {
        let inner = match alg {
            Algorithm::MlKem512 | Algorithm::MlKem768 | Algorithm::MlKem1024 => {
                let (dk, ek) = mlkem::from_expanded(alg, expanded)?;
                if public.is_some_and(|p| p != ek.as_bytes()) {
                    return Err(Error::InconsistentKey("ML-KEM public key does not match"));
                }
                Priv::MlKem { seed: None, dk, ek }
            }
            Algorithm::MlDsa44 | Algorithm::MlDsa65 | Algorithm::MlDsa87 => {
                let p = public.ok_or(Error::invalid(
                    "ML-DSA private key",
                    "an expanded key needs its public key (or use the seed form)",
                ))?;
                let (sk, pk) = mldsa::from_expanded(alg, expanded, p)?;
                Priv::MlDsa { seed: None, sk, pk }
            }
            a if a.is_slh_dsa() => Priv::SlhDsa(slhdsa::sk_from_bytes(a, expanded)?),
            other => return Err(Error::unsupported(other, "expanded private keys")),
        };
        Ok(PrivateKey { alg, inner })
    }

    /// An ML-DSA key from its expanded form without the public key, as NIST's ACVP
    /// sigGen prompts give it. The key cannot report its public key correctly; it exists
    /// only so known-answer tests reach the same signing path as every other key.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for wrong sizes.
    #[cfg(feature = "kat")]
    pub fn from_expanded_unchecked_for_kat(alg: Algorithm, expanded: &[u8]) -> Result<Self> {
        let (sk, pk) = mldsa::from_expanded_unchecked(alg, expanded)?;
        Ok(PrivateKey {
            alg,
            inner: Priv::MlDsa { seed: None, sk, pk },
        })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The seed this key was derived from, where the algorithm has one and the key was
    /// not imported in expanded form.
    ///
    /// # Security
    /// This is the private key. Handle it as such.
    pub fn seed(&self) -> Option<SecretBytes> {
        match &self.inner {
            Priv::Ed25519 { seed, .. } => Some(SecretBytes::from_slice(&seed[..])),
            Priv::X25519 { sk, .. } => Some(SecretBytes::from_slice(&sk[..])),
            Priv::MlKem { seed, .. } => seed.as_ref().map(|s| SecretBytes::from_slice(&s[..])),
            Priv::MlDsa { seed, .. } => seed.as_ref().map(|s| SecretBytes::from_slice(&s[..])),
            Priv::SlhDsa(k) => {
                let b = k.to_bytes();
                let n = slhdsa::n(self.alg);
                Some(SecretBytes::from_slice(&b[..3 * n]))
            }
            Priv::XWing(k) => Some(SecretBytes::from_slice(&k.seed[..])),
            Priv::Composite(k) => Some(SecretBytes::from_slice(&k.seed[..])),
            #[cfg(feature = "experimental-fn-dsa")]
            Priv::FnDsa(k) => Some(SecretBytes::from_slice(&k.seed[..])),
            Priv::Ecdsa(kp) => {
                use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
                let b: EcPrivateKeyBin<'_> = kp.private_key().as_be_bytes().ok()?;
                Some(SecretBytes::from_slice(b.as_ref()))
            }
            Priv::Rsa(_) => None,
        }
    }

    /// The expanded private key of FIPS 203 (ML-KEM `dk`) or FIPS 204 (ML-DSA `sk`), the
    /// form some other implementations exchange; `None` for other algorithms.
    ///
    /// # Security
    /// This is the private key.
    pub fn expanded(&self) -> Option<SecretBytes> {
        match &self.inner {
            Priv::MlKem { dk, .. } => Some(SecretBytes::from_slice(&dk.expanded_bytes())),
            Priv::MlDsa { sk, .. } => Some(SecretBytes::from_slice(sk.expanded_bytes())),
            Priv::SlhDsa(k) => Some(SecretBytes::from_slice(&k.to_bytes())),
            _ => None,
        }
    }

    /// Signs with caller-supplied randomness: ML-DSA's 32-byte `rnd`, SLH-DSA's n-byte
    /// `opt_rand`. For known-answer tests only.
    ///
    /// # Security
    /// Never use fixed randomness in production; [`PrivateKey::sign`] draws it fresh.
    ///
    /// # Errors
    /// As [`PrivateKey::sign`], plus [`Error::InvalidLength`] for wrong-size randomness.
    #[cfg(feature = "kat")]
    pub fn sign_with_randomness(
        &self,
        msg: &[u8],
        ctx: &[u8],
        randomness: &[u8],
    ) -> Result<Vec<u8>> {
        match &self.inner {
            Priv::MlDsa { sk, .. } => sk.sign(msg, ctx, arr(randomness)?),
            Priv::SlhDsa(k) => {
                mldsa::check_context(ctx)?;
                if randomness.len() != slhdsa::n(self.alg) {
                    return Err(Error::length(
                        "SLH-DSA randomness",
                        slhdsa::n(self.alg),
                        randomness.len(),
                    ));
                }
                k.sign(msg, ctx, Some(randomness))
            }
            _ => Err(Error::unsupported(
                self.alg,
                "signing with given randomness",
            )),
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let inner = match &self.inner {
            Priv::Ed25519 { kp, .. } => {
                let mut pk = [0u8; 32];
                pk.copy_from_slice(kp.public_key().as_ref());
                Pub::Ed25519(pk)
            }
            Priv::Ecdsa(kp) => Pub::Ecdsa(kp.public_key().as_ref().to_vec()),
            Priv::Rsa(kp) => Pub::Rsa(kp.public_key().as_ref().to_vec()),
            Priv::X25519 { pk, .. } => Pub::X25519(*pk),
            Priv::MlKem { ek, .. } => Pub::MlKem(ek.clone_box()),
            Priv::MlDsa { pk, .. } => Pub::MlDsa(pk.clone_box()),
            Priv::SlhDsa(k) => Pub::SlhDsa(k.public()),
            Priv::XWing(k) => Pub::XWing(Box::new(k.pk.clone_box())),
            Priv::Composite(k) => Pub::Composite(Box::new(k.pk.clone_box())),
            #[cfg(feature = "experimental-fn-dsa")]
            Priv::FnDsa(k) => Pub::FnDsa(k.pk.clone()),
        };
        PublicKey {
            alg: self.alg,
            inner,
        }
    }

    /// Signs `msg`.
    ///
    /// # Errors
    /// [`Error::UnsupportedOperation`] for keys that cannot sign or a context given to
    /// an algorithm without contexts; [`Error::InvalidLength`] for a context over 255
    /// bytes; [`Error::Entropy`] if the RNG fails.
    pub fn sign(&self, msg: &[u8], opts: &SignOptions<'_>) -> Result<Vec<u8>> {
        if !opts.context.is_empty() && !self.alg.supports_context() {
            return Err(Error::unsupported(self.alg, "a signing context"));
        }
        let rnd = || -> Result<[u8; 32]> {
            if opts.deterministic {
                Ok([0u8; 32])
            } else {
                rng::array()
            }
        };
        match &self.inner {
            Priv::Ed25519 { kp, .. } => Ok(kp.sign(msg).as_ref().to_vec()),
            Priv::Ecdsa(kp) => {
                let sys = aws_lc_rs::rand::SystemRandom::new();
                let sig = kp.sign(&sys, msg).map_err(|_| Error::Crypto)?;
                match opts.ecdsa_format {
                    EcdsaFormat::Der => Ok(sig.as_ref().to_vec()),
                    EcdsaFormat::Fixed => {
                        encoding::ecdsa_der_to_fixed(sig.as_ref(), ec_scalar_len(self.alg))
                    }
                }
            }
            Priv::Rsa(kp) => {
                let sys = aws_lc_rs::rand::SystemRandom::new();
                let enc: &'static dyn awssig::RsaEncoding = match opts.rsa_padding {
                    RsaPadding::Pss => &awssig::RSA_PSS_SHA256,
                    RsaPadding::Pkcs1v15 => &awssig::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(enc, &sys, msg, &mut sig)
                    .map_err(|_| Error::Crypto)?;
                Ok(sig)
            }
            Priv::MlDsa { sk, .. } => sk.sign(msg, opts.context, rnd()?),
            Priv::SlhDsa(k) => {
                mldsa::check_context(opts.context)?;
                if opts.deterministic {
                    k.sign(msg, opts.context, None)
                } else {
                    let r = rng::random_bytes(slhdsa::n(self.alg))?;
                    k.sign(msg, opts.context, Some(&r))
                }
            }
            Priv::Composite(k) => k.sign(msg, opts.context, rnd()?),
            #[cfg(feature = "experimental-fn-dsa")]
            Priv::FnDsa(k) => k.sign(self.alg, msg, opts.context),
            Priv::X25519 { .. } | Priv::MlKem { .. } | Priv::XWing(_) => {
                Err(Error::unsupported(self.alg, "signing"))
            }
        }
    }

    /// Decapsulates a KEM ciphertext. ML-KEM uses implicit rejection: a modified
    /// ciphertext yields an unrelated secret, not an error.
    ///
    /// # Errors
    /// [`Error::UnsupportedOperation`] for keys that are not KEM keys;
    /// [`Error::InvalidLength`] for a ciphertext of the wrong size.
    pub fn decapsulate(&self, ct: &[u8]) -> Result<SharedSecret> {
        match &self.inner {
            Priv::MlKem { dk, .. } => {
                let want = mlkem::ct_len(self.alg);
                if ct.len() != want {
                    return Err(Error::length("ML-KEM ciphertext", want, ct.len()));
                }
                dk.decapsulate(ct)
            }
            Priv::XWing(k) => k.decapsulate(ct),
            Priv::X25519 { sk, pk } => classic::dhkem_decap(sk, pk, ct),
            _ => Err(Error::unsupported(self.alg, "decapsulation")),
        }
    }

    /// Raw Diffie-Hellman with a peer's public key: X25519 (RFC 7748), or ECDH on P-256
    /// and P-384 (SEC 1, the x-coordinate) with ECDSA keys of the same curve.
    ///
    /// # Errors
    /// [`Error::UnsupportedOperation`] unless both keys are X25519, or both are on the
    /// same NIST curve; [`Error::InvalidInput`] for a low-order X25519 peer point.
    pub fn agree(&self, peer: &PublicKey) -> Result<SharedSecret> {
        match (&self.inner, &peer.inner) {
            (Priv::X25519 { sk, .. }, Pub::X25519(p)) => {
                let ss = classic::x25519(sk, p)?;
                Ok(SharedSecret::from_slice(&ss[..]))
            }
            (Priv::Ecdsa(kp), Pub::Ecdsa(point)) if self.alg == peer.alg => {
                use aws_lc_rs::agreement;
                use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
                let curve = if self.alg == Algorithm::EcdsaP256 {
                    &agreement::ECDH_P256
                } else {
                    &agreement::ECDH_P384
                };
                let scalar: EcPrivateKeyBin<'_> =
                    kp.private_key().as_be_bytes().map_err(|_| Error::Crypto)?;
                let sk = agreement::PrivateKey::from_private_key(curve, scalar.as_ref())
                    .map_err(|_| Error::Crypto)?;
                agreement::agree(
                    &sk,
                    agreement::UnparsedPublicKey::new(curve, point),
                    Error::invalid("EC public key", "not a point on the curve"),
                    |ss| Ok(SharedSecret::from_slice(ss)),
                )
            }
            _ => Err(Error::unsupported(
                self.alg,
                "key agreement with this peer key",
            )),
        }
    }

    /// RSA-OAEP (SHA-256, MGF1-SHA-256) decryption.
    ///
    /// # Errors
    /// [`Error::UnsupportedOperation`] for non-RSA keys; [`Error::DecryptionFailed`] for
    /// any ciphertext that does not decrypt.
    pub fn rsa_oaep_decrypt(&self, ct: &[u8], label: &[u8]) -> Result<SecretBytes> {
        let Priv::Rsa(kp) = &self.inner else {
            return Err(Error::unsupported(self.alg, "RSA-OAEP decryption"));
        };
        let der = kp.as_der().map_err(|_| Error::Crypto)?;
        let dec =
            awsrsa::PrivateDecryptingKey::from_pkcs8(der.as_ref()).map_err(|_| Error::Crypto)?;
        let dec = awsrsa::OaepPrivateDecryptingKey::new(dec).map_err(|_| Error::Crypto)?;
        let mut out = Zeroizing::new(vec![0u8; dec.min_output_size()]);
        let label = if label.is_empty() { None } else { Some(label) };
        let n = dec
            .decrypt(&awsrsa::OAEP_SHA256_MGF1SHA256, ct, &mut out, label)
            .map_err(|_| Error::DecryptionFailed)?
            .len();
        Ok(SecretBytes::from_slice(&out[..n]))
    }

    /// PKCS#8 (RFC 5958 OneAsymmetricKey v1) DER. ML-KEM and ML-DSA keys use the
    /// seed-only form where a seed exists.
    ///
    /// # Errors
    /// [`Error::Crypto`] if a backend cannot serialize the key.
    pub fn to_pkcs8_der(&self) -> Result<SecretBytes> {
        let inner: Zeroizing<Vec<u8>> = match &self.inner {
            Priv::Ecdsa(kp) => {
                let doc = kp.to_pkcs8v1().map_err(|_| Error::Crypto)?;
                return Ok(SecretBytes::from_slice(doc.as_ref()));
            }
            Priv::Rsa(kp) => {
                let doc = kp.as_der().map_err(|_| Error::Crypto)?;
                return Ok(SecretBytes::from_slice(doc.as_ref()));
            }
            Priv::Ed25519 { seed, .. } => encoding::octet_string(&seed[..]),
            Priv::X25519 { sk, .. } => encoding::octet_string(&sk[..]),
            Priv::MlKem { seed: Some(s), .. } => encoding::context_0(&s[..]),
            Priv::MlKem { seed: None, dk, .. } => encoding::octet_string(&dk.expanded_bytes()),
            Priv::MlDsa { seed: Some(s), .. } => encoding::context_0(&s[..]),
            Priv::MlDsa { seed: None, sk, .. } => encoding::octet_string(sk.expanded_bytes()),
            Priv::SlhDsa(k) => k.to_bytes(),
            Priv::XWing(k) => Zeroizing::new(k.seed.to_vec()),
            Priv::Composite(k) => Zeroizing::new(k.seed.to_vec()),
            #[cfg(feature = "experimental-fn-dsa")]
            Priv::FnDsa(_) => {
                return Err(Error::unsupported(
                    self.alg,
                    "PKCS#8 (FN-DSA has no standard OID yet)",
                ));
            }
        };
        encoding::pkcs8_wrap(self.alg, &inner)
    }

    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    ///
    /// # Errors
    /// As [`PrivateKey::to_pkcs8_der`].
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let der = self.to_pkcs8_der()?;
        encoding::pem_encode("PRIVATE KEY", der.expose())
    }

    /// Parses PKCS#8 DER (v1 or v2) of any supported algorithm.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for malformed DER, [`Error::UnknownOid`] for an
    /// unsupported algorithm, [`Error::InconsistentKey`] when parts disagree.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let p = encoding::parse_pkcs8(der)?;
        let alg = match p.key_type {
            encoding::KeyType::Rsa => {
                let kp = awsrsa::KeyPair::from_pkcs8(der)
                    .map_err(|e| Error::invalid("RSA private key", e.to_string()))?;
                return Self::from_rsa(kp);
            }
            encoding::KeyType::Alg(a) => a,
        };
        match alg {
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
                let kp = awssig::EcdsaKeyPair::from_pkcs8(ecdsa_signing(alg), der)
                    .map_err(|e| Error::invalid("EC private key", e.to_string()))?;
                Ok(PrivateKey {
                    alg,
                    inner: Priv::Ecdsa(kp),
                })
            }
            Algorithm::Ed25519 | Algorithm::X25519 => {
                let seed = encoding::parse_octet_string(p.private_key, "curve private key")?;
                let key = Self::from_seed(alg, &seed)?;
                key.check_public(p.public_key)?;
                Ok(key)
            }
            Algorithm::MlKem512
            | Algorithm::MlKem768
            | Algorithm::MlKem1024
            | Algorithm::MlDsa44
            | Algorithm::MlDsa65
            | Algorithm::MlDsa87 => {
                let (seed, expanded) = encoding::parse_seed_choice(p.private_key)?;
                let key = match (&seed, &expanded) {
                    (Some(s), Some(e)) => {
                        let key = Self::from_seed(alg, s)?;
                        if !key.expanded_matches(e) {
                            return Err(Error::InconsistentKey("seed and expanded key disagree"));
                        }
                        key
                    }
                    (Some(s), None) => Self::from_seed(alg, s)?,
                    (None, Some(e)) => Self::from_expanded(alg, e, p.public_key)?,
                    (None, None) => return Err(Error::invalid("private key", "empty")),
                };
                key.check_public(p.public_key)?;
                Ok(key)
            }
            a if a.is_slh_dsa() => {
                let key = Self::from_expanded(alg, p.private_key, None)?;
                key.check_public(p.public_key)?;
                Ok(key)
            }
            Algorithm::XWingDraft06 | Algorithm::MlDsa65Ed25519Draft13 => {
                let key = Self::from_seed(alg, p.private_key)?;
                key.check_public(p.public_key)?;
                Ok(key)
            }
            other => Err(Error::AlgorithmUnavailable(other)),
        }
    }

    /// Parses a PEM `PRIVATE KEY`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for malformed PEM or a different label, then as
    /// [`PrivateKey::from_pkcs8_der`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        let der = encoding::pem_decode(pem, "PRIVATE KEY")?;
        Self::from_pkcs8_der(&der)
    }

    /// Parses a private key in PEM or DER, whichever `bytes` holds: PKCS#8 for every
    /// algorithm, and also the legacy forms OpenSSL still writes for EC and RSA keys
    /// (`openssl pkey -outform DER`, `EC PRIVATE KEY` and `RSA PRIVATE KEY` PEM): RFC 5915
    /// ECPrivateKey on P-256 or P-384 and PKCS#1 RSAPrivateKey.
    ///
    /// # Errors
    /// As [`PrivateKey::from_pkcs8_der`]; for input that is neither PKCS#8 nor a legacy
    /// form, the PKCS#8 error.
    pub fn from_pkcs8(bytes: &[u8]) -> Result<Self> {
        let der = if encoding::looks_like_pem(bytes) {
            let s = core::str::from_utf8(bytes).map_err(|_| Error::invalid("PEM", "not UTF-8"))?;
            let (label, der) = encoding::pem_decode_any(s)?;
            match label.as_str() {
                "PRIVATE KEY" => return Self::from_pkcs8_der(&der),
                "EC PRIVATE KEY" | "RSA PRIVATE KEY" => return Self::from_legacy_der(&der),
                other => {
                    return Err(Error::invalid(
                        "PEM",
                        format!(
                            "expected a PRIVATE KEY, found {}",
                            other.chars().take(40).collect::<String>()
                        ),
                    ));
                }
            }
        } else {
            bytes
        };
        Self::from_pkcs8_der(der).or_else(|e| Self::from_legacy_der(der).map_err(|_| e))
    }

    /// An RSA key of one of the offered sizes.
    fn from_rsa(kp: awsrsa::KeyPair) -> Result<Self> {
        let alg = match kp.public_modulus_len() * 8 {
            2048 => Algorithm::Rsa2048,
            3072 => Algorithm::Rsa3072,
            4096 => Algorithm::Rsa4096,
            bits => {
                return Err(Error::invalid(
                    "RSA private key",
                    format!("unsupported modulus size {bits}"),
                ));
            }
        };
        Ok(PrivateKey {
            alg,
            inner: Priv::Rsa(Box::new(kp)),
        })
    }

    /// RFC 5915 ECPrivateKey (P-256, P-384) or PKCS#1 RSAPrivateKey DER.
    fn from_legacy_der(der: &[u8]) -> Result<Self> {
        if let Ok(kp) = awsrsa::KeyPair::from_der(der) {
            return Self::from_rsa(kp);
        }
        for alg in [Algorithm::EcdsaP256, Algorithm::EcdsaP384] {
            if let Ok(kp) = awssig::EcdsaKeyPair::from_private_key_der(ecdsa_signing(alg), der) {
                return Ok(PrivateKey {
                    alg,
                    inner: Priv::Ecdsa(kp),
                });
            }
        }
        Err(Error::invalid(
            "private key",
            "neither PKCS#8 nor an EC or RSA private key",
        ))
    }

    fn expanded_matches(&self, expanded: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        match &self.inner {
            Priv::MlKem { dk, .. } => dk.expanded_bytes().as_slice().ct_eq(expanded).into(),
            Priv::MlDsa { sk, .. } => sk.expanded_bytes().ct_eq(expanded).into(),
            _ => false,
        }
    }

    fn check_public(&self, public: Option<&[u8]>) -> Result<()> {
        match public {
            Some(p) if p != self.public_key().to_raw().as_slice() => Err(Error::InconsistentKey(
                "public key does not match the private key",
            )),
            _ => Ok(()),
        }
    }
}

impl PublicKey {
    /// Builds a public key from its raw encoding: the FIPS 203/204/205 byte strings,
    /// 32 bytes for Ed25519/X25519, an uncompressed SEC1 point for ECDSA, PKCS#1
    /// RSAPublicKey DER for RSA, the concatenations of the hybrid drafts.
    ///
    /// # Errors
    /// [`Error::InvalidLength`] or [`Error::InvalidInput`] for bytes that are not a valid
    /// key of `alg` (ML-KEM keys get the FIPS 203 modulus check here).
    pub fn from_raw(alg: Algorithm, raw: &[u8]) -> Result<Self> {
        check_asymmetric(alg)?;
        let inner = match alg {
            Algorithm::Ed25519 => Pub::Ed25519(
                arr(raw).map_err(|_| Error::length("Ed25519 public key", 32, raw.len()))?,
            ),
            Algorithm::X25519 => Pub::X25519(
                arr(raw).map_err(|_| Error::length("X25519 public key", 32, raw.len()))?,
            ),
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
                let want = 1 + 2 * ec_scalar_len(alg);
                if raw.len() != want || raw[0] != 4 {
                    return Err(Error::invalid(
                        "EC public key",
                        format!("expected an uncompressed {want}-byte point"),
                    ));
                }
                let agree_alg = if alg == Algorithm::EcdsaP256 {
                    &aws_lc_rs::agreement::ECDH_P256
                } else {
                    &aws_lc_rs::agreement::ECDH_P384
                };
                aws_lc_rs::agreement::ParsedPublicKey::try_from(
                    aws_lc_rs::agreement::UnparsedPublicKey::new(agree_alg, raw),
                )
                .map_err(|_| Error::invalid("EC public key", "point not on the curve"))?;
                Pub::Ecdsa(raw.to_vec())
            }
            Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 => {
                let k = awsrsa::PublicEncryptingKey::from_der(&encoding::rsa_spki(raw)?)
                    .map_err(|_| Error::invalid("RSA public key", "malformed"))?;
                let bits = k.key_size_bits();
                let expect = match alg {
                    Algorithm::Rsa2048 => 2048,
                    Algorithm::Rsa3072 => 3072,
                    _ => 4096,
                };
                if bits != expect {
                    return Err(Error::invalid(
                        "RSA public key",
                        format!("{bits}-bit modulus for {alg}"),
                    ));
                }
                Pub::Rsa(raw.to_vec())
            }
            Algorithm::MlKem512 | Algorithm::MlKem768 | Algorithm::MlKem1024 => {
                Pub::MlKem(mlkem::ek_from_bytes(alg, raw)?)
            }
            Algorithm::MlDsa44 | Algorithm::MlDsa65 | Algorithm::MlDsa87 => {
                Pub::MlDsa(mldsa::pk_from_bytes(alg, raw)?)
            }
            a if a.is_slh_dsa() => Pub::SlhDsa(slhdsa::pk_from_bytes(a, raw)?),
            Algorithm::XWingDraft06 => {
                Pub::XWing(Box::new(xwing::EncapsulationKey::from_bytes(raw)?))
            }
            Algorithm::MlDsa65Ed25519Draft13 => {
                Pub::Composite(Box::new(composite::VerifyingKey::from_bytes(raw)?))
            }
            #[cfg(feature = "experimental-fn-dsa")]
            Algorithm::FnDsa512 | Algorithm::FnDsa1024 => {
                crate::fndsa::check_public(alg, raw)?;
                Pub::FnDsa(raw.to_vec())
            }
            other => return Err(Error::AlgorithmUnavailable(other)),
        };
        Ok(PublicKey { alg, inner })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The raw encoding accepted by [`PublicKey::from_raw`].
    pub fn to_raw(&self) -> Vec<u8> {
        match &self.inner {
            Pub::Ed25519(k) | Pub::X25519(k) => k.to_vec(),
            Pub::Ecdsa(p) => p.clone(),
            Pub::Rsa(d) => d.clone(),
            Pub::MlKem(k) => k.as_bytes().to_vec(),
            Pub::MlDsa(k) => k.as_bytes().to_vec(),
            Pub::SlhDsa(k) => k.to_bytes(),
            Pub::XWing(k) => k.to_bytes(),
            Pub::Composite(k) => k.to_bytes(),
            #[cfg(feature = "experimental-fn-dsa")]
            Pub::FnDsa(k) => k.clone(),
        }
    }

    /// Verifies `sig` over `msg`.
    ///
    /// # Errors
    /// [`Error::BadSignature`] if the signature is invalid; [`Error::UnsupportedOperation`]
    /// for keys that cannot verify or a context given to an algorithm without contexts.
    pub fn verify(&self, msg: &[u8], sig: &[u8], opts: &SignOptions<'_>) -> Result<()> {
        if !opts.context.is_empty() && !self.alg.supports_context() {
            return Err(Error::unsupported(self.alg, "a signing context"));
        }
        match &self.inner {
            Pub::Ed25519(k) => awssig::UnparsedPublicKey::new(&awssig::ED25519, k)
                .verify(msg, sig)
                .map_err(|_| Error::BadSignature),
            Pub::Ecdsa(p) => {
                let v: &'static awssig::EcdsaVerificationAlgorithm =
                    match (self.alg, opts.ecdsa_format) {
                        (Algorithm::EcdsaP256, EcdsaFormat::Der) => &awssig::ECDSA_P256_SHA256_ASN1,
                        (Algorithm::EcdsaP256, EcdsaFormat::Fixed) => {
                            &awssig::ECDSA_P256_SHA256_FIXED
                        }
                        (_, EcdsaFormat::Der) => &awssig::ECDSA_P384_SHA384_ASN1,
                        (_, EcdsaFormat::Fixed) => &awssig::ECDSA_P384_SHA384_FIXED,
                    };
                awssig::UnparsedPublicKey::new(v, p)
                    .verify(msg, sig)
                    .map_err(|_| Error::BadSignature)
            }
            Pub::Rsa(d) => {
                let v: &'static awssig::RsaParameters = match opts.rsa_padding {
                    RsaPadding::Pss => &awssig::RSA_PSS_2048_8192_SHA256,
                    RsaPadding::Pkcs1v15 => &awssig::RSA_PKCS1_2048_8192_SHA256,
                };
                awssig::UnparsedPublicKey::new(v, d)
                    .verify(msg, sig)
                    .map_err(|_| Error::BadSignature)
            }
            Pub::MlDsa(k) => k.verify(msg, opts.context, sig),
            Pub::SlhDsa(k) => {
                mldsa::check_context(opts.context)?;
                k.verify(msg, opts.context, sig)
            }
            Pub::Composite(k) => k.verify(msg, opts.context, sig),
            #[cfg(feature = "experimental-fn-dsa")]
            Pub::FnDsa(k) => crate::fndsa::verify(k, msg, opts.context, sig),
            Pub::X25519(_) | Pub::MlKem(_) | Pub::XWing(_) => {
                Err(Error::unsupported(self.alg, "signature verification"))
            }
        }
    }

    /// Encapsulates a fresh shared secret; returns `(ciphertext, shared secret)`.
    ///
    /// # Errors
    /// [`Error::UnsupportedOperation`] for keys that are not KEM keys;
    /// [`Error::Entropy`] if the RNG fails.
    pub fn encapsulate(&self) -> Result<(Vec<u8>, SharedSecret)> {
        match &self.inner {
            Pub::MlKem(_) => self.encapsulate_derand(&rng::secret_array::<32>()?[..]),
            Pub::XWing(_) => self.encapsulate_derand(&rng::secret_array::<64>()?[..]),
            Pub::X25519(_) => self.encapsulate_derand(&rng::secret_array::<32>()?[..]),
            _ => Err(Error::unsupported(self.alg, "encapsulation")),
        }
    }

    /// Encapsulation with caller-supplied randomness, for known-answer tests: ML-KEM's
    /// `m` (32 bytes), X-Wing's `eseed` (64), DHKEM's ephemeral private key (32).
    ///
    /// # Security
    /// Reusing randomness reveals the shared secret. Use [`PublicKey::encapsulate`].
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for randomness of the wrong size.
    pub fn encapsulate_derand(&self, randomness: &[u8]) -> Result<(Vec<u8>, SharedSecret)> {
        match &self.inner {
            Pub::MlKem(k) => Ok(k
                .encapsulate(arr(randomness).map_err(|_| {
                    Error::length("encapsulation randomness", 32, randomness.len())
                })?)),
            Pub::XWing(k) => k
                .encapsulate(&arr(randomness).map_err(|_| {
                    Error::length("encapsulation randomness", 64, randomness.len())
                })?),
            Pub::X25519(k) => classic::dhkem_encap(
                k,
                &arr(randomness)
                    .map_err(|_| Error::length("encapsulation randomness", 32, randomness.len()))?,
            ),
            _ => Err(Error::unsupported(self.alg, "encapsulation")),
        }
    }

    /// Length of this key's KEM ciphertext.
    ///
    /// # Errors
    /// [`Error::UnsupportedOperation`] for keys that are not KEM keys.
    pub fn ciphertext_len(&self) -> Result<usize> {
        match self.alg {
            Algorithm::MlKem512 | Algorithm::MlKem768 | Algorithm::MlKem1024 => {
                Ok(mlkem::ct_len(self.alg))
            }
            Algorithm::XWingDraft06 => Ok(xwing::CT_LEN),
            Algorithm::X25519 => Ok(32),
            other => Err(Error::unsupported(other, "encapsulation")),
        }
    }

    /// RSA-OAEP (SHA-256, MGF1-SHA-256) encryption.
    ///
    /// # Errors
    /// [`Error::UnsupportedOperation`] for non-RSA keys; [`Error::InvalidLength`] for a
    /// message too long for the modulus.
    pub fn rsa_oaep_encrypt(&self, msg: &[u8], label: &[u8]) -> Result<Vec<u8>> {
        let Pub::Rsa(d) = &self.inner else {
            return Err(Error::unsupported(self.alg, "RSA-OAEP encryption"));
        };
        let k = awsrsa::PublicEncryptingKey::from_der(&encoding::rsa_spki(d)?)
            .map_err(|_| Error::Crypto)?;
        let k = awsrsa::OaepPublicEncryptingKey::new(k).map_err(|_| Error::Crypto)?;
        let max = k.max_plaintext_size(&awsrsa::OAEP_SHA256_MGF1SHA256);
        if msg.len() > max {
            return Err(Error::InvalidLength {
                what: "RSA-OAEP plaintext",
                expected: format!("at most {max}"),
                got: msg.len(),
            });
        }
        let mut out = vec![0u8; k.ciphertext_size()];
        let label = if label.is_empty() { None } else { Some(label) };
        let n = k
            .encrypt(&awsrsa::OAEP_SHA256_MGF1SHA256, msg, &mut out, label)
            .map_err(|_| Error::Crypto)?
            .len();
        out.truncate(n);
        Ok(out)
    }

    /// SubjectPublicKeyInfo DER.
    ///
    /// # Errors
    /// [`Error::Crypto`] if encoding fails (it does not for valid keys).
    pub fn to_spki_der(&self) -> Result<Vec<u8>> {
        if matches!(self.alg, Algorithm::FnDsa512 | Algorithm::FnDsa1024) {
            return Err(Error::unsupported(
                self.alg,
                "SubjectPublicKeyInfo (FN-DSA has no standard OID yet)",
            ));
        }
        encoding::spki_wrap(self.alg, &self.to_raw())
    }

    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    ///
    /// # Errors
    /// As [`PublicKey::to_spki_der`].
    pub fn to_spki_pem(&self) -> Result<String> {
        Ok(encoding::pem_encode("PUBLIC KEY", &self.to_spki_der()?)?.to_string())
    }

    /// Parses SubjectPublicKeyInfo DER.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for malformed DER, [`Error::UnknownOid`] for unsupported
    /// algorithms, then as [`PublicKey::from_raw`].
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let (alg, raw) = encoding::parse_spki(der)?;
        Self::from_raw(alg, &raw)
    }

    /// Parses a PEM `PUBLIC KEY`.
    ///
    /// # Errors
    /// As [`PublicKey::from_spki_der`].
    pub fn from_spki_pem(pem: &str) -> Result<Self> {
        let der = encoding::pem_decode(pem, "PUBLIC KEY")?;
        Self::from_spki_der(&der)
    }

    /// Parses PEM or DER, whichever `bytes` holds.
    ///
    /// # Errors
    /// As [`PublicKey::from_spki_der`].
    pub fn from_spki(bytes: &[u8]) -> Result<Self> {
        if encoding::looks_like_pem(bytes) {
            let s = core::str::from_utf8(bytes).map_err(|_| Error::invalid("PEM", "not UTF-8"))?;
            Self::from_spki_pem(s)
        } else {
            Self::from_spki_der(bytes)
        }
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER: a stable fingerprint for logs and
    /// attestation.
    ///
    /// # Errors
    /// As [`PublicKey::to_spki_der`].
    pub fn fingerprint(&self) -> Result<[u8; 32]> {
        Ok(crate::kdf::sha256(&self.to_spki_der()?))
    }
}

impl Clone for PublicKey {
    fn clone(&self) -> Self {
        let inner = match &self.inner {
            Pub::Ed25519(k) => Pub::Ed25519(*k),
            Pub::X25519(k) => Pub::X25519(*k),
            Pub::Ecdsa(p) => Pub::Ecdsa(p.clone()),
            Pub::Rsa(d) => Pub::Rsa(d.clone()),
            Pub::MlKem(k) => Pub::MlKem(k.clone_box()),
            Pub::MlDsa(k) => Pub::MlDsa(k.clone_box()),
            Pub::SlhDsa(k) => Pub::SlhDsa(k.clone_box()),
            Pub::XWing(k) => Pub::XWing(Box::new(k.clone_box())),
            Pub::Composite(k) => Pub::Composite(Box::new(k.clone_box())),
            #[cfg(feature = "experimental-fn-dsa")]
            Pub::FnDsa(k) => Pub::FnDsa(k.clone()),
        };
        PublicKey {
            alg: self.alg,
            inner,
        }
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.alg == other.alg && self.to_raw() == other.to_raw()
    }
}

impl Eq for PublicKey {}

fn check_asymmetric(alg: Algorithm) -> Result<()> {
    if matches!(alg.kind(), AlgorithmKind::Aead | AlgorithmKind::Mac) {
        return Err(Error::unsupported(alg, "asymmetric keys"));
    }
    if !alg.is_available() {
        return Err(Error::AlgorithmUnavailable(alg));
    }
    Ok(())
}

fn ecdsa_signing(alg: Algorithm) -> &'static awssig::EcdsaSigningAlgorithm {
    if alg == Algorithm::EcdsaP384 {
        &awssig::ECDSA_P384_SHA384_ASN1_SIGNING
    } else {
        &awssig::ECDSA_P256_SHA256_ASN1_SIGNING
    }
}

pub(crate) fn ec_scalar_len(alg: Algorithm) -> usize {
    if alg == Algorithm::EcdsaP384 { 48 } else { 32 }
}

fn arr<const N: usize>(b: &[u8]) -> Result<[u8; N]> {
    b.try_into()
        .map_err(|_| Error::length("key material", N, b.len()))
}
