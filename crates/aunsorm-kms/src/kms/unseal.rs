//! The root key: init (passphrase or unseal shares), unseal, status, amnesia mode.

use super::{Kms, storage};
use crate::shares::{SharedRoot, UnsealShare};
use crate::{Error, PassphraseParams, ProtectedRoot, Result, RootKey, sealed};
use aunsorm_store::{MemoryStore, Namespace, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

const ROOT_RECORD: &str = "root";

/// How the root key is protected at rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RootMode {
    /// Under a passphrase (Argon2id).
    Passphrase,
    /// Under Shamir unseal shares: `threshold` of `shares` open it.
    Shares {
        /// Shares needed.
        threshold: u8,
        /// Shares handed out.
        shares: u8,
    },
    /// Amnesia mode: a random root in memory only.
    Amnesia,
}

/// What `operator status` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Whether a root key exists.
    pub initialized: bool,
    /// Whether operations are refused until unseal.
    pub sealed: bool,
    /// How the root is protected (`None` before init).
    pub mode: Option<RootMode>,
    /// Unseal shares submitted so far (share mode).
    pub progress: usize,
}

/// Where a share-by-share unseal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsealProgress {
    /// Whether the KMS is still sealed.
    pub sealed: bool,
    /// Distinct shares held so far (0 once unsealed).
    pub have: usize,
    /// Shares needed.
    pub need: usize,
}

enum StoredRoot {
    Passphrase(ProtectedRoot),
    Shares(SharedRoot),
}

impl Kms {
    /// Whether the KMS is sealed.
    pub fn is_sealed(&self) -> bool {
        self.root.read().map_or(true, |r| r.is_none())
    }

