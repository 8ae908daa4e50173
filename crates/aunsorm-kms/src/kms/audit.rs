//! The KMS's side of the transparency log: key lifecycle events, audit entries of
//! operations, the checkpoint signing keys, and rollback detection.

use super::{Kms, check_user_name};
use crate::sealed;
use crate::state::KeyState;
use crate::{Error, KeyName, Result, Versioned};
use aunsorm_crypto::{Algorithm, PublicKey, SecretBytes};
use aunsorm_log::{CheckpointSigners, Event, KeyEvent, Log, NoteSigner, OpRecord, Ticket};
use aunsorm_store::{LogStore, Namespace};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

const LOG_ED25519_KEY: (&str, Algorithm) = ("aunsorm/log-ed25519", Algorithm::Ed25519);
const LOG_ML_DSA_44_KEY: (&str, Algorithm) = ("aunsorm/log-ml-dsa-44", Algorithm::MlDsa44);

/// Who is calling, for the audit entries of the operations made inside
/// [`with_caller`]: the capability token's id and the request id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The capability token's id.
    pub token: Option<Arc<str>>,
    /// The request id.
    pub request: Option<Arc<str>>,
}

thread_local! {
    static CALLER: RefCell<Option<Caller>> = const { RefCell::new(None) };
    /// Inside [`deferred`]: the tickets of the entries appended so far.
    static DEFERRED: RefCell<Option<Vec<Ticket>>> = const { RefCell::new(None) };
}

/// Runs `f` with `caller` recorded in the audit entries of the KMS operations it makes
/// on this thread.
pub fn with_caller<R>(caller: Caller, f: impl FnOnce() -> R) -> R {
    let previous = CALLER.with(|c| c.replace(Some(caller)));
    let out = f();
    CALLER.with(|c| *c.borrow_mut() = previous);
    out
}

/// Runs `f` (KMS calls) with `caller` recorded in their audit entries, without waiting
/// on this thread for the entries to be durable: the result is held in the returned
/// [`Audited`] until they are. An async server awaits it, so that a worker thread is not
/// parked once per operation; [`Audited::wait`] blocks instead.
pub fn deferred<T>(caller: Caller, f: impl FnOnce() -> Result<T>) -> Audited<T> {
    let previous = DEFERRED.with(|d| d.replace(Some(Vec::new())));
    let result = with_caller(caller, f);
    let tickets = DEFERRED.with(|d| d.replace(previous)).unwrap_or_default();
    Audited {
        result: Some(result),
        tickets,
    }
}

/// An operation's result, released once its audit entries are durable: block with
/// [`Audited::wait`], or `.await` it.
#[must_use = "the result is released only once its audit entries are durable"]
#[derive(Debug)]
pub struct Audited<T> {
    result: Option<Result<T>>,
    tickets: Vec<Ticket>,
}

impl<T> Audited<T> {
    /// Blocks until the audit entries are durable, then returns the result.
    ///
    /// # Errors
    /// The operation's error; [`Error::AuditUnavailable`] when an entry could not be
    /// written (whatever the operation's result).
    pub fn wait(mut self) -> Result<T> {
        for t in std::mem::take(&mut self.tickets) {
            t.wait().map_err(|_| Error::AuditUnavailable)?;
        }
        self.result
            .take()
            .unwrap_or(Err(Error::Internal("result already taken")))
    }
}

// Nothing in `Audited` is pinned structurally: the tickets are polled through their own
// `Unpin` handles and the result is only moved out.
impl<T> Unpin for Audited<T> {}

impl<T> Future for Audited<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        while let Some(t) = this.tickets.last_mut() {
            match Pin::new(t).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(_)) => {
                    this.tickets.pop();
                }
                Poll::Ready(Err(_)) => {
                    this.tickets.clear();
                    this.result = None;
                    return Poll::Ready(Err(Error::AuditUnavailable));
                }
            }
        }
        Poll::Ready(
            this.result
                .take()
                .unwrap_or(Err(Error::Internal("result already taken"))),
        )
    }
}

