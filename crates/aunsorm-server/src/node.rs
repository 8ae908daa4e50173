//! A node: the KMS over its store directory (or in memory for `--dev`), with what
//! comes and goes with the root key: the transparency log, the checkpoint kept outside
//! both databases, and the token authority. `init`, `unseal` and `seal` move it between
//! those states; the HTTP routes under `/v1/sys` and the local CLI both drive it.

use crate::ApiError;
use crate::auth::{ALL_SCOPES, TokenAuthority, TokenSpec};
use aunsorm_kms::{Kms, PassphraseParams, RollbackFinding, UnsealProgress};
use aunsorm_store::{MemoryLogStore, SqliteLogStore, SqliteStore};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use zeroize::Zeroizing;

/// The key database inside a store directory.
pub const KEY_FILE: &str = "aunsorm.db";
/// The log's own SQLite file, beside the key database but apart from it.
pub const LOG_FILE: &str = "log.db";
/// The latest checkpoint, kept outside both databases: restoring them from an older
/// copy is caught at the next unseal.
pub const CHECKPOINT_FILE: &str = "log-checkpoint";
/// The origin line of a store's log (and the name of its checkpoint keys).
pub const STORE_ORIGIN: &str = "aunsorm.local/log";
/// The origin of a development node's log (in memory with the keys).
pub const DEV_ORIGIN: &str = "aunsorm.dev/log";

/// How to create the root key.
#[derive(Debug)]
pub enum Init {
    /// Under a passphrase (Argon2id).
    Passphrase(Zeroizing<String>),
    /// Under `shares` Shamir shares, `threshold` of which unseal.
    Shares {
        /// Shares to hand out.
        shares: u8,
        /// Shares needed.
        threshold: u8,
    },
}

/// What `init` hands back, once.
#[derive(Debug)]
pub struct Initialized {
    /// The unseal shares (empty for a passphrase).
    pub shares: Vec<Zeroizing<String>>,
    /// Shares needed to unseal (0 for a passphrase).
    pub threshold: u8,
    /// An unattenuated token with every scope.
    pub root_token: Zeroizing<String>,
    /// Its id.
    pub root_token_id: String,
}

/// How to open the root key.
#[derive(Debug)]
pub enum Unseal {
    /// The passphrase.
    Passphrase(Zeroizing<String>),
    /// One share; the node unseals when it holds enough.
    Share(Zeroizing<String>),
    /// Enough shares at once.
    Shares(Vec<Zeroizing<String>>),
}

/// A KMS with its log, checkpoint file and token authority.
pub struct Node {
    kms: Arc<Kms>,
    /// The store directory; `None` for a development node.
    dir: Option<PathBuf>,
    auth: RwLock<Option<Arc<TokenAuthority>>>,
    /// Serializes init, unseal and seal.
    lifecycle: Mutex<()>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("dir", &self.dir).finish()
    }
}

fn storage(e: impl std::fmt::Display) -> ApiError {
    ApiError::new("storage", e.to_string())
}

impl Node {
    /// The node over the store in `dir` (created if missing), sealed.
    ///
    /// # Errors
    /// `storage` when the directory or database cannot be opened.
    pub fn open(dir: &Path) -> Result<Node, ApiError> {
        std::fs::create_dir_all(dir).map_err(storage)?;
        let store = SqliteStore::open(&dir.join(KEY_FILE)).map_err(storage)?;
        Ok(Node {
            kms: Arc::new(Kms::new(Arc::new(store))),
            dir: Some(dir.to_owned()),
            auth: RwLock::new(None),
            lifecycle: Mutex::new(()),
        })
    }

    /// A development node: amnesia store, random root, log in memory, unsealed. It can
    /// be sealed once, for good.
    ///
    /// # Errors
    /// `entropy` when no root key can be drawn.
    pub fn dev() -> Result<Node, ApiError> {
        let kms = Kms::amnesia(None)?;
        kms.open_log(Arc::new(MemoryLogStore::new()), DEV_ORIGIN)?;
        Node::unsealed(kms)
    }

    /// A node over a KMS that is already unsealed, its log (if any) already attached:
    /// the token authority is made from its token key.
    ///
    /// # Errors
    /// `sealed`, storage errors.
    pub fn unsealed(kms: Arc<Kms>) -> Result<Node, ApiError> {
        let auth = TokenAuthority::from_kms(&kms)?;
        Ok(Node {
            kms,
            dir: None,
            auth: RwLock::new(Some(Arc::new(auth))),
            lifecycle: Mutex::new(()),
        })
    }

    /// The custody core.
    #[must_use]
    pub fn kms(&self) -> &Arc<Kms> {
        &self.kms
    }

    /// The store directory (`None` for a development node).
    #[must_use]
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The token authority, while unsealed.
    ///
    /// # Errors
    /// `sealed`.
    pub fn auth(&self) -> Result<Arc<TokenAuthority>, ApiError> {
        self.auth
            .read()
            .ok()
            .and_then(|a| a.clone())
            .ok_or_else(|| ApiError::from(aunsorm_kms::Error::Sealed))
    }

