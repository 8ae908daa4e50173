//! The custody core: keys in a store, sealed under the root key.

use crate::state::{KeyState, SecretKind, Version};
use crate::versioned::Versioned;
use crate::{
    Error, KeyName, KeyRef, PassphraseParams, Policy, ProtectedRoot, Purpose, Result, RootKey,
    VersionState, sealed,
};
use aunsorm_crypto::{
    AeadKey, Algorithm, AlgorithmKind, PrivateKey, PublicKey, SecretBytes, SignOptions,
};
use aunsorm_store::{Namespace, Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

const ROOT_RECORD: &str = "root";
const CAS_RETRIES: usize = 32;

/// Public facts about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key's name.
    pub name: KeyName,
    /// Its algorithm.
    pub alg: Algorithm,
    /// Its policy.
    pub policy: Policy,
    /// Creation time (Unix seconds).
    pub created_at: u64,
    /// Versions, oldest first.
    pub versions: Vec<VersionInfo>,
}

/// Public facts about one key version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// Version number, from 1.
    pub number: u32,
    /// Its state.
    pub state: VersionState,
    /// Creation time (Unix seconds).
    pub created_at: u64,
    /// Raw public key (empty for symmetric keys).
    pub public_key: Vec<u8>,
}

/// The custody core over a [`Store`]. Starts sealed.
///
/// Unsealed keys are cached (at most [`CACHE_CAPACITY`] keys; their private keys parsed
/// once, in their fastest form), so a hot key is not unsealed per operation. The cache
/// is emptied by [`Kms::seal`] and an entry is replaced by every write through this
/// `Kms`: one process owns a store.
pub struct Kms {
    store: Arc<dyn Store>,
    root: RwLock<Option<RootKey>>,
    cache: RwLock<HashMap<KeyName, Arc<Loaded>>>,
}

/// Keys kept unsealed at once.
pub const CACHE_CAPACITY: usize = 4096;

/// An unsealed key: its header, state, store generation and parsed private keys.
struct Loaded {
    header: sealed::Header,
    state: KeyState,
    generation: u64,
    private: Mutex<HashMap<u32, Arc<PrivateKey>>>,
    /// AEAD keys of every usable version, expanded once at load.
    aead: HashMap<u32, AeadKey>,
}

impl Loaded {
    fn private_key(&self, v: &Version) -> Result<Arc<PrivateKey>> {
        let mut m = self
            .private
            .lock()
            .map_err(|_| Error::Internal("cache lock poisoned"))?;
        if let Some(k) = m.get(&v.number) {
            return Ok(Arc::clone(k));
        }
        let k = Arc::new(private_key(self.header.alg, v)?);
        m.insert(v.number, Arc::clone(&k));
        Ok(k)
    }
}

impl core::fmt::Debug for Kms {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Kms(sealed: {})", self.is_sealed())
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn storage(e: StoreError) -> Error {
    match e {
        StoreError::Conflict { name, .. } => Error::Conflict(name),
        other => Error::Storage(other),
    }
}

fn default_purpose(alg: Algorithm) -> Purpose {
    match alg.kind() {
        AlgorithmKind::Aead => Purpose::Encrypt,
        AlgorithmKind::Mac => Purpose::Mac,
        AlgorithmKind::Kem => Purpose::Kem,
        _ => Purpose::Sign,
    }
}

impl Kms {
    /// A sealed KMS over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Kms {
            store,
            root: RwLock::new(None),
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// Whether the KMS is sealed.
    pub fn is_sealed(&self) -> bool {
        self.root.read().map_or(true, |r| r.is_none())
    }

    /// Creates the root key, protects it under `passphrase` and leaves the KMS unsealed.
    ///
    /// # Errors
    /// [`Error::Conflict`] if the store already has a root key.
    pub fn init_with_passphrase(&self, passphrase: &[u8], params: PassphraseParams) -> Result<()> {
        let root = RootKey::generate()?;
        let protected = ProtectedRoot::protect(&root, passphrase, params)?;
        self.store
            .put(Namespace::Meta, ROOT_RECORD, None, &protected.encode())
            .map_err(|e| match e {
                StoreError::Conflict { .. } => {
                    Error::Conflict("the store is already initialized".into())
                }
                other => Error::Storage(other),
            })?;
        self.set_root(Some(root))
    }

