//! A key's state (policy and versions), the payload inside its sealed record.
//!
//! Encoding, format 1 (big-endian; authenticated and encrypted by the sealed record):
//! ```text
//! purpose u8 | exportable u8 | deletion_allowed u8 | min_decryption_version u32
//! | min_encryption_version u32 | auto_rotate_secs u64 (0 = never) | count u32
//! | count x (number u32 | state u8 | created_at u64 | secret_kind u8
//!            | secret_len u32 | secret | public_len u32 | public)
//! ```

use crate::{Error, Result};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What a key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// Authenticated encryption (symmetric AEAD keys, RSA-OAEP).
    Encrypt,
    /// Signatures.
    Sign,
    /// Key encapsulation.
    Kem,
    /// Message authentication codes.
    Mac,
}

impl Purpose {
    fn code(self) -> u8 {
        match self {
            Purpose::Encrypt => 1,
            Purpose::Sign => 2,
            Purpose::Kem => 3,
            Purpose::Mac => 4,
        }
    }

    fn from_code(c: u8) -> Option<Self> {
        [Purpose::Encrypt, Purpose::Sign, Purpose::Kem, Purpose::Mac]
            .into_iter()
            .find(|p| p.code() == c)
    }
}

/// A key's policy (DESIGN.md "Keys").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// What the key is for.
    pub purpose: Purpose,
    /// Whether private material may leave the KMS. Off by default.
    pub exportable: bool,
    /// Whether the key may be deleted.
    pub deletion_allowed: bool,
    /// Versions below this are refused for decrypt/verify.
    pub min_decryption_version: u32,
    /// New encryptions/signatures use at least this version (0: the newest).
    pub min_encryption_version: u32,
    /// Automatic rotation period in seconds (0: never).
    pub auto_rotate_secs: u64,
}

/// The state of one key version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VersionState {
    /// Usable for everything its purpose allows.
    Active,
    /// Only decrypt/verify.
    DecryptOnly,
    /// Not usable until enabled again.
    Disabled,
    /// Material zeroized; a tombstone remains.
    Destroyed,
}

impl VersionState {
    fn code(self) -> u8 {
        match self {
            VersionState::Active => 0,
            VersionState::DecryptOnly => 1,
            VersionState::Disabled => 2,
            VersionState::Destroyed => 3,
        }
    }

    fn from_code(c: u8) -> Option<Self> {
        [
            VersionState::Active,
            VersionState::DecryptOnly,
            VersionState::Disabled,
            VersionState::Destroyed,
        ]
        .into_iter()
        .find(|s| s.code() == c)
    }
}

/// How a version's secret is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretKind {
    /// The algorithm's standard seed (asymmetric keys with one).
    Seed = 1,
    /// PKCS#8 DER (RSA, which has no seed).
    Pkcs8 = 2,
    /// Raw symmetric key bytes.
    Symmetric = 3,
    /// Nothing: the version was destroyed.
    None = 4,
}

impl SecretKind {
    fn from_code(c: u8) -> Option<Self> {
        [
            SecretKind::Seed,
            SecretKind::Pkcs8,
            SecretKind::Symmetric,
            SecretKind::None,
        ]
        .into_iter()
        .find(|k| *k as u8 == c)
    }
}

/// One version of a key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Version {
    #[zeroize(skip)]
    pub(crate) number: u32,
    #[zeroize(skip)]
    pub(crate) state: VersionState,
    #[zeroize(skip)]
    pub(crate) created_at: u64,
    #[zeroize(skip)]
    pub(crate) kind: SecretKind,
    pub(crate) secret: Vec<u8>,
    #[zeroize(skip)]
    pub(crate) public: Vec<u8>,
}

/// A key: its policy and versions, oldest first.
#[derive(Clone)]
pub(crate) struct KeyState {
    pub(crate) policy: Policy,
    pub(crate) versions: Vec<Version>,
}

impl KeyState {
    pub(crate) fn encode(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let mut v = zeroize::Zeroizing::new(Vec::new());
        let p = &self.policy;
        v.push(p.purpose.code());
        v.push(u8::from(p.exportable));
        v.push(u8::from(p.deletion_allowed));
        v.extend_from_slice(&p.min_decryption_version.to_be_bytes());
        v.extend_from_slice(&p.min_encryption_version.to_be_bytes());
        v.extend_from_slice(&p.auto_rotate_secs.to_be_bytes());
        v.extend_from_slice(
            &u32::try_from(self.versions.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        for ver in &self.versions {
            v.extend_from_slice(&ver.number.to_be_bytes());
            v.push(ver.state.code());
            v.extend_from_slice(&ver.created_at.to_be_bytes());
            v.push(ver.kind as u8);
            v.extend_from_slice(
                &u32::try_from(ver.secret.len())
                    .unwrap_or(u32::MAX)
                    .to_be_bytes(),
            );
            v.extend_from_slice(&ver.secret);
            v.extend_from_slice(
                &u32::try_from(ver.public.len())
                    .unwrap_or(u32::MAX)
                    .to_be_bytes(),
            );
            v.extend_from_slice(&ver.public);
        }
        v
    }

    /// Decodes a payload that already authenticated; failures here mean a bug or a
    /// record from an unknown writer, and are reported as corruption by the caller.
    pub(crate) fn decode(b: &[u8]) -> Result<Self> {
        let bad = || Error::Internal("key state does not parse");
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8]> {
            let s = b
                .get(at..at.checked_add(n).ok_or_else(bad)?)
                .ok_or_else(bad)?;
            at += n;
            Ok(s)
        };
        let u8_ = |s: &[u8]| s[0];
        let u32_ = |s: &[u8]| u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
        let u64_ = |s: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_be_bytes(a)
        };
        let purpose = Purpose::from_code(u8_(take(1)?)).ok_or_else(bad)?;
        let exportable = u8_(take(1)?) != 0;
        let deletion_allowed = u8_(take(1)?) != 0;
        let min_decryption_version = u32_(take(4)?);
        let min_encryption_version = u32_(take(4)?);
        let auto_rotate_secs = u64_(take(8)?);
        let count = u32_(take(4)?);
        let mut versions = Vec::new();
        for _ in 0..count {
            let number = u32_(take(4)?);
            let state = VersionState::from_code(u8_(take(1)?)).ok_or_else(bad)?;
            let created_at = u64_(take(8)?);
            let kind = SecretKind::from_code(u8_(take(1)?)).ok_or_else(bad)?;
            let n = usize::try_from(u32_(take(4)?)).map_err(|_| bad())?;
            let secret = take(n)?.to_vec();
            let n = usize::try_from(u32_(take(4)?)).map_err(|_| bad())?;
            let public = take(n)?.to_vec();
            versions.push(Version {
                number,
                state,
                created_at,
                kind,
                secret,
                public,
            });
        }
        if at != b.len() {
            return Err(bad());
        }
        Ok(KeyState {
            policy: Policy {
                purpose,
                exportable,
                deletion_allowed,
                min_decryption_version,
                min_encryption_version,
                auto_rotate_secs,
            },
            versions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroize_clears_the_secret_and_keeps_the_public_facts() {
        let mut v = Version {
            number: 3,
            state: VersionState::Active,
            created_at: 9,
            kind: SecretKind::Seed,
            secret: vec![0xAA; 32],
            public: vec![1, 2, 3],
        };
        Zeroize::zeroize(&mut v);
        assert!(
            v.secret.is_empty(),
            "zeroize must clear (and truncate) the secret"
        );
        assert_eq!((v.number, v.public.as_slice()), (3, &[1u8, 2, 3][..]));
    }
}
