//! The error type of the algorithm layer.

use crate::Algorithm;

/// Everything that can go wrong in `aunsorm-crypto`.
///
/// Variants fall in the classes of STYLE.md: invalid input (untrusted data, with a
/// description of *what* is wrong but never of secret bytes), misuse, unsupported, and
/// opaque cryptographic failures that say nothing an attacker could use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An algorithm identifier that Aunsorm does not know.
    #[error("unknown algorithm `{0}`")]
    UnknownAlgorithm(String),
    /// The algorithm exists but cannot do what was asked (e.g. sign with ML-KEM).
    #[error("{alg} does not support {op}")]
    UnsupportedOperation {
        /// The key's algorithm.
        alg: Algorithm,
        /// What was asked of it.
        op: &'static str,
    },
    /// The algorithm is known but not compiled into this build (feature off).
    #[error("{0} is not available in this build")]
    AlgorithmUnavailable(Algorithm),
    /// A key of one algorithm was given where another was expected.
    #[error("key algorithm mismatch: expected {expected}, found {found}")]
    AlgorithmMismatch {
        /// What the caller expected.
        expected: Algorithm,
        /// What the key is.
        found: Algorithm,
    },
    /// A byte string has the wrong length.
    #[error("invalid length for {what}: expected {expected}, got {got}")]
    InvalidLength {
        /// What the bytes were meant to be.
        what: &'static str,
        /// The required length (or a description of the allowed range).
        expected: String,
        /// The length that was given.
        got: usize,
    },
    /// Malformed input: bad DER, PEM, JWK, envelope or parameter.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// What was being parsed.
        what: &'static str,
        /// Why it was refused (never contains secret bytes).
        reason: String,
    },
    /// A DER structure names an object identifier Aunsorm has no algorithm for.
    #[error("unsupported key algorithm OID {0}")]
    UnknownOid(String),
    /// A private key whose parts do not belong together (seed and expanded key
    /// disagree, or a public key does not match the private key).
    #[error("inconsistent key material: {0}")]
    InconsistentKey(&'static str),
    /// A signature did not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// Authenticated decryption failed: wrong key, wrong associated data, or tampered
    /// ciphertext. Deliberately says nothing more.
    #[error("decryption failed")]
    DecryptionFailed,
    /// The operating system's random number generator failed.
    #[error("random number generator failure")]
    Entropy,
    /// A cryptographic backend refused the operation. Opaque by design.
    #[error("cryptographic operation failed")]
    Crypto,
}

impl Error {
    /// A short stable code for the error's kind, as used by the CLI and the API
    /// (`invalid_input`, `alg_unavailable`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnknownAlgorithm(_)
            | Error::InvalidLength { .. }
            | Error::InvalidInput { .. }
            | Error::UnknownOid(_)
            | Error::InconsistentKey(_)
            | Error::AlgorithmMismatch { .. }
            | Error::UnsupportedOperation { .. } => "invalid_input",
            Error::AlgorithmUnavailable(_) => "alg_unavailable",
            Error::BadSignature => "bad_signature",
            Error::DecryptionFailed => "decryption_failed",
            Error::Entropy => "entropy",
            Error::Crypto => "crypto",
        }
    }

    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            what,
            reason: reason.into(),
        }
    }

    pub(crate) fn length(what: &'static str, expected: usize, got: usize) -> Self {
        Error::InvalidLength {
            what,
            expected: expected.to_string(),
            got,
        }
    }

    pub(crate) fn unsupported(alg: Algorithm, op: &'static str) -> Self {
        Error::UnsupportedOperation { alg, op }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