    /// Opens the root key with `passphrase`.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for a wrong passphrase; [`Error::NoSuchKey`] if the store
    /// was never initialized.
    pub fn unseal_with_passphrase(&self, passphrase: &[u8]) -> Result<()> {
        let rec = self
            .store
            .get(Namespace::Meta, ROOT_RECORD)
            .map_err(storage)?
            .ok_or_else(|| Error::NoSuchKey("root key (run init first)".into()))?;
        let root = ProtectedRoot::decode(&rec.value)?.unlock(passphrase)?;
        self.set_root(Some(root))
    }

    /// Drops (and zeroizes) the root key: every operation fails with `sealed` until the
    /// next unseal.
    pub fn seal(&self) {
        let _ = self.set_root(None);
        if let Ok(mut c) = self.cache.write() {
            c.clear();
        }
    }

    /// How many keys are cached unsealed.
    pub fn cached_keys(&self) -> usize {
        self.cache.read().map_or(0, |c| c.len())
    }

    fn set_root(&self, root: Option<RootKey>) -> Result<()> {
        let mut g = self
            .root
            .write()
            .map_err(|_| Error::Internal("root lock poisoned"))?;
        *g = root;
        Ok(())
    }

    /// Creates a key with one version.
    ///
    /// # Errors
    /// [`Error::Conflict`] if the name exists; [`Error::Sealed`]; algorithm errors.
    pub fn create(
        &self,
        name: &KeyName,
        alg: Algorithm,
        not_after: Option<u64>,
    ) -> Result<KeyInfo> {
        let created_at = now();
        let state = KeyState {
            policy: default_policy(alg),
            versions: vec![new_version(alg, 1, created_at)?],
        };
        self.write(name, alg, created_at, not_after, &state, None)?;
        self.info(name)
    }

    /// Imports a private key (PKCS#8, PEM or DER) as version 1 of a new key.
    ///
    /// # Security
    /// The caller held the key in the clear; prefer generating keys inside the KMS, or
    /// wrapped import once it exists.
    ///
    /// # Errors
    /// [`Error::Conflict`] if the name exists; key parsing errors.
    pub fn import_private_key(
        &self,
        name: &KeyName,
        pkcs8: &[u8],
        not_after: Option<u64>,
    ) -> Result<KeyInfo> {
        let key = PrivateKey::from_pkcs8(pkcs8)?;
        let alg = key.algorithm();
        let (kind, secret) = match key.seed() {
            Some(s) => (SecretKind::Seed, s.expose().to_vec()),
            None => (SecretKind::Pkcs8, key.to_pkcs8_der()?.expose().to_vec()),
        };
        let created_at = now();
        let state = KeyState {
            policy: default_policy(alg),
            versions: vec![Version {
                number: 1,
                state: VersionState::Active,
                created_at,
                kind,
                secret,
                public: key.public_key().to_raw(),
            }],
        };
        self.write(name, alg, created_at, not_after, &state, None)?;
        self.info(name)
    }

    /// Imports raw symmetric key bytes (AEAD or HMAC) as version 1 of a new key.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a non-symmetric algorithm or a wrong length.
    pub fn import_symmetric(&self, name: &KeyName, alg: Algorithm, key: &[u8]) -> Result<KeyInfo> {
        match alg.kind() {
            AlgorithmKind::Aead => {
                AeadKey::new(alg, key)?;
            }
            AlgorithmKind::Mac if key.len() >= 32 => {}
            AlgorithmKind::Mac => return Err(Error::invalid("HMAC key", "at least 32 bytes")),
            _ => {
                return Err(Error::invalid(
                    "algorithm",
                    format!("{alg} is not symmetric"),
                ));
            }
        }
        let created_at = now();
        let state = KeyState {
            policy: default_policy(alg),
            versions: vec![Version {
                number: 1,
                state: VersionState::Active,
                created_at,
                kind: SecretKind::Symmetric,
                secret: key.to_vec(),
                public: vec![],
            }],
        };
        self.write(name, alg, created_at, None, &state, None)?;
        self.info(name)
    }

