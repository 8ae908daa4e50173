//! The KMS's own keys, kept in the metadata namespace under the reserved tenant
//! `aunsorm` (callers cannot name it): the wrapping keys for wrapped import and the
//! attestation key. Each is made on first use and sealed like any other key.

use super::{KeyOptions, Kms, Loaded, check_user_name, new_version, now, symmetric_version};
use crate::state::{KeyState, SecretKind};
use crate::{Error, KeyInfo, KeyName, KeyRef, Result, VersionState};
use aunsorm_crypto::{Algorithm, AlgorithmKind, PrivateKey, PublicKey, SignOptions, envelope};
use aunsorm_store::Namespace;
use std::fmt::Write as _;
use std::sync::Arc;

/// The context string of attestation signatures (ML-DSA-65, FIPS 204 context).
pub const ATTESTATION_CONTEXT: &[u8] = b"aunsorm attestation v1";
const ATTESTATION_KEY: (&str, Algorithm) = ("aunsorm/attestation", Algorithm::MlDsa65);
const KCV_LABEL: &[u8] = b"aunsorm key check value v1";

/// The KMS-held keys a caller can wrap key material to for [`Kms::import_wrapped`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WrappingKeyAlg {
    /// ML-KEM-768: wrap with `aunsorm seal --to` (the sealed-file format).
    MlKem768,
    /// RSA-4096: wrap as Vault's `wrapping_key` expects (RSA-OAEP-SHA256 of an ephemeral
    /// AES-256 key, then the material under AES-KWP).
    Rsa4096,
}

impl WrappingKeyAlg {
    fn record(self) -> (&'static str, Algorithm) {
        match self {
            WrappingKeyAlg::MlKem768 => ("aunsorm/wrapping-ml-kem-768", Algorithm::MlKem768),
            WrappingKeyAlg::Rsa4096 => ("aunsorm/wrapping-rsa-4096", Algorithm::Rsa4096),
        }
    }
}

/// A signed statement about one key version, made by [`Kms::attest`].
#[derive(Debug, Clone)]
pub struct Attestation {
    /// The statement: UTF-8 lines `field: value`, the first `aunsorm key attestation v1`.
    pub statement: String,
    /// ML-DSA-65 signature over the statement's bytes with context
    /// [`ATTESTATION_CONTEXT`].
    pub signature: Vec<u8>,
    /// The KMS's attestation public key (ML-DSA-65).
    pub signer: PublicKey,
}

impl Attestation {
    /// Checks the signature against an attestation key the caller trusts.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `trusted` is not the signer; crypto errors
    /// (`bad_signature`) if the statement or signature were changed.
    pub fn verify(&self, trusted: &PublicKey) -> Result<()> {
        if trusted.to_raw() != self.signer.to_raw() {
            return Err(Error::invalid(
                "attestation",
                "signed by another attestation key",
            ));
        }
        trusted.verify(
            self.statement.as_bytes(),
            &self.signature,
            &SignOptions::new().context(ATTESTATION_CONTEXT),
        )?;
        Ok(())
    }
}

impl Kms {
    /// The public key callers wrap key material to for [`Kms::import_wrapped`] (made on
    /// first use).
    ///
    /// # Errors
    /// [`Error::Sealed`]; storage errors.
    pub fn wrapping_key(&self, alg: WrappingKeyAlg) -> Result<PublicKey> {
        let (name, alg) = alg.record();
        let l = self.system_key(name, alg)?;
        newest_public(&l)
    }

    /// The KMS's attestation public key (ML-DSA-65; made on first use).
    ///
    /// # Errors
    /// [`Error::Sealed`]; storage errors.
    pub fn attestation_key(&self) -> Result<PublicKey> {
        let l = self.system_key(ATTESTATION_KEY.0, ATTESTATION_KEY.1)?;
        newest_public(&l)
    }

