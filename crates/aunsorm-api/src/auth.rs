//! Capability-token administration, under `/v1/auth`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/auth/tokens`: mint a token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Scopes: `kms:read`, `kms:sign`, `kms:encrypt`, `kms:wrap`, `kms:rotate`,
    /// `kms:admin`, `log:read`.
    pub scopes: Vec<String>,
    /// Key-name prefix the token is restricted to (empty: none).
    #[serde(default)]
    pub prefix: String,
    /// Lifetime in seconds (absent: no expiry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
}

/// A minted token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// The bearer token.
    pub token: String,
    /// Its id, as written in the audit log and used to revoke it.
    pub id: String,
}

/// `POST /v1/auth/tokens/revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeToken {
    /// The token id.
    pub id: String,
}