    /// Changes whether the key may be deleted.
    ///
    /// # Errors
    /// [`Error::NoSuchKey`], [`Error::Sealed`].
    pub fn set_deletion_allowed(&self, name: &KeyName, allowed: bool) -> Result<()> {
        self.update(name, |_, st| {
            st.policy.deletion_allowed = allowed;
            Ok(())
        })
    }

    /// Deletes a key and all its versions, if its policy allows deletion.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] unless `deletion_allowed`; [`Error::NoSuchKey`].
    pub fn delete(&self, name: &KeyName) -> Result<()> {
        for _ in 0..CAS_RETRIES {
            let l = self.load(name)?;
            if !l.state.policy.deletion_allowed {
                return Err(Error::PolicyDenied(format!(
                    "{name} does not allow deletion"
                )));
            }
            let r = self
                .store
                .delete(Namespace::Keys, name.as_str(), l.generation)
                .map_err(storage);
            if let Ok(mut c) = self.cache.write() {
                c.remove(name);
            }
            match r {
                Ok(()) => return Ok(()),
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!(
            "{name}: too many concurrent updates"
        )))
    }

    /// Adds a new version, which becomes the one used for new operations.
    ///
    /// # Errors
    /// [`Error::NoSuchKey`], [`Error::Sealed`], [`Error::SealedCorrupt`].
    pub fn rotate(&self, name: &KeyName) -> Result<u32> {
        self.update(name, |h, st| {
            let n = st.versions.last().map_or(1, |v| v.number + 1);
            st.versions.push(new_version(h.alg, n, now())?);
            Ok(n)
        })
    }

    /// Sets the lowest version allowed to decrypt or verify.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a version above the newest.
    pub fn set_min_decryption_version(&self, name: &KeyName, min: u32) -> Result<()> {
        self.update(name, |_, st| {
            let newest = st.versions.last().map_or(0, |v| v.number);
            if min == 0 || min > newest {
                return Err(Error::invalid(
                    "min_decryption_version",
                    format!("must be 1..={newest}"),
                ));
            }
            st.policy.min_decryption_version = min;
            Ok(())
        })
    }

    /// Destroys a version: its material is zeroized and a tombstone kept. The newest
    /// version cannot be destroyed.
    ///
    /// # Errors
    /// [`Error::NoSuchKey`] for an unknown version; [`Error::PolicyDenied`] for the
    /// newest.
    pub fn destroy_version(&self, name: &KeyName, version: u32) -> Result<()> {
        self.update(name, |_, st| {
            let newest = st.versions.last().map_or(0, |v| v.number);
            if version == newest {
                return Err(Error::PolicyDenied(
                    "the newest version cannot be destroyed; rotate first".into(),
                ));
            }
            let v = st
                .versions
                .iter_mut()
                .find(|v| v.number == version)
                .ok_or_else(|| Error::NoSuchKey(format!("{name}#v{version}")))?;
            zeroize::Zeroize::zeroize(&mut v.secret);
            v.secret = Vec::new();
            v.kind = SecretKind::None;
            v.state = VersionState::Destroyed;
            Ok(())
        })
    }

    /// Public facts about a key.
    ///
    /// # Errors
    /// [`Error::NoSuchKey`], [`Error::Sealed`], [`Error::SealedCorrupt`].
    pub fn info(&self, name: &KeyName) -> Result<KeyInfo> {
        let l = self.load(name)?;
        let (h, st) = (&l.header, &l.state);
        Ok(KeyInfo {
            name: name.clone(),
            alg: h.alg,
            policy: st.policy,
            created_at: h.created_at,
            versions: st
                .versions
                .iter()
                .map(|v| VersionInfo {
                    number: v.number,
                    state: v.state,
                    created_at: v.created_at,
                    public_key: v.public.clone(),
                })
                .collect(),
        })
    }

