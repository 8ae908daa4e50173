//! The root key: everything sealed at rest derives its key from it.

use crate::{Error, Result};
use aunsorm_crypto::{AeadKey, Algorithm, SecretBytes, hkdf_sha256, rng};
use zeroize::Zeroizing;

/// Length of the root key.
pub const ROOT_KEY_LEN: usize = 32;
const KEK_SALT: &[u8] = b"aunsorm/kek/v1";

/// The root key. Zeroized on drop, never printed.
pub struct RootKey(Zeroizing<[u8; ROOT_KEY_LEN]>);

impl core::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RootKey([redacted])")
    }
}

impl RootKey {
    /// A fresh random root key.
    ///
    /// # Errors
    /// [`Error::Entropy`] if the RNG fails.
    pub fn generate() -> Result<Self> {
        let mut k = Zeroizing::new([0u8; ROOT_KEY_LEN]);
        rng::fill(&mut k[..]).map_err(|_| Error::Entropy)?;
        Ok(RootKey(k))
    }

    /// A root key from its 32 bytes (a key file, unseal shares combined).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a length other than 32.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let arr: [u8; ROOT_KEY_LEN] = b.try_into().map_err(|_| {
            Error::invalid(
                "root key",
                format!("expected {ROOT_KEY_LEN} bytes, got {}", b.len()),
            )
        })?;
        Ok(RootKey(Zeroizing::new(arr)))
    }

    /// The key-encryption key of one key: HKDF-SHA256(root, salt "aunsorm/kek/v1",
    /// info = the key's name), as AES-256-GCM.
    ///
    /// # Errors
    /// Only if the backend fails.
    pub fn kek(&self, kid: &str) -> Result<AeadKey> {
        let okm = hkdf_sha256(&self.0[..], KEK_SALT, kid.as_bytes(), 32)?;
        Ok(AeadKey::new(Algorithm::Aes256Gcm, okm.expose())?)
    }

    pub(crate) fn expose(&self) -> &[u8; ROOT_KEY_LEN] {
        &self.0
    }
}

/// Argon2id parameters, stored beside the protected root so it can be opened again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassphraseParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for PassphraseParams {
    /// RFC 9106's second recommended setting, scaled to one lane: 64 MiB, 3 passes.
    fn default() -> Self {
        PassphraseParams {
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
        }
    }
}

/// Largest Argon2 memory accepted: 4 GiB.
const MAX_M_COST_KIB: u32 = 4 * 1024 * 1024;
/// Largest number of passes accepted.
const MAX_T_COST: u32 = 64;
/// Largest number of lanes accepted.
const MAX_P_COST: u32 = 64;

const ROOT_MAGIC: &[u8; 4] = b"AUNR";
const ROOT_FORMAT: u8 = 1;
const ROOT_HEADER_LEN: usize = 4 + 1 + 4 + 4 + 4 + 16;
const PROTECTED_LEN: usize = ROOT_HEADER_LEN + 12 + ROOT_KEY_LEN + 16;

/// The root key as stored under a passphrase: `"AUNR" || 01 || m_cost || t_cost ||
/// p_cost || salt[16] || nonce[12] || AES-256-GCM(root)`, all integers big-endian, the
/// bytes before the nonce authenticated as associated data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedRoot {
    params: PassphraseParams,
    salt: [u8; 16],
    nonce: [u8; 12],
    ciphertext: Vec<u8>,
}

impl ProtectedRoot {
    /// Protects `root` under `passphrase`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for Argon2 parameters out of range; [`Error::Entropy`].
    pub fn protect(root: &RootKey, passphrase: &[u8], params: PassphraseParams) -> Result<Self> {
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        rng::fill(&mut salt).map_err(|_| Error::Entropy)?;
        rng::fill(&mut nonce).map_err(|_| Error::Entropy)?;
        let mut p = ProtectedRoot {
            params,
            salt,
            nonce,
            ciphertext: Vec::new(),
        };
        let key = p.derive(passphrase)?;
        p.ciphertext = key.seal(&nonce, &p.header(), &root.expose()[..])?;
        Ok(p)
    }

