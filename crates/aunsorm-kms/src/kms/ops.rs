//! The cryptographic operations: encrypt/decrypt/rewrap, data keys, sign/verify, HMAC,
//! encapsulate/decapsulate, wrap/unwrap, and their batch forms.
//!
//! Operations that make something new (encrypt, sign, hmac, encapsulate, wrap) use the
//! newest active version, or the version named (`name#vN`) if policy allows it, and
//! refuse an expired key. Operations that check or open something (decrypt, verify,
//! decapsulate, unwrap) use the version the input carries, refused below
//! `min_decryption_version` or when destroyed or disabled.

use super::{Kms, Loaded, now};
use crate::state::{KeyState, Version};
use crate::versioned::Versioned;
use crate::{Error, KeyName, KeyRef, Purpose, Result, VersionState, sealed};
use aunsorm_crypto::{SecretBytes, SignOptions, hkdf_sha256};

const WRAP_AAD_LABEL: &[u8] = b"aunsorm wrap v1\0";
const WRAP_KDF_SALT: &[u8] = b"aunsorm/wrap/v1";

/// One item of a batch: its result, in input order. A failed item does not fail the
/// others.
pub type BatchItem<T> = Result<T>;

impl Kms {
    /// Encrypts with the newest version (or the one named); the result carries the
    /// version (`aunsorm:vN:<base64>` as text). The bytes are nonce || ciphertext || tag.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] for a key not meant for encryption; [`Error::Expired`].
    pub fn encrypt(&self, key: &KeyRef, plaintext: &[u8], aad: &[u8]) -> Result<Versioned> {
        self.audited("encrypt", &key.name, key.version, || {
            let l = self.load(&key.name)?;
            need(&l.state, Purpose::Encrypt, &key.name)?;
            let v = version_for_writing(&l, key)?;
            encrypt_with(&l, v, plaintext, aad)
        })
    }

    /// Decrypts a ciphertext made by [`Kms::encrypt`] with any allowed version.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] for a version below the minimum, destroyed or disabled;
    /// decryption failures.
    pub fn decrypt(
        &self,
        name: &KeyName,
        ciphertext: &Versioned,
        aad: &[u8],
    ) -> Result<SecretBytes> {
        self.audited("decrypt", name, Some(ciphertext.version), || {
            let l = self.load(name)?;
            need(&l.state, Purpose::Encrypt, name)?;
            decrypt_with(&l, name, ciphertext, aad)
        })
    }

    /// Decrypts and encrypts again under the newest version, without the plaintext
    /// leaving the KMS.
    ///
    /// # Errors
    /// As [`Kms::decrypt`] and [`Kms::encrypt`].
    pub fn rewrap(&self, name: &KeyName, ciphertext: &Versioned, aad: &[u8]) -> Result<Versioned> {
        self.audited("rewrap", name, None, || {
            let l = self.load(name)?;
            need(&l.state, Purpose::Encrypt, name)?;
            let pt = decrypt_with(&l, name, ciphertext, aad)?;
            let v = version_for_writing(&l, &KeyRef::from(name.clone()))?;
            encrypt_with(&l, v, pt.expose(), aad)
        })
    }

    /// A data key for envelope encryption: `bytes` fresh random bytes, and the same bytes
    /// encrypted under `key` (`aunsorm:vN:...`). Keep the wrapped form beside the data
    /// and discard the plaintext after use.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a size other than 16, 24, 32 or 64 bytes; as
    /// [`Kms::encrypt`].
    pub fn datakey(
        &self,
        key: &KeyRef,
        bytes: usize,
        aad: &[u8],
    ) -> Result<(SecretBytes, Versioned)> {
        self.audited("datakey", &key.name, key.version, || {
            if ![16, 24, 32, 64].contains(&bytes) {
                return Err(Error::invalid("data key size", "16, 24, 32 or 64 bytes"));
            }
            let dk = SecretBytes::new(
                aunsorm_crypto::rng::random_bytes(bytes).map_err(|_| Error::Entropy)?,
            );
            let l = self.load(&key.name)?;
            need(&l.state, Purpose::Encrypt, &key.name)?;
            let v = version_for_writing(&l, key)?;
            let wrapped = encrypt_with(&l, v, dk.expose(), aad)?;
            Ok((dk, wrapped))
        })
    }

    /// Signs with the newest version (or the one named): `aunsorm:vN:<base64(sig)>`.
    /// `context` is the FIPS 204/205 context string (ML-DSA, SLH-DSA, the composite);
    /// it must be empty for other algorithms.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] for a key not meant for signing; [`Error::Expired`].
    pub fn sign(&self, key: &KeyRef, msg: &[u8], context: &[u8]) -> Result<Versioned> {
        self.audited("sign", &key.name, key.version, || {
            let l = self.load(&key.name)?;
            need(&l.state, Purpose::Sign, &key.name)?;
            let v = version_for_writing(&l, key)?;
            sign_with(&l, v, msg, &SignOptions::new().context(context))
        })
    }