    /// Encrypts with the newest version; the result carries the version
    /// (`aunsorm:vN:<base64>` as text). The bytes are nonce || ciphertext || tag.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] for a key not meant for encryption or expired.
    pub fn encrypt(&self, name: &KeyName, plaintext: &[u8], aad: &[u8]) -> Result<Versioned> {
        let l = self.load(name)?;
        let (h, st) = (&l.header, &l.state);
        check_expiry(h)?;
        need(st, Purpose::Encrypt, name)?;
        let v = current(st, name)?;
        let key = l
            .aead
            .get(&v.number)
            .ok_or(Error::Internal("AEAD key not expanded"))?;
        Ok(Versioned {
            version: v.number,
            bytes: key.encrypt(aad, plaintext)?,
        })
    }

    /// Decrypts a ciphertext made by [`Kms::encrypt`] with any allowed version.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed ciphertext; [`Error::PolicyDenied`] for a
    /// version below the minimum, destroyed or disabled; decryption failures.
    pub fn decrypt(
        &self,
        name: &KeyName,
        ciphertext: &Versioned,
        aad: &[u8],
    ) -> Result<SecretBytes> {
        let (version, body) = (ciphertext.version, &ciphertext.bytes);
        let l = self.load(name)?;
        let st = &l.state;
        need(st, Purpose::Encrypt, name)?;
        let v = usable_for_reading(st, name, version)?;
        let key = l
            .aead
            .get(&v.number)
            .ok_or(Error::Internal("AEAD key not expanded"))?;
        Ok(key.decrypt(aad, body)?)
    }

    /// Signs with the newest version: `aunsorm:vN:<base64(signature)>`.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] for a key not meant for signing.
    pub fn sign(&self, name: &KeyName, msg: &[u8], context: &[u8]) -> Result<Versioned> {
        let l = self.load(name)?;
        let (h, st) = (&l.header, &l.state);
        check_expiry(h)?;
        need(st, Purpose::Sign, name)?;
        let v = current(st, name)?;
        let key = l.private_key(v)?;
        let sig = key.sign(msg, &SignOptions::new().context(context))?;
        Ok(Versioned {
            version: v.number,
            bytes: sig,
        })
    }