    /// A KMS in amnesia mode: a memory store and a random root key that exists only in
    /// this process. It starts unsealed; [`Kms::seal`] (or dropping it, or the optional
    /// time limit passing) zeroizes the root and every key, for good.
    ///
    /// # Errors
    /// [`Error::Entropy`] if no root key can be drawn.
    pub fn amnesia(limit: Option<Duration>) -> Result<Arc<Kms>> {
        let kms = Arc::new(Kms::with(Arc::new(MemoryStore::new()), true));
        kms.set_root(Some(RootKey::generate()?))?;
        if let Some(limit) = limit {
            let weak: Weak<Kms> = Arc::downgrade(&kms);
            let deadline = Instant::now() + limit;
            std::thread::Builder::new()
                .name("aunsorm-amnesia".into())
                .spawn(move || {
                    loop {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            if let Some(k) = weak.upgrade() {
                                k.seal();
                            }
                            return;
                        }
                        // Wake now and then to notice the KMS was dropped.
                        std::thread::sleep(left.min(Duration::from_millis(200)));
                        if weak.strong_count() == 0 {
                            return;
                        }
                    }
                })
                .map_err(|_| Error::Internal("cannot start the amnesia timer"))?;
        }
        Ok(kms)
    }

    /// Creates the root key, protects it under `passphrase` and leaves the KMS unsealed.
    ///
    /// # Errors
    /// [`Error::Conflict`] if the store already has a root key.
    pub fn init_with_passphrase(&self, passphrase: &[u8], params: PassphraseParams) -> Result<()> {
        let root = RootKey::generate()?;
        let protected = ProtectedRoot::protect(&root, passphrase, params)?;
        self.store_root(&protected.encode())?;
        self.set_root(Some(root))
    }

    /// Creates the root key under `shares` unseal shares, any `threshold` of which
    /// unseal it, and leaves the KMS unsealed. The shares are returned once and never
    /// stored: hand each to its holder.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for impossible counts; [`Error::Conflict`] if the store
    /// already has a root key.
    pub fn init_with_shares(&self, shares: u8, threshold: u8) -> Result<Vec<UnsealShare>> {
        let root = RootKey::generate()?;
        let (rec, out) = SharedRoot::protect(&root, shares, threshold)?;
        self.store_root(&rec.encode())?;
        self.set_root(Some(root))?;
        Ok(out)
    }

    /// Opens the root key with `passphrase`.
    ///
    /// # Errors
    /// [`Error::Unauthorized`] for a wrong passphrase; [`Error::NoSuchKey`] if the store
    /// was never initialized; [`Error::InvalidInput`] if it uses unseal shares.
    pub fn unseal_with_passphrase(&self, passphrase: &[u8]) -> Result<()> {
        match self.stored_root()? {
            StoredRoot::Passphrase(p) => self.set_root(Some(p.unlock(passphrase)?)),
            StoredRoot::Shares(_) => Err(Error::invalid(
                "unseal",
                "this store is unsealed with shares, not a passphrase",
            )),
        }
    }

    /// Opens the root key with at least `threshold` unseal shares at once.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for malformed or too few shares; [`Error::Unauthorized`]
    /// for shares that do not open it.
    pub fn unseal_with_shares(&self, shares: &[&str]) -> Result<()> {
        match self.stored_root()? {
            StoredRoot::Shares(s) => self.set_root(Some(s.unlock(shares)?)),
            StoredRoot::Passphrase(_) => Err(Error::invalid(
                "unseal",
                "this store is unsealed with a passphrase, not shares",
            )),
        }
    }

    /// Submits one unseal share (holders may each submit theirs); the KMS unseals when
    /// enough distinct shares are held. Shares are kept in memory only, zeroized once
    /// used or on [`Kms::seal`]. A failed attempt discards them all.
    ///
    /// # Errors
    /// As [`Kms::unseal_with_shares`].
    pub fn submit_unseal_share(&self, share: &str) -> Result<UnsealProgress> {
        let StoredRoot::Shares(rec) = self.stored_root()? else {
            return Err(Error::invalid(
                "unseal",
                "this store is unsealed with a passphrase, not shares",
            ));
        };
        let need = usize::from(rec.threshold());
        if !self.is_sealed() {
            return Ok(UnsealProgress {
                sealed: false,
                have: 0,
                need,
            });
        }
        // Parse it alone first, so a typo does not discard the others.
        crate::shares::parse_share(share)?;
        let mut held = self
            .unseal_progress
            .lock()
            .map_err(|_| Error::Internal("unseal lock poisoned"))?;
        if !held.iter().any(|s| s.as_str() == share.trim()) {
            held.push(zeroize::Zeroizing::new(share.trim().to_string()));
        }
        if held.len() < need {
            return Ok(UnsealProgress {
                sealed: true,
                have: held.len(),
                need,
            });
        }
        let all: Vec<&str> = held.iter().map(|s| s.as_str()).collect();
        let r = rec.unlock(&all);
        held.clear();
        self.set_root(Some(r?))?;
        Ok(UnsealProgress {
            sealed: false,
            have: 0,
            need,
        })
    }

    /// Whether the store is initialized, sealed, and how.
    ///
    /// # Errors
    /// Storage errors; [`Error::InvalidInput`] for an unreadable root record.
    pub fn status(&self) -> Result<Status> {
        let progress = self.unseal_progress.lock().map_or(0, |p| p.len());
        if self.amnesia {
            return Ok(Status {
                initialized: true,
                sealed: self.is_sealed(),
                mode: Some(RootMode::Amnesia),
                progress,
            });
        }
        let mode = match self.root_mode.get() {
            Some(m) => Some(*m),
            None => match self.stored_root() {
                Ok(root) => {
                    let m = match root {
                        StoredRoot::Passphrase(_) => RootMode::Passphrase,
                        StoredRoot::Shares(s) => RootMode::Shares {
                            threshold: s.threshold(),
                            shares: s.shares(),
                        },
                    };
                    Some(*self.root_mode.get_or_init(|| m))
                }
                Err(Error::NoSuchKey(_)) => None,
                Err(e) => return Err(e),
            },
        };
        Ok(Status {
            initialized: mode.is_some(),
            sealed: self.is_sealed(),
            mode,
            progress,
        })
    }

    fn store_root(&self, bytes: &[u8]) -> Result<()> {
        self.store
            .put(Namespace::Meta, ROOT_RECORD, None, bytes)
            .map_err(|e| match e {
                StoreError::Conflict { .. } => {
                    Error::Conflict("the store is already initialized".into())
                }
                other => Error::Storage(other),
            })?;
        Ok(())
    }

    fn stored_root(&self) -> Result<StoredRoot> {
        let rec = self
            .store
            .get(Namespace::Meta, ROOT_RECORD)
            .map_err(storage)?
            .ok_or_else(|| Error::NoSuchKey("root key (run init first)".into()))?;
        if rec.value.starts_with(b"AUNS") {
            Ok(StoredRoot::Shares(SharedRoot::decode(&rec.value)?))
        } else {
            Ok(StoredRoot::Passphrase(ProtectedRoot::decode(&rec.value)?))
        }
    }

    pub(super) fn set_root(&self, root: Option<RootKey>) -> Result<()> {
        let unsealing = root.is_some();
        {
            let mut g = self
                .root
                .write()
                .map_err(|_| Error::Internal("root lock poisoned"))?;
            *g = root;
        }
        if unsealing {
            self.count_keys();
        }
        Ok(())
    }

    /// Sets the `kms_keys_total` gauges from the stored records' clear headers (no
    /// unsealing needed).
    fn count_keys(&self) {
        let mut counts: HashMap<aunsorm_crypto::Algorithm, f64> = HashMap::new();
        let mut after: Option<String> = None;
        while let Ok(page) = self.store.list(Namespace::Keys, "", after.as_deref(), 1000) {
            let Some(last) = page.last().map(|r| r.name.clone()) else {
                break;
            };
            for r in &page {
                if let Ok((h, _)) = sealed::Header::decode(&r.value) {
                    *counts.entry(h.alg).or_default() += 1.0;
                }
            }
            after = Some(last);
        }
        for (alg, n) in counts {
            metrics::gauge!(
                "kms_keys_total",
                "alg" => alg.id(),
                "hybrid" => if alg.is_hybrid() { "true" } else { "false" }
            )
            .set(n);
        }
    }
}