    /// Signs with explicit options (RSA padding, ECDSA encoding, context): the form the
    /// Vault-compatible API needs.
    ///
    /// # Errors
    /// As [`Kms::sign`].
    pub fn sign_with_options(
        &self,
        key: &KeyRef,
        msg: &[u8],
        opts: &SignOptions<'_>,
    ) -> Result<Versioned> {
        self.audited("sign", &key.name, key.version, || {
            let l = self.load(&key.name)?;
            need(&l.state, Purpose::Sign, &key.name)?;
            let v = version_for_writing(&l, key)?;
            sign_with(&l, v, msg, opts)
        })
    }

    /// Verifies a signature made by [`Kms::sign`]; `Ok(false)` when it does not verify.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `key` names another version than the signature's;
    /// [`Error::PolicyDenied`] for a version below the minimum or destroyed.
    pub fn verify(
        &self,
        key: &KeyRef,
        msg: &[u8],
        signature: &Versioned,
        context: &[u8],
    ) -> Result<bool> {
        self.verify_with_options(key, msg, signature, &SignOptions::new().context(context))
    }

    /// [`Kms::verify`] with explicit options.
    ///
    /// # Errors
    /// As [`Kms::verify`].
    pub fn verify_with_options(
        &self,
        key: &KeyRef,
        msg: &[u8],
        signature: &Versioned,
        opts: &SignOptions<'_>,
    ) -> Result<bool> {
        self.audited("verify", &key.name, Some(signature.version), || {
            let l = self.load(&key.name)?;
            need(&l.state, Purpose::Sign, &key.name)?;
            verify_with(&l, key, msg, signature, opts)
        })
    }

    /// HMAC-SHA-256 with the newest version (or the one named): `aunsorm:vN:<b64(tag)>`.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] for a key that is not an HMAC key.
    pub fn hmac(&self, key: &KeyRef, msg: &[u8]) -> Result<Versioned> {
        self.audited("hmac", &key.name, key.version, || {
            let l = self.load(&key.name)?;
            need(&l.state, Purpose::Mac, &key.name)?;
            let v = version_for_writing(&l, key)?;
            let tag = aunsorm_crypto::HmacKey::new(&v.secret).sign(msg);
            Ok(Versioned {
                version: v.number,
                bytes: tag.to_vec(),
            })
        })
    }

    /// Checks an HMAC made by [`Kms::hmac`] in constant time; `Ok(false)` if it is wrong.
    ///
    /// # Errors
    /// As [`Kms::verify`].
    pub fn verify_hmac(&self, name: &KeyName, msg: &[u8], tag: &Versioned) -> Result<bool> {
        self.audited("verify_hmac", name, Some(tag.version), || {
            let l = self.load(name)?;
            need(&l.state, Purpose::Mac, name)?;
            let v = usable_for_reading(&l.state, name, tag.version)?;
            Ok(aunsorm_crypto::HmacKey::new(&v.secret)
                .verify(msg, &tag.bytes)
                .is_ok())
        })
    }

    /// Encapsulates a fresh shared secret to the newest version of a KEM key (or the
    /// one named); returns the secret and the ciphertext.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] for a key that is not a KEM key.
    pub fn encapsulate(&self, key: &KeyRef) -> Result<(SecretBytes, Versioned)> {
        self.audited("encapsulate", &key.name, key.version, || {
            let l = self.load(&key.name)?;
            need(&l.state, Purpose::Kem, &key.name)?;
            let v = version_for_writing(&l, key)?;
            let (ct, ss) = l.public_key(v)?.encapsulate()?;
            Ok((
                ss,
                Versioned {
                    version: v.number,
                    bytes: ct,
                },
            ))
        })
    }

    /// Decapsulates a ciphertext made for any allowed version.
    ///
    /// # Errors
    /// As [`Kms::decrypt`].
    pub fn decapsulate(&self, name: &KeyName, ciphertext: &Versioned) -> Result<SecretBytes> {
        self.audited("decapsulate", name, Some(ciphertext.version), || {
            let l = self.load(name)?;
            need(&l.state, Purpose::Kem, name)?;
            let v = usable_for_reading(&l.state, name, ciphertext.version)?;
            Ok(l.private_key(v)?.decapsulate(&ciphertext.bytes)?)
        })
    }