/// Appends `event`: waits until it is durable, or inside [`deferred`] hands its ticket
/// to the caller's [`Audited`].
fn record(log: &Log, event: &Event) -> Result<()> {
    hold(log.submit(event))
}

/// Waits for `submitted`'s entry to be durable, or inside [`deferred`] hands its ticket
/// to the caller's [`Audited`].
fn hold(submitted: aunsorm_log::Result<Ticket>) -> Result<()> {
    let ticket = submitted.map_err(|_| Error::AuditUnavailable)?;
    let ticket = DEFERRED.with(|d| match d.borrow_mut().as_mut() {
        Some(tickets) => {
            tickets.push(ticket);
            None
        }
        None => Some(ticket),
    });
    match ticket {
        Some(t) => t.wait().map(|_| ()).map_err(|_| Error::AuditUnavailable),
        None => Ok(()),
    }
}

/// What an operation's result says about the version it used.
pub(crate) trait UsedVersion {
    fn used_version(&self) -> Option<u32> {
        None
    }
}

impl UsedVersion for Versioned {
    fn used_version(&self) -> Option<u32> {
        Some(self.version)
    }
}

impl UsedVersion for (SecretBytes, Versioned) {
    fn used_version(&self) -> Option<u32> {
        Some(self.1.version)
    }
}

impl UsedVersion for SecretBytes {}
impl UsedVersion for bool {}
impl UsedVersion for super::system::Attestation {}

/// A key whose stored record disagrees with the log, found when the log is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackFinding {
    /// The key.
    pub key: String,
    /// The stored record's generation.
    pub stored: u64,
    /// The generation the log recorded.
    pub logged: u64,
    /// The log recorded the key as deleted.
    pub deleted: bool,
}

