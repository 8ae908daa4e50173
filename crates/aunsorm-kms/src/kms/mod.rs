//! The custody core: keys in a store, sealed under the root key.
//!
//! This file holds the `Kms` type, key lifecycle and the record cache; `unseal.rs` the
//! root key, `ops.rs` the cryptographic operations, `system.rs` the KMS's own keys
//! (wrapping and attestation) and what uses them.

mod audit;
mod ops;
mod system;
mod tokens;
mod unseal;

pub use audit::{Audited, Caller, RollbackFinding, deferred, with_caller};
pub use ops::BatchItem;
pub use system::{ATTESTATION_CONTEXT, Attestation, WrappingKeyAlg};
pub use unseal::{RootMode, Status, UnsealProgress};

use crate::state::{KeyState, SecretKind, Version};
use crate::{Error, KeyName, Policy, Purpose, Result, RootKey, VersionState, sealed};
use aunsorm_crypto::{AeadKey, Algorithm, AlgorithmKind, PrivateKey, PublicKey};
use aunsorm_store::{Namespace, Store, StoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

const CAS_RETRIES: usize = 32;
/// Tenant reserved for the KMS's own keys; callers cannot create keys in it.
pub const RESERVED_TENANT: &str = "aunsorm";

/// Keys kept unsealed at once; to make room, the least recently used of a sample is
/// evicted (and zeroized when the last operation using it ends).
pub const CACHE_CAPACITY: usize = 4096;
/// Cached keys looked at to choose one to evict.
const EVICTION_SAMPLE: usize = 32;

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
    /// Time after which the key no longer encrypts or signs (Unix seconds).
    pub not_after: Option<u64>,
    /// The store generation of the key's record (bumped by every change).
    pub generation: u64,
    /// Versions, oldest first.
    pub versions: Vec<VersionInfo>,
}

impl KeyInfo {
    /// The newest version number.
    pub fn latest_version(&self) -> u32 {
        self.versions.last().map_or(0, |v| v.number)
    }
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
    /// Raw public key (empty for symmetric keys and destroyed versions' secrets).
    pub public_key: Vec<u8>,
}

/// Options for a new key. The defaults are the safe ones: not exportable, not
/// deletable, no expiry, no automatic rotation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyOptions {
    /// Whether private material may be exported (cannot be turned off later).
    pub exportable: bool,
    /// Whether the key may be deleted.
    pub deletion_allowed: bool,
    /// Unix time after which the key no longer encrypts or signs.
    pub not_after: Option<u64>,
    /// Rotate automatically this many seconds after the newest version was made (0: never).
    pub auto_rotate_secs: u64,
}

/// A change of policy: each field set is applied, the others kept. Applied atomically
/// (compare-and-swap), so concurrent changes are never lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyConfig {
    /// Lowest version that may decrypt or verify (1..=newest).
    pub min_decryption_version: Option<u32>,
    /// Lowest version that may encrypt or sign when a version is asked for
    /// (0 = no minimum, else `min_decryption_version..=newest`).
    pub min_encryption_version: Option<u32>,
    /// Whether the key may be deleted.
    pub deletion_allowed: Option<bool>,
    /// Make the key exportable; as in Vault, this cannot be undone.
    pub exportable: Option<bool>,
    /// Automatic rotation period in seconds (0: never).
    pub auto_rotate_secs: Option<u64>,
    /// New `not_after` (Unix seconds; 0 removes the expiry).
    pub not_after: Option<u64>,
}

/// The custody core over a [`Store`]. Starts sealed.
///
/// Unsealed keys are cached (at most [`CACHE_CAPACITY`] keys, least recently used
/// evicted; private keys parsed once, in their fastest form), so a hot key is not
/// unsealed per operation. The cache is emptied by [`Kms::seal`] and an entry dropped by
/// every write through this `Kms`: one process owns a store.
pub struct Kms {
    store: Arc<dyn Store>,
    root: RwLock<Option<RootKey>>,
    cache: RwLock<HashMap<KeyName, Arc<Loaded>>>,
    system: RwLock<HashMap<&'static str, Arc<Loaded>>>,
    clock: AtomicU64,
    unseal_progress: Mutex<Vec<zeroize::Zeroizing<String>>>,
    /// How the stored root is protected, once read: the root record is written once
    /// (at init) and never replaced, so health checks need not read it again.
    root_mode: std::sync::OnceLock<RootMode>,
    amnesia: bool,
    /// The transparency log, once attached ([`Kms::open_log`]).
    log: RwLock<Option<Arc<aunsorm_log::Log>>>,
}

