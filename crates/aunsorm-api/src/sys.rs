//! System routes, under `/v1/sys`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /v1/sys/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// Whether a root key exists.
    pub initialized: bool,
    /// Whether the root key is locked away (operations answer `sealed`).
    pub sealed: bool,
    /// The server's version.
    pub version: String,
}
