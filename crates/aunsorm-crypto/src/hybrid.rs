//! Hybrids: the X-Wing KEM (draft-connolly-cfrg-xwing-kem-06) and the composite
//! signature ML-DSA-65 + Ed25519 (draft-ietf-lamps-pq-composite-sigs-13).

use crate::{Algorithm, Error, Result, SharedSecret, classic, mldsa, mlkem};
use aws_lc_rs::signature::{self as awssig, KeyPair};
use sha3::digest::{Digest, ExtendableOutput, Update, XofReader};
use zeroize::Zeroizing;

/// X-Wing, draft-connolly-cfrg-xwing-kem-06.
pub(crate) mod xwing_draft06 {
    use super::*;

    /// `\.//^\`
    const LABEL: &[u8] = b"\\.//^\\";
    pub(crate) const SEED_LEN: usize = 32;
    pub(crate) const PK_LEN: usize = 1184 + 32;
    pub(crate) const CT_LEN: usize = 1088 + 32;
    pub(crate) const ENCAPS_SEED_LEN: usize = 64;

    pub(crate) struct DecapsulationKey {
        pub(crate) seed: Zeroizing<[u8; SEED_LEN]>,
        dk_m: mlkem::Dk,
        sk_x: Zeroizing<[u8; 32]>,
        pub(crate) pk: EncapsulationKey,
    }

    pub(crate) struct EncapsulationKey {
        ek_m: mlkem::Ek,
        pk_x: [u8; 32],
    }

    /// Expands the 32-byte seed with SHAKE256 into ML-KEM-768's d||z and X25519's key.
    pub(crate) fn from_seed(seed: &[u8; SEED_LEN]) -> Result<DecapsulationKey> {
        let mut x = sha3::Shake256::default();
        x.update(seed);
        let mut expanded = Zeroizing::new([0u8; 96]);
        x.finalize_xof().read(&mut expanded[..]);
        let mut dz = Zeroizing::new([0u8; 64]);
        dz.copy_from_slice(&expanded[..64]);
        let (dk_m, ek_m) = mlkem::keygen(Algorithm::MlKem768, &dz)?;
        let mut sk_x = Zeroizing::new([0u8; 32]);
        sk_x.copy_from_slice(&expanded[64..]);
        let pk_x = classic::x25519_public(&sk_x)?;
        Ok(DecapsulationKey {
            seed: Zeroizing::new(*seed),
            dk_m,
            sk_x,
            pk: EncapsulationKey { ek_m, pk_x },
        })
    }

    impl EncapsulationKey {
        pub(crate) fn from_bytes(b: &[u8]) -> Result<Self> {
            if b.len() != PK_LEN {
                return Err(Error::length("X-Wing public key", PK_LEN, b.len()));
            }
            let ek_m = mlkem::ek_from_bytes(Algorithm::MlKem768, &b[..1184])?;
            let mut pk_x = [0u8; 32];
            pk_x.copy_from_slice(&b[1184..]);
            Ok(EncapsulationKey { ek_m, pk_x })
        }

        pub(crate) fn to_bytes(&self) -> Vec<u8> {
            let mut v = Vec::with_capacity(PK_LEN);
            v.extend_from_slice(self.ek_m.as_bytes());
            v.extend_from_slice(&self.pk_x);
            v
        }

        pub(crate) fn clone_box(&self) -> Self {
            EncapsulationKey {
                ek_m: self.ek_m.clone_box(),
                pk_x: self.pk_x,
            }
        }

        pub(crate) fn encapsulate(
            &self,
            eseed: &[u8; ENCAPS_SEED_LEN],
        ) -> Result<(Vec<u8>, SharedSecret)> {
            let mut m = [0u8; 32];
            m.copy_from_slice(&eseed[..32]);
            let (ct_m, ss_m) = self.ek_m.encapsulate(m);
            let mut ek_x = Zeroizing::new([0u8; 32]);
            ek_x.copy_from_slice(&eseed[32..]);
            let ct_x = classic::x25519_public(&ek_x)?;
            let ss_x = classic::x25519(&ek_x, &self.pk_x)?;
            let ss = combiner(ss_m.expose(), &ss_x[..], &ct_x, &self.pk_x);
            let mut ct = ct_m;
            ct.extend_from_slice(&ct_x);
            Ok((ct, ss))
        }
    }

    impl DecapsulationKey {
        pub(crate) fn decapsulate(&self, ct: &[u8]) -> Result<SharedSecret> {
            if ct.len() != CT_LEN {
                return Err(Error::length("X-Wing ciphertext", CT_LEN, ct.len()));
            }
            let (ct_m, ct_x) = ct.split_at(1088);
            let ss_m = self.dk_m.decapsulate(ct_m)?;
            let ss_x = classic::x25519(&self.sk_x, ct_x)?;
            Ok(combiner(ss_m.expose(), &ss_x[..], ct_x, &self.pk.pk_x))
        }
    }