    /// `f` over the token authority, while unsealed (without taking a reference to it).
    ///
    /// # Errors
    /// `sealed`, and `f`'s.
    pub fn with_auth<T>(
        &self,
        f: impl FnOnce(&TokenAuthority) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let a = self
            .auth
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match a.as_deref() {
            Some(a) => f(a),
            None => Err(ApiError::from(aunsorm_kms::Error::Sealed)),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, ()>, ApiError> {
        self.lifecycle
            .lock()
            .map_err(|_| ApiError::new("internal", "lifecycle lock poisoned"))
    }

    /// Creates the root key, unseals, attaches the log and mints a root token.
    ///
    /// # Errors
    /// `conflict` if already initialized; `invalid_input` for impossible share counts
    /// or a passphrase under 8 characters.
    pub fn init(&self, how: Init) -> Result<(Initialized, Vec<RollbackFinding>), ApiError> {
        let _g = self.lock()?;
        let (shares, threshold) = match how {
            Init::Passphrase(pw) => {
                if pw.chars().count() < 8 {
                    return Err(ApiError::invalid(
                        "the passphrase must be at least 8 characters",
                    ));
                }
                self.kms
                    .init_with_passphrase(pw.as_bytes(), PassphraseParams::default())?;
                (vec![], 0)
            }
            Init::Shares { shares, threshold } => (
                self.kms
                    .init_with_shares(shares, threshold)?
                    .iter()
                    .map(|s| Zeroizing::new(s.expose().to_owned()))
                    .collect(),
                threshold,
            ),
        };
        let findings = self.attach()?;
        let (token, id) = self.auth()?.mint(&TokenSpec {
            scopes: ALL_SCOPES.to_vec(),
            ..TokenSpec::default()
        })?;
        Ok((
            Initialized {
                shares,
                threshold,
                root_token: Zeroizing::new(token),
                root_token_id: id,
            },
            findings,
        ))
    }

    /// Opens the root key; once open, attaches the log (checked against the saved
    /// checkpoint) and the token authority. Unsealing an unsealed node does nothing.
    ///
    /// # Errors
    /// `unauthorized` for a wrong passphrase or shares; `invalid_input` for a
    /// malformed share or the wrong kind of secret; `rollback` when the log does not
    /// extend the saved checkpoint (the node is sealed again).
    pub fn unseal(&self, how: Unseal) -> Result<(UnsealProgress, Vec<RollbackFinding>), ApiError> {
        let _g = self.lock()?;
        let progress = match how {
            Unseal::Passphrase(pw) => {
                if self.kms.is_sealed() {
                    self.kms.unseal_with_passphrase(pw.as_bytes())?;
                }
                UnsealProgress {
                    sealed: false,
                    have: 0,
                    need: 0,
                }
            }
            Unseal::Share(s) => self.kms.submit_unseal_share(&s)?,
            Unseal::Shares(list) => {
                if self.kms.is_sealed() {
                    let all: Vec<&str> = list.iter().map(|s| s.as_str()).collect();
                    self.kms.unseal_with_shares(&all)?;
                }
                UnsealProgress {
                    sealed: false,
                    have: 0,
                    need: 0,
                }
            }
        };
        let attached = self.auth.read().is_ok_and(|a| a.is_some());
        if progress.sealed || attached {
            return Ok((progress, vec![]));
        }
        match self.attach() {
            Ok(f) => Ok((progress, f)),
            Err(e) => {
                self.kms.seal();
                Err(e)
            }
        }
    }

    /// Attaches the log (store nodes: from `log.db`, checked against the saved
    /// checkpoint) and makes the token authority.
    fn attach(&self) -> Result<Vec<RollbackFinding>, ApiError> {
        let mut findings = vec![];
        if let Some(dir) = &self.dir
            && self.kms.log().is_none()
        {
            let log = SqliteLogStore::open(&dir.join(LOG_FILE)).map_err(storage)?;
            findings = self.kms.open_log(Arc::new(log), STORE_ORIGIN)?;
            let file = dir.join(CHECKPOINT_FILE);
            if let Ok(trusted) = std::fs::read(&file)
                && let Some(log) = self.kms.log()
            {
                log.check_extends(&trusted).map_err(|e| {
                    ApiError::new(
                        "rollback",
                        format!(
                            "{e}: the log does not extend the checkpoint saved in {}",
                            file.display()
                        ),
                    )
                })?;
            }
        }
        let auth = TokenAuthority::from_kms(&self.kms)?;
        if let Ok(mut a) = self.auth.write() {
            *a = Some(Arc::new(auth));
        }
        Ok(findings)
    }

    /// Writes the log's latest checkpoint to the checkpoint file (store nodes with a
    /// log attached; otherwise nothing).
    ///
    /// # Errors
    /// I/O errors writing the file.
    pub fn save_checkpoint(&self) -> std::io::Result<()> {
        let (Some(dir), Some(log)) = (&self.dir, self.kms.log()) else {
            return Ok(());
        };
        // A checkpoint of everything acknowledged so far (a closed log already
        // signed its last one).
        let _ = log.sync();
        let Ok(note) = log.checkpoint() else {
            return Ok(());
        };
        let path = dir.join(CHECKPOINT_FILE);
        if std::fs::read(&path).is_ok_and(|old| old == note) {
            return Ok(());
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &note)?;
        std::fs::rename(&tmp, &path)
    }

    /// Seals: the checkpoint is saved, the log closed (everything queued committed),
    /// the token authority dropped, and the root and every key zeroized.
    pub fn seal(&self) {
        let _g = self.lifecycle.lock();
        if let Err(e) = self.save_checkpoint() {
            eprintln!("warning: could not save the log checkpoint: {e}");
        }
        if let Ok(mut a) = self.auth.write() {
            a.take();
        }
        self.kms.seal();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Err(e) = self.save_checkpoint() {
            eprintln!("warning: could not save the log checkpoint: {e}");
        }
    }
}