    /// Imports key material that the caller encrypted to a wrapping key
    /// ([`Kms::wrapping_key`]), so it never crosses the wire in the clear.
    ///
    /// `wrapped` is either a sealed file (`aunsorm seal --to` the ML-KEM-768 wrapping
    /// key) or Vault's format for the RSA-4096 wrapping key:
    /// `RSA-OAEP-SHA256(ephemeral AES-256 key) || AES-KWP(material)`. The material is
    /// PKCS#8 (DER or PEM) for asymmetric keys, raw bytes for `alg` symmetric.
    ///
    /// # Errors
    /// [`Error::Crypto`] (`decryption_failed`) if the material does not unwrap;
    /// [`Error::InvalidInput`] if it does not parse or is not of `alg`.
    pub fn import_wrapped(
        &self,
        name: &KeyName,
        alg: Option<Algorithm>,
        wrapped: &[u8],
        opts: &KeyOptions,
    ) -> Result<KeyInfo> {
        self.observe("import", || {
            check_user_name(name)?;
            let material = if wrapped.starts_with(&envelope::MAGIC) {
                let (n, a) = WrappingKeyAlg::MlKem768.record();
                let l = self.system_key(n, a)?;
                let v = newest(&l)?;
                envelope::open_to_vec(&*l.private_key(v)?, wrapped)?
            } else {
                let (n, a) = WrappingKeyAlg::Rsa4096.record();
                let l = self.system_key(n, a)?;
                let v = newest(&l)?;
                let key_len = rsa_modulus_len(&*l.public_key(v)?)?;
                if wrapped.len() <= key_len {
                    return Err(Error::invalid("wrapped key", "too short"));
                }
                let (ek, body) = wrapped.split_at(key_len);
                let aes = l.private_key(v)?.rsa_oaep_decrypt(ek, b"")?;
                aunsorm_crypto::aes256_kwp_unwrap(aes.expose(), body)?
            };
            match alg {
                Some(a) if matches!(a.kind(), AlgorithmKind::Aead | AlgorithmKind::Mac) => self
                    .insert_new(
                        "import",
                        name,
                        a,
                        opts,
                        symmetric_version(a, material.expose())?,
                    ),
                _ => {
                    let key = PrivateKey::from_pkcs8(material.expose())?;
                    if let Some(a) = alg.filter(|a| *a != key.algorithm()) {
                        return Err(Error::invalid(
                            "wrapped key",
                            format!("holds a {} key, not {a}", key.algorithm()),
                        ));
                    }
                    self.store_imported(name, &key, opts)
                }
            }
        })
    }