    /// Opens the root key.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for a wrong passphrase (or a modified record).
    pub fn unlock(&self, passphrase: &[u8]) -> Result<RootKey> {
        let key = self.derive(passphrase)?;
        let root: SecretBytes = key
            .open(&self.nonce, &self.header(), &self.ciphertext)
            .map_err(|_| Error::Unauthorized)?;
        RootKey::from_bytes(root.expose())
    }

    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.header();
        v.extend_from_slice(&self.nonce);
        v.extend_from_slice(&self.ciphertext);
        v
    }

    /// Parses stored bytes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for anything malformed.
    pub fn decode(b: &[u8]) -> Result<Self> {
        if b.len() != PROTECTED_LEN || &b[..4] != ROOT_MAGIC || b[4] != ROOT_FORMAT {
            return Err(Error::invalid("protected root key", "unknown format"));
        }
        let u = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&b[17..33]);
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&b[33..45]);
        Ok(ProtectedRoot {
            params: PassphraseParams {
                m_cost_kib: u(5),
                t_cost: u(9),
                p_cost: u(13),
            },
            salt,
            nonce,
            ciphertext: b[45..].to_vec(),
        })
    }

    /// The Argon2id parameters in use.
    pub fn params(&self) -> PassphraseParams {
        self.params
    }

    fn header(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(ROOT_HEADER_LEN);
        v.extend_from_slice(ROOT_MAGIC);
        v.push(ROOT_FORMAT);
        v.extend_from_slice(&self.params.m_cost_kib.to_be_bytes());
        v.extend_from_slice(&self.params.t_cost.to_be_bytes());
        v.extend_from_slice(&self.params.p_cost.to_be_bytes());
        v.extend_from_slice(&self.salt);
        v
    }

    fn derive(&self, passphrase: &[u8]) -> Result<AeadKey> {
        let p = &self.params;
        // Bounds keep a modified record from turning an unlock into a denial of service.
        if p.m_cost_kib > MAX_M_COST_KIB || p.t_cost > MAX_T_COST || p.p_cost > MAX_P_COST {
            return Err(Error::invalid(
                "Argon2 parameters",
                "out of the accepted range",
            ));
        }
        let params = argon2::Params::new(p.m_cost_kib, p.t_cost, p.p_cost, Some(32))
            .map_err(|e| Error::invalid("Argon2 parameters", e.to_string()))?;
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        a.hash_password_into(passphrase, &self.salt, &mut out[..])
            .map_err(|e| Error::invalid("passphrase", e.to_string()))?;
        Ok(AeadKey::new(Algorithm::Aes256Gcm, &out[..])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: PassphraseParams = PassphraseParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };

    #[test]
    fn passphrase_protects_and_unlocks() {
        let root = RootKey::generate().unwrap();
        let p = ProtectedRoot::protect(&root, b"correct horse", FAST).unwrap();
        let again = ProtectedRoot::decode(&p.encode()).unwrap();
        assert_eq!(again, p);
        assert_eq!(
            again.unlock(b"correct horse").unwrap().expose(),
            root.expose()
        );
        assert!(matches!(
            again.unlock(b"wrong horse"),
            Err(Error::Unauthorized)
        ));
        // Any modified byte, parameters included, fails.
        let enc = p.encode();
        for i in 0..enc.len() {
            let mut bad = enc.clone();
            bad[i] ^= 1;
            if let Ok(b) = ProtectedRoot::decode(&bad) {
                assert!(b.unlock(b"correct horse").is_err(), "byte {i}");
            }
        }
        assert_eq!(format!("{root:?}"), "RootKey([redacted])");
    }

    #[test]
    fn argon2id_matches_the_reference_implementation() {
        // RFC 9106 section 5.3 uses a secret and associated data, which this API does
        // not; this checks the crate against the reference implementation's output for
        // plain Argon2id (m=32 KiB, t=3, p=4, pwd = 32 x 01, salt = 16 x 02, 32 bytes),
        // computed with argon2-cffi 25.1.0 (the reference C implementation).
        let params = argon2::Params::new(32, 3, 4, Some(32)).unwrap();
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = [0u8; 32];
        a.hash_password_into(&[1u8; 32], &[2u8; 16], &mut out)
            .unwrap();
        assert_eq!(hex::encode(out), ARGON2ID_REFERENCE);
    }

    const ARGON2ID_REFERENCE: &str = include_str!("../tests/fixtures/argon2id_reference.hex");
}