/// An unsealed key: its header, state, store generation and parsed keys.
struct Loaded {
    header: sealed::Header,
    state: KeyState,
    generation: u64,
    last_used: AtomicU64,
    private: RwLock<HashMap<u32, Arc<PrivateKey>>>,
    public: RwLock<HashMap<u32, Arc<PublicKey>>>,
    /// AEAD keys of every usable version, expanded once at load.
    aead: HashMap<u32, AeadKey>,
}

impl Loaded {
    fn private_key(&self, v: &Version) -> Result<Arc<PrivateKey>> {
        if let Some(k) = self
            .private
            .read()
            .map_err(|_| Error::Internal("cache lock poisoned"))?
            .get(&v.number)
        {
            return Ok(Arc::clone(k));
        }
        let k = Arc::new(private_key(self.header.alg, v)?);
        self.private
            .write()
            .map_err(|_| Error::Internal("cache lock poisoned"))?
            .insert(v.number, Arc::clone(&k));
        Ok(k)
    }

    fn public_key(&self, v: &Version) -> Result<Arc<PublicKey>> {
        if let Some(k) = self
            .public
            .read()
            .map_err(|_| Error::Internal("cache lock poisoned"))?
            .get(&v.number)
        {
            return Ok(Arc::clone(k));
        }
        let k = Arc::new(PublicKey::from_raw(self.header.alg, &v.public)?);
        self.public
            .write()
            .map_err(|_| Error::Internal("cache lock poisoned"))?
            .insert(v.number, Arc::clone(&k));
        Ok(k)
    }
}

impl core::fmt::Debug for Kms {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Kms(sealed: {})", self.is_sealed())
    }
}

