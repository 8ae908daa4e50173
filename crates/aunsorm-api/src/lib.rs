//! The wire types of Aunsorm's HTTP API: every request and response body, shared by the
//! server and its clients, with OpenAPI schemas derived from the same types.
//!
//! Conventions: JSON; bytes are standard base64 strings; ciphertexts, signatures and
//! MACs carry their key version as `aunsorm:vN:<base64>`; every request type rejects
//! unknown fields. Secrets in responses (plaintexts, data keys, shared secrets) are held
//! in [`SecretBase64`], which zeroizes on drop.

#![forbid(unsafe_code)]

pub mod auth;
mod bytes;
pub mod kms;
pub mod log;
pub mod sys;

pub use bytes::{BASE64_PATTERN, Base64, SecretBase64, SecretText};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// An error: a stable code from the library taxonomy, a message for people, and the
/// request id to quote in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Stable code: `no_such_key`, `invalid_input`, `unauthorized`, ...
    pub code: String,
    /// Human-readable; never holds secrets. Says nothing internal for 5xx answers.
    pub message: String,
    /// The request id (also in the `x-request-id` response header).
    pub request_id: String,
}