    /// Verifies a signature made by [`Kms::sign`]; `Ok(false)` when it does not verify.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed signature string; [`Error::PolicyDenied`]
    /// for a version below the minimum or destroyed.
    pub fn verify(
        &self,
        key: &KeyRef,
        msg: &[u8],
        signature: &Versioned,
        context: &[u8],
    ) -> Result<bool> {
        let (version, sig) = (signature.version, &signature.bytes);
        if key.version.is_some_and(|v| v != version) {
            return Err(Error::invalid(
                "signature",
                "made with another version than the one named",
            ));
        }
        let l = self.load(&key.name)?;
        let (h, st) = (&l.header, &l.state);
        need(st, Purpose::Sign, &key.name)?;
        let v = usable_for_reading(st, &key.name, version)?;
        let pk = PublicKey::from_raw(h.alg, &v.public)?;
        match pk.verify(msg, sig, &SignOptions::new().context(context)) {
            Ok(()) => Ok(true),
            Err(aunsorm_crypto::Error::BadSignature) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// A data key for envelope encryption: 32 fresh random bytes, and the same bytes
    /// encrypted under `name` (`aunsorm:vN:...`). Keep the wrapped form beside the data
    /// and discard the plaintext after use.
    ///
    /// # Errors
    /// As [`Kms::encrypt`].
    pub fn datakey(&self, name: &KeyName, aad: &[u8]) -> Result<(SecretBytes, Versioned)> {
        let dk =
            SecretBytes::new(aunsorm_crypto::rng::random_bytes(32).map_err(|_| Error::Entropy)?);
        let wrapped = self.encrypt(name, dk.expose(), aad)?;
        Ok((dk, wrapped))
    }

    /// HMAC-SHA-256 with the newest version: `aunsorm:vN:<base64(tag)>`.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] for a key that is not an HMAC key.
    pub fn hmac(&self, name: &KeyName, msg: &[u8]) -> Result<Versioned> {
        let l = self.load(name)?;
        let (h, st) = (&l.header, &l.state);
        check_expiry(h)?;
        need(st, Purpose::Mac, name)?;
        let v = current(st, name)?;
        let tag = aunsorm_crypto::HmacKey::new(&v.secret).sign(msg);
        Ok(Versioned {
            version: v.number,
            bytes: tag.to_vec(),
        })
    }

    /// Checks an HMAC made by [`Kms::hmac`] in constant time; `Ok(false)` if it is wrong.
    ///
    /// # Errors
    /// As [`Kms::verify`].
    pub fn verify_hmac(&self, name: &KeyName, msg: &[u8], tag: &Versioned) -> Result<bool> {
        let (version, tag) = (tag.version, &tag.bytes);
        let l = self.load(name)?;
        let st = &l.state;
        need(st, Purpose::Mac, name)?;
        let v = usable_for_reading(st, name, version)?;
        Ok(aunsorm_crypto::HmacKey::new(&v.secret)
            .verify(msg, tag)
            .is_ok())
    }

    /// Encapsulates a fresh shared secret to the newest version of a KEM key; returns the
    /// secret and the ciphertext as `aunsorm:vN:<base64>`.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] for a key that is not a KEM key.
    pub fn encapsulate(&self, name: &KeyName) -> Result<(SecretBytes, Versioned)> {
        let l = self.load(name)?;
        let (h, st) = (&l.header, &l.state);
        check_expiry(h)?;
        need(st, Purpose::Kem, name)?;
        let v = current(st, name)?;
        let (ct, ss) = PublicKey::from_raw(h.alg, &v.public)?.encapsulate()?;
        Ok((
            ss,
            Versioned {
                version: v.number,
                bytes: ct,
            },
        ))
    }

    /// Decapsulates a ciphertext made for any allowed version.
    ///
    /// # Errors
    /// As [`Kms::decrypt`].
    pub fn decapsulate(&self, name: &KeyName, ciphertext: &Versioned) -> Result<SecretBytes> {
        let (version, ct) = (ciphertext.version, &ciphertext.bytes);
        let l = self.load(name)?;
        let st = &l.state;
        need(st, Purpose::Kem, name)?;
        let v = usable_for_reading(st, name, version)?;
        Ok(l.private_key(v)?.decapsulate(ct)?)
    }

    /// The names of keys starting with `prefix`, in order, at most `limit` after `after`.
    ///
    /// # Errors
    /// [`Error::Sealed`]; storage errors.
    pub fn list(&self, prefix: &str, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        drop(self.root()?);
        Ok(self
            .store
            .list(Namespace::Keys, prefix, after, limit)
            .map_err(storage)?
            .into_iter()
            .map(|r| r.name)
            .collect())
    }

    fn root(&self) -> Result<std::sync::RwLockReadGuard<'_, Option<RootKey>>> {
        let g = self
            .root
            .read()
            .map_err(|_| Error::Internal("root lock poisoned"))?;
        if g.is_none() {
            return Err(Error::Sealed);
        }
        Ok(g)
    }

    fn load(&self, name: &KeyName) -> Result<Arc<Loaded>> {
        let g = self.root()?;
        let root = g.as_ref().ok_or(Error::Sealed)?;
        if let Some(l) = self
            .cache
            .read()
            .map_err(|_| Error::Internal("cache lock poisoned"))?
            .get(name)
        {
            return Ok(Arc::clone(l));
        }
        let rec = self
            .store
            .get(Namespace::Keys, name.as_str())
            .map_err(storage)?
            .ok_or_else(|| Error::NoSuchKey(name.to_string()))?;
        let corrupt = || Error::SealedCorrupt {
            kid: name.to_string(),
        };
        let (header, payload) = sealed::open_for(root, name, &rec.value)?;
        // The record must have been sealed for the generation it is stored at: an old
        // record copied over a newer one is refused.
        if header.generation != rec.generation {
            return Err(corrupt());
        }
        let state = KeyState::decode(payload.expose()).map_err(|_| corrupt())?;
        let mut aead = HashMap::new();
        if header.alg.kind() == AlgorithmKind::Aead {
            for v in state
                .versions
                .iter()
                .filter(|v| v.kind == SecretKind::Symmetric)
            {
                aead.insert(
                    v.number,
                    AeadKey::new(header.alg, &v.secret).map_err(|_| corrupt())?,
                );
            }
        }
        let loaded = Arc::new(Loaded {
            header,
            state,
            generation: rec.generation,
            private: Mutex::new(HashMap::new()),
            aead,
        });
        let mut cache = self
            .cache
            .write()
            .map_err(|_| Error::Internal("cache lock poisoned"))?;
        if cache.len() >= CACHE_CAPACITY {
            // Evicted entries zeroize their secrets when the last operation using them ends.
            if let Some(victim) = cache.keys().next().cloned() {
                cache.remove(&victim);
            }
        }
        cache.insert(name.clone(), Arc::clone(&loaded));
        Ok(loaded)
    }

    fn write(
        &self,
        name: &KeyName,
        alg: Algorithm,
        created_at: u64,
        not_after: Option<u64>,
        st: &KeyState,
        expected: Option<u64>,
    ) -> Result<()> {
        let g = self.root()?;
        let root = g.as_ref().ok_or(Error::Sealed)?;
        let header = sealed::Header {
            alg,
            kid: name.clone(),
            version: st.versions.last().map_or(0, |v| v.number),
            generation: expected.unwrap_or(0) + 1,
            created_at,
            not_after,
        };
        let rec = sealed::seal(root, &header, &st.encode())?;
        let result = self
            .store
            .put(Namespace::Keys, name.as_str(), expected, &rec)
            .map_err(storage);
        // Win or lose, the cached copy may be stale now.
        if let Ok(mut c) = self.cache.write() {
            c.remove(name);
        }
        result.map(|_| ())
    }

    /// Read, change, write with compare-and-swap, retried when another writer won.
    fn update<T>(
        &self,
        name: &KeyName,
        mut f: impl FnMut(&sealed::Header, &mut KeyState) -> Result<T>,
    ) -> Result<T> {
        for _ in 0..CAS_RETRIES {
            let l = self.load(name)?;
            let (h, generation) = (&l.header, l.generation);
            let mut st = l.state.clone();
            let out = f(h, &mut st)?;
            match self.write(
                name,
                h.alg,
                h.created_at,
                h.not_after,
                &st,
                Some(generation),
            ) {
                Ok(()) => return Ok(out),
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!(
            "{name}: too many concurrent updates"
        )))
    }
}

fn default_policy(alg: Algorithm) -> Policy {
    Policy {
        purpose: default_purpose(alg),
        exportable: false,
        deletion_allowed: false,
        min_decryption_version: 1,
        min_encryption_version: 0,
        auto_rotate_secs: 0,
    }
}

fn new_version(alg: Algorithm, number: u32, created_at: u64) -> Result<Version> {
    let (kind, secret, public) = match alg.kind() {
        AlgorithmKind::Aead => (
            SecretKind::Symmetric,
            AeadKey::generate_key_bytes(alg)?.expose().to_vec(),
            vec![],
        ),
        AlgorithmKind::Mac => (
            SecretKind::Symmetric,
            aunsorm_crypto::rng::random_bytes(32)?,
            vec![],
        ),
        _ => {
            let k = PrivateKey::generate(alg)?;
            let public = k.public_key().to_raw();
            match k.seed() {
                Some(s) => (SecretKind::Seed, s.expose().to_vec(), public),
                None => (
                    SecretKind::Pkcs8,
                    k.to_pkcs8_der()?.expose().to_vec(),
                    public,
                ),
            }
        }
    };
    Ok(Version {
        number,
        state: VersionState::Active,
        created_at,
        kind,
        secret,
        public,
    })
}

fn private_key(alg: Algorithm, v: &Version) -> Result<PrivateKey> {
    match v.kind {
        SecretKind::Seed => Ok(PrivateKey::from_seed(alg, &v.secret)?),
        SecretKind::Pkcs8 => Ok(PrivateKey::from_pkcs8_der(&v.secret)?),
        _ => Err(Error::Internal("version has no private key")),
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
        Some(t) if now() > t => Err(Error::PolicyDenied(format!("{} expired", h.kid))),
        _ => Ok(()),
    }
}

fn current<'a>(st: &'a KeyState, name: &KeyName) -> Result<&'a Version> {
    st.versions
        .iter()
        .rev()
        .find(|v| v.state == VersionState::Active)
        .ok_or_else(|| Error::PolicyDenied(format!("{name} has no active version")))
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