    /// A statement of a key version's algorithm, public-key fingerprint (or key check
    /// value for symmetric keys), policy and times, signed by the KMS's attestation
    /// key. Verify it with [`Attestation::verify`] or any ML-DSA-65 implementation.
    ///
    /// # Errors
    /// [`Error::NoSuchKey`], [`Error::Sealed`].
    pub fn attest(&self, key: &KeyRef) -> Result<Attestation> {
        self.audited("attest", &key.name, key.version, || {
            let l = self.load(&key.name)?;
            let (h, st) = (&l.header, &l.state);
            let v = match key.version {
                Some(n) => st
                    .versions
                    .iter()
                    .find(|v| v.number == n)
                    .ok_or_else(|| Error::NoSuchKey(key.to_string()))?,
                None => st
                    .versions
                    .last()
                    .ok_or(Error::Internal("key without versions"))?,
            };
            let p = &st.policy;
            let mut s = String::from("aunsorm key attestation v1\n");
            let _ = writeln!(s, "key: {}", key.name);
            let _ = writeln!(s, "version: {}", v.number);
            let _ = writeln!(s, "latest-version: {}", h.version);
            let _ = writeln!(s, "algorithm: {}", h.alg);
            let _ = writeln!(s, "state: {}", state_name(v.state));
            if !v.public.is_empty() {
                let fp = l.public_key(v)?.fingerprint()?;
                let _ = writeln!(s, "public-key-sha256: {}", hex_lower(&fp));
            } else if v.kind == SecretKind::Symmetric {
                let kcv = aunsorm_crypto::HmacKey::new(&v.secret).sign(KCV_LABEL);
                let _ = writeln!(s, "key-check-value: hmac-sha256:{}", hex_lower(&kcv));
            }
            let _ = writeln!(s, "purpose: {}", format!("{:?}", p.purpose).to_lowercase());
            let _ = writeln!(s, "exportable: {}", p.exportable);
            let _ = writeln!(s, "deletion-allowed: {}", p.deletion_allowed);
            let _ = writeln!(s, "min-decryption-version: {}", p.min_decryption_version);
            let _ = writeln!(s, "min-encryption-version: {}", p.min_encryption_version);
            let _ = writeln!(s, "auto-rotate-seconds: {}", p.auto_rotate_secs);
            let _ = writeln!(s, "key-created-at: {}", h.created_at);
            let _ = writeln!(s, "version-created-at: {}", v.created_at);
            match h.not_after {
                Some(t) => {
                    let _ = writeln!(s, "not-after: {t}");
                }
                None => s.push_str("not-after: none\n"),
            }
            let _ = writeln!(s, "record-generation: {}", l.generation);
            let _ = writeln!(s, "attested-at: {}", now());

            let signer = self.system_key(ATTESTATION_KEY.0, ATTESTATION_KEY.1)?;
            let sv = newest(&signer)?;
            let sig = super::ops::sign_with(
                &signer,
                sv,
                s.as_bytes(),
                &SignOptions::new().context(ATTESTATION_CONTEXT),
            )?;
            Ok(Attestation {
                statement: s,
                signature: sig.bytes,
                signer: (*signer.public_key(sv)?).clone(),
            })
        })
    }

    /// One of the KMS's own keys, made on first use (compare-and-swap: two racing
    /// callers end up with the same key).
    pub(super) fn system_key(&self, name: &'static str, alg: Algorithm) -> Result<Arc<Loaded>> {
        if let Some(l) = self
            .system
            .read()
            .map_err(|_| Error::Internal("cache lock poisoned"))?
            .get(name)
        {
            return Ok(Arc::clone(l));
        }
        let kn: KeyName = name.parse()?;
        for _ in 0..3 {
            let found = {
                let g = self.root()?;
                let root = g.as_ref().ok_or(Error::Sealed)?;
                self.fetch(root, Namespace::Meta, &kn)?
            };
            if let Some(l) = found {
                let l = Arc::new(l);
                self.system
                    .write()
                    .map_err(|_| Error::Internal("cache lock poisoned"))?
                    .insert(name, Arc::clone(&l));
                return Ok(l);
            }
            let created_at = now();
            let state = KeyState {
                policy: super::policy_for(alg, &KeyOptions::default()),
                versions: vec![new_version(alg, 1, created_at)?],
            };
            match self.write(Namespace::Meta, &kn, alg, created_at, None, &state, None) {
                Ok(()) | Err(Error::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!("{name}: could not be created")))
    }
}

fn newest(l: &Loaded) -> Result<&crate::state::Version> {
    l.state
        .versions
        .last()
        .ok_or(Error::Internal("key without versions"))
}

fn newest_public(l: &Loaded) -> Result<PublicKey> {
    Ok((*l.public_key(newest(l)?)?).clone())
}

fn rsa_modulus_len(pk: &PublicKey) -> Result<usize> {
    match pk.algorithm() {
        Algorithm::Rsa2048 => Ok(256),
        Algorithm::Rsa3072 => Ok(384),
        Algorithm::Rsa4096 => Ok(512),
        _ => Err(Error::Internal("wrapping key is not RSA")),
    }
}

fn state_name(s: VersionState) -> &'static str {
    match s {
        VersionState::Active => "active",
        VersionState::DecryptOnly => "decrypt-only",
        VersionState::Disabled => "disabled",
        VersionState::Destroyed => "destroyed",
    }
}

fn hex_lower(b: &[u8]) -> String {
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}