    /// Wraps a caller's secret (a key, a token) under `key`: an AEAD key encrypts it
    /// with associated data domain-separated from [`Kms::encrypt`] (so `decrypt` cannot
    /// open it: wrapping needs its own permission); a KEM key encapsulates and encrypts
    /// it under a key derived from the shared secret. Format in docs/formats.md.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] for a signing or MAC key; [`Error::InvalidInput`] for an
    /// empty secret.
    pub fn wrap(&self, key: &KeyRef, secret: &[u8], aad: &[u8]) -> Result<Versioned> {
        self.audited("wrap", &key.name, key.version, || {
            if secret.is_empty() {
                return Err(Error::invalid("secret to wrap", "empty"));
            }
            let l = self.load(&key.name)?;
            let v = version_for_writing(&l, key)?;
            match l.state.policy.purpose {
                Purpose::Encrypt => encrypt_with(&l, v, secret, &wrap_aad(aad)),
                Purpose::Kem => {
                    let (kem_ct, ss) = l.public_key(v)?.encapsulate()?;
                    let mut bytes = kem_ct;
                    let dem = wrap_dem_key(ss.expose(), &bytes)?;
                    bytes.extend_from_slice(&dem.seal(&[0u8; 12], aad, secret)?);
                    Ok(Versioned {
                        version: v.number,
                        bytes,
                    })
                }
                _ => Err(Error::PolicyDenied(format!(
                    "{} cannot wrap: it is a {:?} key",
                    key.name, l.state.policy.purpose
                ))),
            }
        })
    }

    /// Opens what [`Kms::wrap`] made.
    ///
    /// # Errors
    /// As [`Kms::decrypt`].
    pub fn unwrap(&self, name: &KeyName, wrapped: &Versioned, aad: &[u8]) -> Result<SecretBytes> {
        self.audited("unwrap", name, Some(wrapped.version), || {
            let l = self.load(name)?;
            match l.state.policy.purpose {
                Purpose::Encrypt => decrypt_with(&l, name, wrapped, &wrap_aad(aad)),
                Purpose::Kem => {
                    let v = usable_for_reading(&l.state, name, wrapped.version)?;
                    let ct_len = l.public_key(v)?.ciphertext_len()?;
                    if wrapped.bytes.len() < ct_len + aunsorm_crypto::AEAD_TAG_LEN {
                        return Err(Error::invalid("wrapped secret", "too short"));
                    }
                    let (kem_ct, body) = wrapped.bytes.split_at(ct_len);
                    let ss = l.private_key(v)?.decapsulate(kem_ct)?;
                    let dem = wrap_dem_key(ss.expose(), kem_ct)?;
                    Ok(dem.open(&[0u8; 12], aad, body)?)
                }
                _ => Err(Error::PolicyDenied(format!(
                    "{name} cannot unwrap: it is a {:?} key",
                    l.state.policy.purpose
                ))),
            }
        })
    }

    /// [`Kms::encrypt`] of many plaintexts (each with its associated data) under one
    /// key, loaded once.
    pub fn encrypt_batch(
        &self,
        key: &KeyRef,
        items: &[(&[u8], &[u8])],
    ) -> Vec<BatchItem<Versioned>> {
        items
            .iter()
            .map(|(pt, aad)| self.encrypt(key, pt, aad))
            .collect()
    }

    /// [`Kms::decrypt`] of many ciphertexts.
    pub fn decrypt_batch(
        &self,
        name: &KeyName,
        items: &[(&Versioned, &[u8])],
    ) -> Vec<BatchItem<SecretBytes>> {
        items
            .iter()
            .map(|(ct, aad)| self.decrypt(name, ct, aad))
            .collect()
    }

    /// [`Kms::sign`] of many messages with one context.
    pub fn sign_batch(
        &self,
        key: &KeyRef,
        msgs: &[&[u8]],
        context: &[u8],
    ) -> Vec<BatchItem<Versioned>> {
        msgs.iter().map(|m| self.sign(key, m, context)).collect()
    }

    /// [`Kms::verify`] of many (message, signature) pairs with one context.
    pub fn verify_batch(
        &self,
        key: &KeyRef,
        items: &[(&[u8], &Versioned)],
        context: &[u8],
    ) -> Vec<BatchItem<bool>> {
        items
            .iter()
            .map(|(m, s)| self.verify(key, m, s, context))
            .collect()
    }
}

fn wrap_aad(aad: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(WRAP_AAD_LABEL.len() + aad.len());
    v.extend_from_slice(WRAP_AAD_LABEL);
    v.extend_from_slice(aad);
    v
}

/// The one-time AES-256-GCM key of a KEM wrap: HKDF-SHA256(shared secret, salt
/// "aunsorm/wrap/v1", info = the KEM ciphertext). Fresh per wrap, so a zero nonce is safe.
fn wrap_dem_key(ss: &[u8], kem_ct: &[u8]) -> Result<aunsorm_crypto::AeadKey> {
    let k = hkdf_sha256(ss, WRAP_KDF_SALT, kem_ct, 32)?;
    Ok(aunsorm_crypto::AeadKey::new(
        aunsorm_crypto::Algorithm::Aes256Gcm,
        k.expose(),
    )?)
}