impl Kms {
    /// Opens the transparency log in `store` under `origin` and attaches it: from now on
    /// every key lifecycle change and every operation is appended, and each call
    /// returns only once its entry is durable. The checkpoint signing keys (Ed25519 and
    /// ML-DSA-44) are KMS-held keys, made on first use.
    ///
    /// Every key record is then compared with the log: a record newer than the log
    /// (a crash between the record's write and its event) gets a `resync` event; a
    /// record older than the log, or present although the log says it was deleted, is
    /// returned as a finding, and the key is refused with `rollback` on use.
    ///
    /// # Errors
    /// [`Error::Sealed`]; [`Error::AuditUnavailable`] when the log cannot be opened
    /// (its checkpoint does not match its tree or these keys).
    pub fn open_log(&self, store: Arc<dyn LogStore>, origin: &str) -> Result<Vec<RollbackFinding>> {
        let signers = self.log_signers(origin)?;
        let log = Log::open(store, origin, signers).map_err(|_| Error::AuditUnavailable)?;
        let log = Arc::new(log);
        *self
            .log
            .write()
            .map_err(|_| Error::Internal("log lock poisoned"))? = Some(Arc::clone(&log));
        let mut findings = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list(Namespace::Keys, "", after.as_deref(), 1000)
                .map_err(super::storage)?;
            let Some(last) = page.last().map(|r| r.name.clone()) else {
                break;
            };
            for r in &page {
                let logged = log
                    .key_generation(&r.name)
                    .map_err(|_| Error::AuditUnavailable)?;
                match logged {
                    Some(g) if g.deleted || r.generation < g.generation => {
                        findings.push(RollbackFinding {
                            key: r.name.clone(),
                            stored: r.generation,
                            logged: g.generation,
                            deleted: g.deleted,
                        });
                    }
                    Some(g) if g.generation == r.generation => {}
                    _ => {
                        let Ok((h, _)) = sealed::Header::decode(&r.value) else {
                            continue;
                        };
                        let event = Event::Key(KeyEvent {
                            op: "resync".into(),
                            key: r.name.clone(),
                            version: h.version,
                            alg: h.alg.id().into(),
                            fingerprint: None,
                            generation: r.generation,
                            time_ms: aunsorm_log::event::now_ms(),
                        });
                        log.append(&event).map_err(|_| Error::AuditUnavailable)?;
                    }
                }
            }
            after = Some(last);
        }
        Ok(findings)
    }

    /// The attached log, if any.
    pub fn log(&self) -> Option<Arc<Log>> {
        self.log.read().ok().and_then(|l| l.clone())
    }

    /// The checkpoint signers: KMS-held Ed25519 and ML-DSA-44 keys, named by `origin`.
    ///
    /// # Errors
    /// [`Error::Sealed`]; [`Error::InvalidInput`] for an origin that cannot be a note
    /// key name (empty, white space, `+`).
    pub fn log_signers(&self, origin: &str) -> Result<CheckpointSigners> {
        let signer = |(name, alg): (&'static str, Algorithm)| -> Result<NoteSigner> {
            let l = self.system_key(name, alg)?;
            let v = l
                .state
                .versions
                .last()
                .ok_or(Error::Internal("key without versions"))?;
            NoteSigner::new(origin, l.private_key(v)?)
                .map_err(|_| Error::invalid("log origin", "no white space or '+'"))
        };
        Ok(CheckpointSigners {
            ed25519: signer(LOG_ED25519_KEY)?,
            ml_dsa_44: signer(LOG_ML_DSA_44_KEY)?,
        })
    }

    /// Runs an operation with a key and appends its audit entry (who, what, when,
    /// result); the result is returned only once the entry is durable.
    pub(crate) fn audited<T: UsedVersion>(
        &self,
        op: &'static str,
        name: &KeyName,
        version: Option<u32>,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let r = self.observe(op, f);
        let Some(log) = self.log() else {
            return r;
        };
        let version = version.or_else(|| r.as_ref().ok().and_then(UsedVersion::used_version));
        let key = match version {
            Some(v) => format!("{name}#v{v}"),
            None => name.to_string(),
        };
        let submitted = CALLER.with_borrow(|c| {
            log.submit_op(&OpRecord {
                op,
                key: &key,
                token: c.as_ref().and_then(|c| c.token.as_deref()),
                request: c.as_ref().and_then(|c| c.request.as_deref()),
                result: match &r {
                    Ok(_) => "ok",
                    Err(e) => e.code(),
                },
                time_ms: aunsorm_log::event::now_ms(),
            })
        });
        hold(submitted)?;
        r
    }

    /// Appends a key lifecycle event after its record was written at `generation`.
    pub(crate) fn key_event(
        &self,
        op: &'static str,
        name: &KeyName,
        alg: Algorithm,
        st: &KeyState,
        version: Option<u32>,
        generation: u64,
    ) -> Result<()> {
        let Some(log) = self.log() else {
            return Ok(());
        };
        if check_user_name(name).is_err() {
            return Ok(()); // the KMS's own keys are not published
        }
        let v = match version {
            Some(n) => st.versions.iter().find(|v| v.number == n),
            None => st.versions.last(),
        };
        let fingerprint = v
            .filter(|v| !v.public.is_empty())
            .and_then(|v| PublicKey::from_raw(alg, &v.public).ok())
            .and_then(|pk| pk.fingerprint().ok())
            .map(hex::encode);
        let event = Event::Key(KeyEvent {
            op: op.into(),
            key: name.to_string(),
            version: v.map_or(0, |v| v.number),
            alg: alg.id().into(),
            fingerprint,
            generation,
            time_ms: aunsorm_log::event::now_ms(),
        });
        record(&log, &event)
    }

    /// Refuses a key record older than what the log recorded for it.
    pub(crate) fn check_rollback(&self, name: &KeyName, generation: u64) -> Result<()> {
        let Some(log) = self.log() else {
            return Ok(());
        };
        match log
            .key_generation(name.as_str())
            .map_err(|_| Error::AuditUnavailable)?
        {
            Some(g) if g.deleted || generation < g.generation => Err(Error::Rollback {
                kid: name.to_string(),
            }),
            _ => Ok(()),
        }
    }
}
