//! Errors of the log.

use aunsorm_store::StoreError;

/// Errors of the log and its verifiers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// Untrusted input is malformed (a note, a checkpoint, a proof request, a path).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A proof does not prove what it claims.
    #[error("invalid proof: {0}")]
    InvalidProof(&'static str),
    /// A note lacks a valid signature by the named key.
    #[error("no valid signature by {0}")]
    InvalidSignature(String),
    /// The log is not a consistent extension of a checkpoint the caller trusts.
    #[error("log is inconsistent with the trusted checkpoint: {0}")]
    Inconsistent(String),
    /// The stored log does not match itself (an edited, removed or reordered entry, a
    /// changed node, a checkpoint that does not match the tree).
    #[error("log storage is corrupt: {0}")]
    Corrupt(&'static str),
    /// A signature could not be made.
    #[error("cryptographic operation failed")]
    Crypto,
    /// The log has been closed.
    #[error("log is closed")]
    Closed,
    /// The storage engine failed.
    #[error("log storage error")]
    Storage(#[from] StoreError),
}

/// Result of log operations.
pub type Result<T, E = LogError> = std::result::Result<T, E>;