pub(crate) fn now() -> u64 {
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

/// The purpose a key of `alg` serves: kept in one place so the coming deployment-wide
/// post-quantum policy can choose algorithms per purpose here.
pub fn default_purpose(alg: Algorithm) -> Purpose {
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
        Self::with(store, false)
    }

    fn with(store: Arc<dyn Store>, amnesia: bool) -> Self {
        Kms {
            store,
            root: RwLock::new(None),
            cache: RwLock::new(HashMap::new()),
            system: RwLock::new(HashMap::new()),
            clock: AtomicU64::new(0),
            unseal_progress: Mutex::new(Vec::new()),
            root_mode: std::sync::OnceLock::new(),
            amnesia,
            log: RwLock::new(None),
        }
    }

    /// Drops (and zeroizes) the root key and every cached key: every operation fails
    /// with `sealed` until the next unseal. In amnesia mode the keys are also removed
    /// from the memory store, and the KMS can never be unsealed again.
    pub fn seal(&self) {
        // Closing the log commits what is queued and drops its signing keys.
        if let Ok(mut l) = self.log.write() {
            l.take();
        }
        let _ = self.set_root(None);
        if let Ok(mut c) = self.cache.write() {
            c.clear();
        }
        if let Ok(mut c) = self.system.write() {
            c.clear();
        }
        if let Ok(mut p) = self.unseal_progress.lock() {
            p.clear();
        }
        if self.amnesia {
            self.wipe_store();
        }
    }

    /// How many keys are cached unsealed.
    pub fn cached_keys(&self) -> usize {
        self.cache.read().map_or(0, |c| c.len())
    }

    /// Creates a key with one version.
    ///
    /// # Errors
    /// [`Error::Conflict`] if the name exists; [`Error::InvalidInput`] for a name in the
    /// reserved tenant; [`Error::Sealed`]; algorithm errors.
    pub fn create(&self, name: &KeyName, alg: Algorithm, opts: &KeyOptions) -> Result<KeyInfo> {
        self.observe("create", || {
            check_user_name(name)?;
            self.insert_new("create", name, alg, opts, new_version(alg, 1, now())?)
        })
    }

    /// Imports a private key (PKCS#8, PEM or DER) as version 1 of a new key.
    ///
    /// # Security
    /// The caller held the key in the clear; prefer generating keys inside the KMS, or
    /// [`Kms::import_wrapped`].
    ///
    /// # Errors
    /// [`Error::Conflict`] if the name exists; key parsing errors.
    pub fn import_private_key(
        &self,
        name: &KeyName,
        pkcs8: &[u8],
        opts: &KeyOptions,
    ) -> Result<KeyInfo> {
        self.observe("import", || {
            check_user_name(name)?;
            let key = PrivateKey::from_pkcs8(pkcs8)?;
            self.store_imported(name, &key, opts)
        })
    }

    fn store_imported(
        &self,
        name: &KeyName,
        key: &PrivateKey,
        opts: &KeyOptions,
    ) -> Result<KeyInfo> {
        let alg = key.algorithm();
        let (kind, secret) = match key.seed() {
            Some(s) => (SecretKind::Seed, s.expose().to_vec()),
            None => (SecretKind::Pkcs8, key.to_pkcs8_der()?.expose().to_vec()),
        };
        let first = Version {
            number: 1,
            state: VersionState::Active,
            created_at: now(),
            kind,
            secret,
            public: key.public_key().to_raw(),
        };
        self.insert_new("import", name, alg, opts, first)
    }

    /// Writes a new key (its record must not exist yet) with `first` as version 1.
    fn insert_new(
        &self,
        op: &'static str,
        name: &KeyName,
        alg: Algorithm,
        opts: &KeyOptions,
        first: Version,
    ) -> Result<KeyInfo> {
        let created_at = first.created_at;
        let state = KeyState {
            policy: policy_for(alg, opts),
            versions: vec![first],
        };
        self.write(
            Namespace::Keys,
            name,
            alg,
            created_at,
            opts.not_after,
            &state,
            None,
        )?;
        key_gauge(alg, 1.0);
        self.key_event(op, name, alg, &state, None, 1)?;
        self.info(name)
    }

    /// Imports raw symmetric key bytes (AEAD or HMAC) as version 1 of a new key.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a non-symmetric algorithm or a wrong length.
    pub fn import_symmetric(
        &self,
        name: &KeyName,
        alg: Algorithm,
        key: &[u8],
        opts: &KeyOptions,
    ) -> Result<KeyInfo> {
        self.observe("import", || {
            check_user_name(name)?;
            self.insert_new("import", name, alg, opts, symmetric_version(alg, key)?)
        })
    }

    /// Changes a key's policy; see [`KeyConfig`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a version out of range; [`Error::PolicyDenied`] for
    /// turning `exportable` off; [`Error::NoSuchKey`], [`Error::Sealed`].
    pub fn configure(&self, name: &KeyName, cfg: &KeyConfig) -> Result<KeyInfo> {
        self.observe("configure", || {
            self.update(name, "config", None, |h, st| {
                let newest = st.versions.last().map_or(0, |v| v.number);
                let p = &mut st.policy;
                if let Some(min) = cfg.min_decryption_version {
                    if min == 0 || min > newest {
                        return Err(Error::invalid(
                            "min_decryption_version",
                            format!("must be 1..={newest}"),
                        ));
                    }
                    p.min_decryption_version = min;
                }
                if let Some(min) = cfg.min_encryption_version {
                    if min > newest {
                        return Err(Error::invalid(
                            "min_encryption_version",
                            format!("must be 0..={newest}"),
                        ));
                    }
                    p.min_encryption_version = min;
                }
                if p.min_encryption_version != 0
                    && p.min_encryption_version < p.min_decryption_version
                {
                    return Err(Error::invalid(
                        "min_encryption_version",
                        "must be 0 or at least min_decryption_version",
                    ));
                }
                if let Some(d) = cfg.deletion_allowed {
                    p.deletion_allowed = d;
                }
                match cfg.exportable {
                    Some(false) if p.exportable => {
                        return Err(Error::PolicyDenied(
                            "an exportable key cannot be made non-exportable".into(),
                        ));
                    }
                    Some(e) => p.exportable = e,
                    None => {}
                }
                if let Some(secs) = cfg.auto_rotate_secs {
                    p.auto_rotate_secs = secs;
                }
                if let Some(t) = cfg.not_after {
                    h.not_after = (t != 0).then_some(t);
                }
                Ok(())
            })?;
            self.info(name)
        })
    }

    /// Sets the lowest version allowed to decrypt or verify.
    ///
    /// # Errors
    /// As [`Kms::configure`].
    pub fn set_min_decryption_version(&self, name: &KeyName, min: u32) -> Result<()> {
        self.configure(
            name,
            &KeyConfig {
                min_decryption_version: Some(min),
                ..KeyConfig::default()
            },
        )
        .map(|_| ())
    }

    /// Changes whether the key may be deleted.
    ///
    /// # Errors
    /// As [`Kms::configure`].
    pub fn set_deletion_allowed(&self, name: &KeyName, allowed: bool) -> Result<()> {
        self.configure(
            name,
            &KeyConfig {
                deletion_allowed: Some(allowed),
                ..KeyConfig::default()
            },
        )
        .map(|_| ())
    }

    /// Deletes a key and all its versions, if its policy allows deletion.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] unless `deletion_allowed`; [`Error::NoSuchKey`].
    pub fn delete(&self, name: &KeyName) -> Result<()> {
        self.observe("delete", || {
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
                self.forget(name);
                match r {
                    Ok(()) => {
                        key_gauge(l.header.alg, -1.0);
                        self.key_event("delete", name, l.header.alg, &l.state, None, l.generation)?;
                        return Ok(());
                    }
                    Err(Error::Conflict(_)) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(Error::Conflict(format!(
                "{name}: too many concurrent updates"
            )))
        })
    }

    /// Adds a new version, which becomes the one used for new operations.
    ///
    /// # Errors
    /// [`Error::NoSuchKey`], [`Error::Sealed`], [`Error::SealedCorrupt`].
    pub fn rotate(&self, name: &KeyName) -> Result<u32> {
        self.observe("rotate", || {
            self.update(name, "rotate", None, |h, st| {
                let n = st.versions.last().map_or(1, |v| v.number + 1);
                st.versions.push(new_version(h.alg, n, now())?);
                Ok(n)
            })
        })
    }

    /// Rotates every key whose auto-rotate period has passed since its newest version
    /// was made; returns the keys rotated. Meant to be called periodically (the server
    /// schedules it); each rotation is a compare-and-swap, so two callers racing rotate
    /// a key once.
    ///
    /// # Errors
    /// [`Error::Sealed`]; storage errors. A key that fails to load is skipped (it fails
    /// loudly on use).
    pub fn rotate_due(&self, at: u64) -> Result<Vec<KeyName>> {
        let mut rotated = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.list("", after.as_deref(), 1000)?;
            let Some(last) = page.last().cloned() else {
                break;
            };
            for n in page {
                let Ok(name) = n.parse::<KeyName>() else {
                    continue;
                };
                let Ok(l) = self.load(&name) else { continue };
                let period = l.state.policy.auto_rotate_secs;
                let newest = l.state.versions.last().map_or(0, |v| v.created_at);
                if period == 0 || at < newest.saturating_add(period) {
                    continue;
                }
                let done = self.observe("rotate", || {
                    self.update(&name, "rotate", None, |h, st| {
                        // Re-check under compare-and-swap: another caller may have rotated.
                        let newest = st.versions.last().map_or(0, |v| v.created_at);
                        if at < newest.saturating_add(st.policy.auto_rotate_secs) {
                            return Ok(false);
                        }
                        let n = st.versions.last().map_or(1, |v| v.number + 1);
                        st.versions.push(new_version(h.alg, n, now())?);
                        Ok(true)
                    })
                })?;
                if done {
                    rotated.push(name);
                }
            }
            after = Some(last);
        }
        Ok(rotated)
    }

    /// Destroys a version: its material is zeroized and a tombstone kept. The newest
    /// version cannot be destroyed.
    ///
    /// # Errors
    /// [`Error::NoSuchKey`] for an unknown version; [`Error::PolicyDenied`] for the
    /// newest.
    pub fn destroy_version(&self, name: &KeyName, version: u32) -> Result<()> {
        self.observe("destroy", || {
            self.update(name, "destroy", Some(version), |_, st| {
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
        })
    }

    /// Whether a private-key operation on `name` is quick: the key is loaded already
    /// (no storage read first) and its algorithm is not slow
    /// ([`Algorithm::is_slow_private_op`]). A server runs the other calls off its async
    /// threads. Reads the key cache only; `false` when sealed (nothing is loaded then).
    pub fn is_quick(&self, name: &KeyName) -> bool {
        self.cache
            .read()
            .ok()
            .and_then(|c| c.get(name).map(|l| !l.header.alg.is_slow_private_op()))
            .unwrap_or(false)
    }

    /// Public facts about a key.
    ///
    /// # Errors
    /// [`Error::NoSuchKey`], [`Error::Sealed`], [`Error::SealedCorrupt`].
    pub fn info(&self, name: &KeyName) -> Result<KeyInfo> {
        let l = self.load(name)?;
        Ok(info_of(name, &l))
    }

    /// The public key of a version (the newest when `version` is `None`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a symmetric key; [`Error::NoSuchKey`].
    pub fn public_key(&self, key: &crate::KeyRef) -> Result<PublicKey> {
        let l = self.load(&key.name)?;
        let v = match key.version {
            Some(n) => l
                .state
                .versions
                .iter()
                .find(|v| v.number == n)
                .ok_or_else(|| Error::NoSuchKey(key.to_string()))?,
            None => l
                .state
                .versions
                .last()
                .ok_or(Error::Internal("key without versions"))?,
        };
        if v.public.is_empty() {
            return Err(Error::invalid(
                "key",
                format!("{} is symmetric: it has no public key", key.name),
            ));
        }
        Ok((*l.public_key(v)?).clone())
    }

    /// Exports a version's private key as PKCS#8 DER (symmetric keys: raw bytes), if
    /// the key is exportable.
    ///
    /// # Errors
    /// [`Error::PolicyDenied`] for a non-exportable key or a destroyed version.
    pub fn export(&self, key: &crate::KeyRef) -> Result<aunsorm_crypto::SecretBytes> {
        self.audited("export", &key.name, key.version, || {
            let l = self.load(&key.name)?;
            if !l.state.policy.exportable {
                return Err(Error::PolicyDenied(format!(
                    "{} is not exportable",
                    key.name
                )));
            }
            let v = ops::version_for_reading(&l.state, key)?;
            match v.kind {
                SecretKind::Symmetric => Ok(aunsorm_crypto::SecretBytes::new(v.secret.clone())),
                _ => Ok(l.private_key(v)?.to_pkcs8_der()?),
            }
        })
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

    /// Runs `f` as operation `op`, recording it in the metrics.
    fn observe<T>(&self, op: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let start = Instant::now();
        let r = f();
        if let Err(e) = &r {
            metrics::counter!("kms_failures_total", "op" => op, "kind" => e.code()).increment(1);
        }
        op_metrics(op, start.elapsed().as_secs_f64());
        r
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

    fn forget(&self, name: &KeyName) {
        if let Ok(mut c) = self.cache.write() {
            c.remove(name);
        }
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
            // The clock ticks on misses only, so a hit writes nothing shared unless the
            // key was last used before the latest miss.
            let tick = self.clock.load(Ordering::Relaxed);
            if l.last_used.load(Ordering::Relaxed) != tick {
                l.last_used.store(tick, Ordering::Relaxed);
            }
            return Ok(Arc::clone(l));
        }
        if name.tenant() == Some(RESERVED_TENANT) {
            return Err(Error::NoSuchKey(name.to_string()));
        }
        let loaded = Arc::new(
            self.fetch(root, Namespace::Keys, name)?
                .ok_or_else(|| Error::NoSuchKey(name.to_string()))?,
        );
        loaded.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed) + 1,
            Ordering::Relaxed,
        );
        let mut cache = self
            .cache
            .write()
            .map_err(|_| Error::Internal("cache lock poisoned"))?;
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(name) {
            // Evict the least recently used of a sample (as Redis does): the first
            // entries in hash order, which change with every insertion. A full scan
            // would hold the write lock for thousands of entries on every miss. The
            // victim's secrets are zeroized when the last operation using it ends.
            if let Some(victim) = cache
                .iter()
                .take(EVICTION_SAMPLE)
                .min_by_key(|(_, l)| l.last_used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone())
            {
                cache.remove(&victim);
            }
        }
        cache.insert(name.clone(), Arc::clone(&loaded));
        Ok(loaded)
    }

    /// Reads and opens a record (no cache).
    fn fetch(&self, root: &RootKey, ns: Namespace, name: &KeyName) -> Result<Option<Loaded>> {
        let Some(rec) = self.store.get(ns, name.as_str()).map_err(storage)? else {
            return Ok(None);
        };
        let corrupt = || Error::SealedCorrupt {
            kid: name.to_string(),
        };
        if ns == Namespace::Keys {
            self.check_rollback(name, rec.generation)?;
        }
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
        Ok(Some(Loaded {
            header,
            state,
            generation: rec.generation,
            last_used: AtomicU64::new(0),
            private: RwLock::new(HashMap::new()),
            public: RwLock::new(HashMap::new()),
            aead,
        }))
    }

    #[allow(clippy::too_many_arguments)] // one sealed record's fields, written together
    fn write(
        &self,
        ns: Namespace,
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
            .put(ns, name.as_str(), expected, &rec)
            .map_err(storage);
        // Win or lose, the cached copy may be stale now.
        if ns == Namespace::Keys {
            self.forget(name);
        }
        result.map(|_| ())
    }

    /// Read, change, write with compare-and-swap, retried when another writer won.
    /// Each successful write is published to the log as a `op` event about `version`
    /// (the newest when `None`).
    fn update<T>(
        &self,
        name: &KeyName,
        op: &'static str,
        version: Option<u32>,
        mut f: impl FnMut(&mut sealed::Header, &mut KeyState) -> Result<T>,
    ) -> Result<T> {
        for _ in 0..CAS_RETRIES {
            let l = self.load(name)?;
            let generation = l.generation;
            let mut h = l.header.clone();
            let mut st = l.state.clone();
            let out = f(&mut h, &mut st)?;
            match self.write(
                Namespace::Keys,
                name,
                h.alg,
                h.created_at,
                h.not_after,
                &st,
                Some(generation),
            ) {
                Ok(()) => {
                    self.key_event(op, name, h.alg, &st, version, generation + 1)?;
                    return Ok(out);
                }
                Err(Error::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(format!(
            "{name}: too many concurrent updates"
        )))
    }

    fn wipe_store(&self) {
        let mut after: Option<String> = None;
        while let Ok(page) = self.store.list(Namespace::Keys, "", after.as_deref(), 1000) {
            let Some(last) = page.last().map(|r| r.name.clone()) else {
                break;
            };
            for r in page {
                let _ = self.store.delete(Namespace::Keys, &r.name, r.generation);
            }
            after = Some(last);
        }
    }
}

fn info_of(name: &KeyName, l: &Loaded) -> KeyInfo {
    let (h, st) = (&l.header, &l.state);
    KeyInfo {
        name: name.clone(),
        alg: h.alg,
        policy: st.policy,
        created_at: h.created_at,
        not_after: h.not_after,
        generation: l.generation,
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
    }
}

fn check_user_name(name: &KeyName) -> Result<()> {
    if name.tenant() == Some(RESERVED_TENANT) {
        return Err(Error::invalid(
            "key name",
            format!("the tenant `{RESERVED_TENANT}` is reserved for the KMS's own keys"),
        ));
    }
    Ok(())
}

/// Version 1 of an imported symmetric key, checked for its algorithm.
fn symmetric_version(alg: Algorithm, key: &[u8]) -> Result<Version> {
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
    Ok(Version {
        number: 1,
        state: VersionState::Active,
        created_at: now(),
        kind: SecretKind::Symmetric,
        secret: key.to_vec(),
        public: vec![],
    })
}

/// Whether a global metrics recorder is installed for good ([`global_metrics_installed`]).
static GLOBAL_RECORDER: AtomicBool = AtomicBool::new(false);

// `kms_ops_total` and `kms_op_latency_seconds` handles per operation, once a global
// recorder is installed. Asking the registry on every operation hashed each metric's
// name and label and allocated a copy of both. Kept per thread: a list shared behind
// a lock cost two atomic writes per operation on a cache line every core wrote.
thread_local! {
    static OP_METRICS: std::cell::RefCell<Vec<OpHandles>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An operation's name and its two metric handles.
type OpHandles = (&'static str, metrics::Counter, metrics::Histogram);

/// Tells the KMS that the process has installed its global metrics recorder for good
/// (the server does, at start), so that the KMS may keep its per-operation metric
/// handles instead of asking the recorder on every operation. Until then, and in a
/// process that never calls it, each operation asks whichever recorder is current
/// (a handle kept from before the recorder was installed would count nothing).
pub fn global_metrics_installed() {
    GLOBAL_RECORDER.store(true, Ordering::Release);
}

/// Counts operation `op` and records its latency.
fn op_metrics(op: &'static str, seconds: f64) {
    if !GLOBAL_RECORDER.load(Ordering::Acquire) {
        metrics::counter!("kms_ops_total", "op" => op).increment(1);
        metrics::histogram!("kms_op_latency_seconds", "op" => op).record(seconds);
        return;
    }
    OP_METRICS.with_borrow_mut(|kept| {
        if let Some((_, c, h)) = kept.iter().find(|(o, _, _)| *o == op) {
            c.increment(1);
            h.record(seconds);
            return;
        }
        let c = metrics::counter!("kms_ops_total", "op" => op);
        let h = metrics::histogram!("kms_op_latency_seconds", "op" => op);
        c.increment(1);
        h.record(seconds);
        kept.push((op, c, h));
    });
}

fn key_gauge(alg: Algorithm, delta: f64) {
    metrics::gauge!(
        "kms_keys_total",
        "alg" => alg.id(),
        "hybrid" => if alg.is_hybrid() { "true" } else { "false" }
    )
    .increment(delta);
}

fn policy_for(alg: Algorithm, opts: &KeyOptions) -> Policy {
    Policy {
        purpose: default_purpose(alg),
        exportable: opts.exportable,
        deletion_allowed: opts.deletion_allowed,
        min_decryption_version: 1,
        min_encryption_version: 0,
        auto_rotate_secs: opts.auto_rotate_secs,
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

#[cfg(test)]
mod tests {
    //! Zeroization is tested, not assumed: every cached secret is held by a `Loaded`
    //! whose fields zeroize on drop (`Version` derives `ZeroizeOnDrop`, AWS-LC cleanses
    //! key schedules on free, `PrivateKey` zeroizes its seeds), so these tests check
    //! that nothing keeps a `Loaded` or a parsed private key alive after seal,
    //! eviction, a write or a destroy.
    use super::*;
    use crate::KeyRef;
    use std::sync::Weak;

    fn unsealed() -> Kms {
        let kms = Kms::new(Arc::new(aunsorm_store::MemoryStore::new()));
        kms.set_root(Some(RootKey::generate().unwrap())).unwrap();
        kms
    }

    fn cached(kms: &Kms, n: &KeyName) -> Option<Weak<Loaded>> {
        kms.cache.read().unwrap().get(n).map(Arc::downgrade)
    }

    #[test]
    fn quick_keys_are_loaded_keys_of_fast_algorithms() {
        let kms = unsealed();
        let (fast, slow, rsa): (KeyName, KeyName, KeyName) = (
            "fast".parse().unwrap(),
            "slow".parse().unwrap(),
            "rsa".parse().unwrap(),
        );
        assert!(!kms.is_quick(&fast), "unknown key");
        for (n, alg) in [
            (&fast, Algorithm::Ed25519),
            (&slow, Algorithm::SlhDsaSha2_128f),
            (&rsa, Algorithm::Rsa2048),
        ] {
            kms.create(n, alg, &KeyOptions::default()).unwrap();
            kms.sign(&KeyRef::from(n.clone()), b"m", b"").unwrap();
            assert!(cached(&kms, n).is_some());
        }
        assert!(kms.is_quick(&fast));
        assert!(!kms.is_quick(&slow));
        assert!(!kms.is_quick(&rsa));
        // Sealed, nothing is loaded.
        kms.seal();
        assert!(!kms.is_quick(&fast));
    }

    #[test]
    fn seal_releases_every_cached_key_and_private_key() {
        let kms = unsealed();
        let n: KeyName = "z".parse().unwrap();
        kms.create(&n, Algorithm::MlDsa44, &KeyOptions::default())
            .unwrap();
        kms.sign(&KeyRef::from(n.clone()), b"m", b"").unwrap();
        let loaded = cached(&kms, &n).unwrap();
        let private = {
            let l = loaded.upgrade().unwrap();
            let m = l.private.read().unwrap();
            Arc::downgrade(m.get(&1).unwrap())
        };
        kms.attestation_key().unwrap();
        let system = Arc::downgrade(kms.system.read().unwrap().values().next().unwrap());
        kms.seal();
        assert!(loaded.upgrade().is_none(), "a cached key outlived seal");
        assert!(
            private.upgrade().is_none(),
            "a parsed private key outlived seal"
        );
        assert!(system.upgrade().is_none(), "a system key outlived seal");
        assert!(kms.root.read().unwrap().is_none());
    }

    #[test]
    fn writes_and_destroy_release_the_old_copy_and_remove_the_material() {
        let kms = unsealed();
        let n: KeyName = "d".parse().unwrap();
        kms.create(&n, Algorithm::Aes256Gcm, &KeyOptions::default())
            .unwrap();
        let r = KeyRef::from(n.clone());
        kms.encrypt(&r, b"x", b"").unwrap();
        let v1_secret = kms.cache.read().unwrap()[&n].state.versions[0]
            .secret
            .clone();
        kms.rotate(&n).unwrap();
        kms.encrypt(&r, b"x", b"").unwrap();
        let before = cached(&kms, &n).unwrap();
        kms.destroy_version(&n, 1).unwrap();
        assert!(
            before.upgrade().is_none(),
            "the pre-destroy copy is still alive"
        );
        // The stored record no longer holds the material, in any form.
        let rec = kms.store.get(Namespace::Keys, "d").unwrap().unwrap();
        let g = kms.root.read().unwrap();
        let (_, payload) = sealed::open(g.as_ref().unwrap(), &rec.value).unwrap();
        let st = KeyState::decode(payload.expose()).unwrap();
        assert!(st.versions[0].secret.is_empty());
        assert_eq!(st.versions[0].state, VersionState::Destroyed);
        assert!(
            !payload
                .expose()
                .windows(v1_secret.len())
                .any(|w| w == &v1_secret[..]),
            "destroyed material is still in the record"
        );
    }

    #[test]
    fn eviction_keeps_the_hot_key_and_releases_cold_ones() {
        let kms = unsealed();
        let names: Vec<KeyName> = (0..=CACHE_CAPACITY)
            .map(|i| format!("k{i}").parse().unwrap())
            .collect();
        for n in &names {
            kms.create(n, Algorithm::Aes256Gcm, &KeyOptions::default())
                .unwrap();
        }
        let hot = &names[0];
        for n in &names[..CACHE_CAPACITY] {
            kms.encrypt(&KeyRef::from(n.clone()), b"x", b"").unwrap();
            // Keep the first key in use while the cache fills.
            kms.encrypt(&KeyRef::from(hot.clone()), b"x", b"").unwrap();
        }
        assert_eq!(kms.cached_keys(), CACHE_CAPACITY);
        let before: Vec<Weak<Loaded>> = names[..CACHE_CAPACITY]
            .iter()
            .filter_map(|n| cached(&kms, n))
            .collect();
        // 300 misses: each evicts one key, never the one in constant use.
        for i in 0..300 {
            let n: KeyName = format!("new{i}").parse().unwrap();
            kms.create(&n, Algorithm::Aes256Gcm, &KeyOptions::default())
                .unwrap();
            kms.encrypt(&KeyRef::from(n), b"x", b"").unwrap();
            kms.encrypt(&KeyRef::from(hot.clone()), b"x", b"").unwrap();
        }
        assert_eq!(kms.cached_keys(), CACHE_CAPACITY);
        let released = before.iter().filter(|w| w.upgrade().is_none()).count();
        assert!(
            released >= 290,
            "only {released} evicted keys were released"
        );
        assert!(cached(&kms, hot).is_some(), "the hot key was evicted");
    }
}
