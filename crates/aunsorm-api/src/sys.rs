//! System routes, under `/v1/sys`.

use crate::SecretText;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /v1/sys/health`: whether the server is initialized and unsealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// Whether a root key exists.
    pub initialized: bool,
    /// Whether the root key is locked away (operations answer `sealed`).
    pub sealed: bool,
    /// How the root key is protected: `passphrase`, `shares`, `amnesia`; absent before
    /// init.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Shares needed to unseal (share mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u8>,
    /// Shares handed out (share mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<u8>,
    /// Distinct shares submitted so far towards the next unseal.
    #[serde(default)]
    pub progress: usize,
    /// The server's version.
    pub version: String,
    /// Always false: every Aunsorm server is active (Vault's field, for its clients).
    #[serde(default)]
    pub standby: bool,
    /// The server's clock, in seconds since the Unix epoch (Vault's field).
    #[serde(default)]
    pub server_time_utc: u64,
}

/// `GET /v1/sys/health` query: the status to answer in each state, as Vault takes them
/// (defaults 200 unsealed, 503 sealed, 501 not initialized). Vault's other parameters
/// (`standbyok`, `perfstandbyok`, ...) are accepted and have no effect: an Aunsorm
/// server is never a standby.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthQuery {
    /// Status when initialized and unsealed (default 200).
    #[serde(default)]
    pub activecode: Option<u16>,
    /// Status when sealed (default 503).
    #[serde(default)]
    pub sealedcode: Option<u16>,
    /// Status when not initialized (default 501).
    #[serde(default)]
    pub uninitcode: Option<u16>,
}

/// `GET /v1/sys/init` (Vault's form): whether a root key exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InitStatus {
    /// Whether a root key exists.
    pub initialized: bool,
}

/// `POST /v1/sys/init`: create the root key, under unseal shares (`shares` and
/// `threshold`) or a passphrase.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Init {
    /// Shares to make (1-255).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<u8>,
    /// Shares needed to unseal (1..=shares).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u8>,
    /// The passphrase (at least 8 characters), instead of shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<SecretText>,
}

/// What `POST /v1/sys/init` returns, once: the shares and a root token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Initialized {
    /// The unseal shares (empty under a passphrase): hand each to its holder.
    pub shares: Vec<SecretText>,
    /// An unattenuated token with every scope.
    pub root_token: SecretText,
    /// Its id.
    pub root_token_id: String,
}

/// `POST /v1/sys/unseal`: one share (holders submit theirs in turn) or the
/// passphrase.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unseal {
    /// An unseal share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<SecretText>,
    /// The passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<SecretText>,
}

/// Where an unseal stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnsealProgress {
    /// Whether the server is still sealed.
    pub sealed: bool,
    /// Distinct shares held so far (0 once unsealed).
    pub progress: usize,
    /// Shares needed (0 under a passphrase).
    pub threshold: usize,
}

/// `GET /v1/rng/bytes?bytes=N`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RngQuery {
    /// How many bytes (1-65536; default 32).
    #[serde(default)]
    pub bytes: Option<usize>,
}

/// Random bytes from the server's DRBG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomBytes {
    /// The bytes.
    pub random: crate::SecretBase64,
}

/// Which kind of id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IdKind {
    /// RFC 9562 version 7: 48-bit Unix milliseconds, then random bits.
    Uuidv7,
    /// ULID: 48-bit Unix milliseconds and 80 random bits, Crockford base32.
    Ulid,
}

/// `GET /v1/id?kind=uuidv7|ulid&count=N`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams,
)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IdQuery {
    /// `uuidv7` (default) or `ulid`.
    #[serde(default)]
    pub kind: Option<IdKind>,
    /// How many (1-1000; default 1).
    #[serde(default)]
    pub count: Option<usize>,
}

/// Ids, in the order they were made (which is also their sort order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ids {
    /// The ids.
    pub ids: Vec<String>,
}
