//! The custody core's errors, with the codes of DESIGN.md's taxonomy.

/// What went wrong in the custody core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed input from the caller (a bad name, a bad reference).
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// What was being parsed.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A sealed record failed authentication or does not parse: it was modified,
    /// truncated, swapped with another key's record, or sealed under another root.
    #[error("sealed record of {kid} is corrupt or not sealed under this root")]
    SealedCorrupt {
        /// The key whose record failed (from the request, never from the bad record).
        kid: String,
    },
    /// No key (or key version) by that name.
    #[error("no such key: {0}")]
    NoSuchKey(String),
    /// The KMS is sealed: unseal it first.
    #[error("the KMS is sealed")]
    Sealed,
    /// The key's policy or state forbids the operation (wrong purpose, version below
    /// the minimum, destroyed or disabled version).
    #[error("denied by policy: {0}")]
    PolicyDenied(String),
    /// The key (or the version asked for) is past its `not_after` time.
    #[error("expired: {0}")]
    Expired(String),
    /// A key record is older than the log says it is: the key database (or this record)
    /// was restored from an older copy. The key is refused until an operator resolves it.
    #[error("rollback detected for {kid}: the stored record is older than the log's")]
    Rollback {
        /// The key.
        kid: String,
    },
    /// The audit log could not record the operation, so it was not acknowledged.
    #[error("the audit log is unavailable")]
    AuditUnavailable,
    /// A concurrent change won, or the thing already exists.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The storage backend failed.
    #[error("storage error")]
    Storage(#[source] aunsorm_store::StoreError),
    /// The passphrase (or unseal material) does not open the root key.
    #[error("the root key could not be unsealed with what was given")]
    Unauthorized,
    /// The random number generator failed.
    #[error("random number generator failure")]
    Entropy,
    /// An error of the algorithm layer.
    #[error(transparent)]
    Crypto(#[from] aunsorm_crypto::Error),
    /// A bug: this should not happen. Please file an issue.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl Error {
    /// The stable error code (`invalid_input`, `sealed_corrupt`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "invalid_input",
            Error::SealedCorrupt { .. } => "sealed_corrupt",
            Error::Unauthorized => "unauthorized",
            Error::NoSuchKey(_) => "no_such_key",
            Error::Sealed => "sealed",
            Error::PolicyDenied(_) => "policy_denied",
            Error::Expired(_) => "expired",
            Error::Rollback { .. } => "rollback",
            Error::AuditUnavailable => "storage",
            Error::Conflict(_) => "conflict",
            Error::Storage(_) => "storage",
            Error::Entropy => "entropy",
            Error::Crypto(e) => e.code(),
            Error::Internal(_) => "internal",
        }
    }

    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            what,
            reason: reason.into(),
        }
    }
}

/// Result of custody operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