fn encrypt_with(l: &Loaded, v: &Version, plaintext: &[u8], aad: &[u8]) -> Result<Versioned> {
    let key = l
        .aead
        .get(&v.number)
        .ok_or(Error::Internal("AEAD key not expanded"))?;
    Ok(Versioned {
        version: v.number,
        bytes: key.encrypt(aad, plaintext)?,
    })
}

fn decrypt_with(l: &Loaded, name: &KeyName, ct: &Versioned, aad: &[u8]) -> Result<SecretBytes> {
    let v = usable_for_reading(&l.state, name, ct.version)?;
    let key = l
        .aead
        .get(&v.number)
        .ok_or(Error::Internal("AEAD key not expanded"))?;
    Ok(key.decrypt(aad, &ct.bytes)?)
}

pub(super) fn sign_with(
    l: &Loaded,
    v: &Version,
    msg: &[u8],
    opts: &SignOptions<'_>,
) -> Result<Versioned> {
    let sig = l.private_key(v)?.sign(msg, opts)?;
    Ok(Versioned {
        version: v.number,
        bytes: sig,
    })
}

fn verify_with(
    l: &Loaded,
    key: &KeyRef,
    msg: &[u8],
    signature: &Versioned,
    opts: &SignOptions<'_>,
) -> Result<bool> {
    if key.version.is_some_and(|v| v != signature.version) {
        return Err(Error::invalid(
            "signature",
            "made with another version than the one named",
        ));
    }
    let v = usable_for_reading(&l.state, &key.name, signature.version)?;
    match l.public_key(v)?.verify(msg, &signature.bytes, opts) {
        Ok(()) => Ok(true),
        Err(aunsorm_crypto::Error::BadSignature) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn need(st: &KeyState, purpose: Purpose, name: &KeyName) -> Result<()> {
    if st.policy.purpose != purpose {
        return Err(Error::PolicyDenied(format!(
            "{name} is a {:?} key",
            st.policy.purpose
        )));
    }
    Ok(())
}

fn check_expiry(h: &sealed::Header) -> Result<()> {
    match h.not_after {
        Some(t) if now() > t => Err(Error::Expired(format!(
            "{} expired at {t} (Unix time)",
            h.kid
        ))),
        _ => Ok(()),
    }
}

/// The version new output is made with: the newest active one, or the one named if it
/// is active and not below the minimum versions.
fn version_for_writing<'a>(l: &'a Loaded, key: &KeyRef) -> Result<&'a Version> {
    check_expiry(&l.header)?;
    let st = &l.state;
    let name = &key.name;
    match key.version {
        None => st
            .versions
            .iter()
            .rev()
            .find(|v| v.state == VersionState::Active)
            .ok_or_else(|| Error::PolicyDenied(format!("{name} has no active version"))),
        Some(n) => {
            let v = st
                .versions
                .iter()
                .find(|v| v.number == n)
                .ok_or_else(|| Error::NoSuchKey(key.to_string()))?;
            let min = st
                .policy
                .min_encryption_version
                .max(st.policy.min_decryption_version);
            if n < min {
                return Err(Error::PolicyDenied(format!(
                    "{key} is below the minimum version {min} for new output"
                )));
            }
            if v.state != VersionState::Active {
                return Err(Error::PolicyDenied(format!("{key} is not active")));
            }
            Ok(v)
        }
    }
}

/// The version named by `key` (newest when unnamed), if it may still be read.
pub(super) fn version_for_reading<'a>(st: &'a KeyState, key: &KeyRef) -> Result<&'a Version> {
    let n = match key.version {
        Some(n) => n,
        None => st
            .versions
            .last()
            .map(|v| v.number)
            .ok_or(Error::Internal("key without versions"))?,
    };
    usable_for_reading(st, &key.name, n)
}

fn usable_for_reading<'a>(st: &'a KeyState, name: &KeyName, version: u32) -> Result<&'a Version> {
    let v = st
        .versions
        .iter()
        .find(|v| v.number == version)
        .ok_or_else(|| Error::NoSuchKey(format!("{name}#v{version}")))?;
    if version < st.policy.min_decryption_version {
        return Err(Error::PolicyDenied(format!(
            "{name}#v{version} is below min_decryption_version {}",
            st.policy.min_decryption_version
        )));
    }
    match v.state {
        VersionState::Destroyed => Err(Error::PolicyDenied(format!(
            "{name}#v{version} was destroyed"
        ))),
        VersionState::Disabled => Err(Error::PolicyDenied(format!(
            "{name}#v{version} is disabled"
        ))),
        _ => Ok(v),
    }
}