    fn combiner(ss_m: &[u8], ss_x: &[u8], ct_x: &[u8], pk_x: &[u8]) -> SharedSecret {
        let mut h = sha3::Sha3_256::new();
        Digest::update(&mut h, ss_m);
        Digest::update(&mut h, ss_x);
        Digest::update(&mut h, ct_x);
        Digest::update(&mut h, pk_x);
        Digest::update(&mut h, LABEL);
        SharedSecret::from_slice(&h.finalize())
    }
}

/// id-MLDSA65-Ed25519-SHA512, draft-ietf-lamps-pq-composite-sigs-13.
pub(crate) mod mldsa65_ed25519_draft13 {
    use super::*;

    const PREFIX: &[u8] = b"CompositeAlgorithmSignatures2025";
    const LABEL: &[u8] = b"COMPSIG-MLDSA65-Ed25519-SHA512";
    pub(crate) const SEED_LEN: usize = 64;
    pub(crate) const PK_LEN: usize = 1952 + 32;
    pub(crate) const SIG_LEN: usize = 3309 + 64;

    pub(crate) struct SigningKey {
        pub(crate) seed: Zeroizing<[u8; SEED_LEN]>,
        mldsa: mldsa::Sk,
        ed: awssig::Ed25519KeyPair,
        pub(crate) pk: VerifyingKey,
    }

    pub(crate) struct VerifyingKey {
        mldsa: mldsa::Pk,
        ed: [u8; 32],
    }

    /// Seed layout: ML-DSA-65 seed (32) || Ed25519 private key (32), as the draft
    /// serializes the composite private key.
    pub(crate) fn from_seed(seed: &[u8; SEED_LEN]) -> Result<SigningKey> {
        let mut xi = Zeroizing::new([0u8; 32]);
        xi.copy_from_slice(&seed[..32]);
        let (sk, pk) = mldsa::keygen(Algorithm::MlDsa65, &xi)?;
        let ed =
            awssig::Ed25519KeyPair::from_seed_unchecked(&seed[32..]).map_err(|_| Error::Crypto)?;
        let mut edpk = [0u8; 32];
        edpk.copy_from_slice(ed.public_key().as_ref());
        Ok(SigningKey {
            seed: Zeroizing::new(*seed),
            mldsa: sk,
            ed,
            pk: VerifyingKey {
                mldsa: pk,
                ed: edpk,
            },
        })
    }

    /// M' = Prefix || Label || len(ctx) || ctx || SHA-512(M)
    fn message_representative(msg: &[u8], ctx: &[u8]) -> Result<Vec<u8>> {
        mldsa::check_context(ctx)?;
        let ph = crate::kdf::sha512(msg);
        let mut m = Vec::with_capacity(PREFIX.len() + LABEL.len() + 1 + ctx.len() + 64);
        m.extend_from_slice(PREFIX);
        m.extend_from_slice(LABEL);
        m.push(u8::try_from(ctx.len()).map_err(|_| Error::Crypto)?);
        m.extend_from_slice(ctx);
        m.extend_from_slice(&ph);
        Ok(m)
    }

    impl SigningKey {
        pub(crate) fn sign(&self, msg: &[u8], ctx: &[u8], rnd: [u8; 32]) -> Result<Vec<u8>> {
            let mp = message_representative(msg, ctx)?;
            let mut sig = self.mldsa.sign(&mp, LABEL, rnd)?;
            sig.extend_from_slice(self.ed.sign(&mp).as_ref());
            Ok(sig)
        }
    }

    impl VerifyingKey {
        pub(crate) fn from_bytes(b: &[u8]) -> Result<Self> {
            if b.len() != PK_LEN {
                return Err(Error::length(
                    "ML-DSA-65+Ed25519 public key",
                    PK_LEN,
                    b.len(),
                ));
            }
            let mut ed = [0u8; 32];
            ed.copy_from_slice(&b[1952..]);
            Ok(VerifyingKey {
                mldsa: mldsa::pk_from_bytes(Algorithm::MlDsa65, &b[..1952])?,
                ed,
            })
        }

        pub(crate) fn to_bytes(&self) -> Vec<u8> {
            let mut v = self.mldsa.as_bytes().to_vec();
            v.extend_from_slice(&self.ed);
            v
        }

        pub(crate) fn clone_box(&self) -> Self {
            VerifyingKey {
                mldsa: self.mldsa.clone_box(),
                ed: self.ed,
            }
        }

        /// Both components must verify.
        pub(crate) fn verify(&self, msg: &[u8], ctx: &[u8], sig: &[u8]) -> Result<()> {
            if sig.len() != SIG_LEN {
                return Err(Error::BadSignature);
            }
            let mp = message_representative(msg, ctx)?;
            let (s_m, s_e) = sig.split_at(3309);
            let ml = self.mldsa.verify(&mp, LABEL, s_m);
            let ed = awssig::UnparsedPublicKey::new(&awssig::ED25519, &self.ed)
                .verify(&mp, s_e)
                .map_err(|_| Error::BadSignature);
            ml.and(ed)
        }
    }
}
