//! Requests and responses of the custody routes, under `/v1/kms`.

use crate::{Base64, SecretBase64};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `POST /v1/kms/keys`: create a key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// `name` or `tenant/name`.
    pub name: String,
    /// Algorithm identifier (`ed25519`, `aes-256-gcm`, `ml-kem-768`, ...).
    pub alg: String,
    /// Whether the private material may be exported. Off by default.
    #[serde(default)]
    pub exportable: bool,
    /// Whether the key may be deleted. Off by default.
    #[serde(default)]
    pub deletion_allowed: bool,
    /// Unix time (seconds) after which the key is expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<u64>,
    /// Automatic rotation period in seconds (0 or absent: never).
    #[serde(default)]
    pub auto_rotate_secs: u64,
}

/// `POST /v1/kms/keys/{name}/config`: change a key's policy. Absent fields are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigureKey {
    /// Versions below this are refused for decrypt and verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_decryption_version: Option<u32>,
    /// New ciphertexts and signatures use at least this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_encryption_version: Option<u32>,
    /// Whether the key may be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_allowed: Option<bool>,
    /// Whether private material may be exported (can only be turned on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exportable: Option<bool>,
    /// Automatic rotation period in seconds (0: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rotate_secs: Option<u64>,
    /// Unix time (seconds) after which the key is expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<u64>,
}

/// A key: its policy and versions (never private material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInfo {
    /// The key's name.
    pub name: String,
    /// Algorithm identifier.
    pub alg: String,
    /// `encrypt`, `sign`, `kem` or `mac`.
    pub purpose: String,
    /// Versions below this are refused for decrypt and verify.
    pub min_decryption_version: u32,
    /// New ciphertexts and signatures use at least this version (0: the newest).
    pub min_encryption_version: u32,
    /// Whether private material may be exported.
    pub exportable: bool,
    /// Whether the key may be deleted.
    pub deletion_allowed: bool,
    /// Automatic rotation period in seconds (0: never).
    pub auto_rotate_secs: u64,
    /// Creation time, Unix seconds.
    pub created_at: u64,
    /// Expiry, Unix seconds.
    pub not_after: Option<u64>,
    /// The newest version.
    pub latest_version: u32,
    /// Every version, oldest first.
    pub versions: Vec<VersionInfo>,
}

/// One version of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionInfo {
    /// Version number, from 1.
    pub version: u32,
    /// `active`, `decrypt-only`, `disabled` or `destroyed`.
    pub state: String,
    /// Creation time, Unix seconds.
    pub created_at: u64,
    /// The public key (raw encoding of the algorithm), for asymmetric keys.
    pub public_key: Option<Base64>,
}

/// `GET /v1/kms/keys` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListKeys {
    /// Only names starting with this.
    #[serde(default)]
    pub prefix: String,
    /// Names after this one (the `next` of the previous page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most this many names (default and maximum 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// A page of key names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyList {
    /// Key names, in order.
    pub keys: Vec<String>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The answer to a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotated {
    /// The key.
    pub name: String,
    /// The new newest version.
    pub version: u32,
}

/// `POST /v1/kms/sign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sign {
    /// `name` (newest version) or `name#vN`.
    pub key: String,
    /// The message.
    pub message: Base64,
    /// Signature context (ML-DSA, SLH-DSA, composite); empty by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Base64>,
}

/// A signature, MAC or ciphertext, with the version that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Versioned {
    /// `aunsorm:vN:<base64>`.
    pub value: String,
    /// The key version N.
    pub version: u32,
}

/// `POST /v1/kms/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    /// The key name (the version comes from the signature).
    pub key: String,
    /// The message.
    pub message: Base64,
    /// `aunsorm:vN:<base64>`.
    pub signature: String,
    /// Signature context; empty by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Base64>,
}

/// The answer of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verified {
    /// Whether the signature or MAC is valid.
    pub valid: bool,
}

/// `POST /v1/kms/encrypt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Encrypt {
    /// `name` or `name#vN`.
    pub key: String,
    /// The plaintext.
    pub plaintext: SecretBase64,
    /// Associated data, authenticated but not encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<Base64>,
}

/// `POST /v1/kms/decrypt` and `POST /v1/kms/rewrap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decrypt {
    /// The key name.
    pub key: String,
    /// `aunsorm:vN:<base64>`.
    pub ciphertext: String,
    /// The associated data given at encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<Base64>,
}

/// A plaintext, data key, unwrapped secret or shared secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    /// The secret bytes.
    pub secret: SecretBase64,
}

/// `POST /v1/kms/datakey`: a fresh data key, returned in the clear and wrapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Datakey {
    /// `name` or `name#vN` of an encryption key.
    pub key: String,
    /// Data key length: 16, 24, 32 (default) or 64 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    /// Associated data bound to the wrapped data key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<Base64>,
    /// Return only the wrapped data key.
    #[serde(default)]
    pub wrapped_only: bool,
}

/// A data key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatakeyOut {
    /// The data key in the clear (absent when `wrapped_only`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<SecretBase64>,
    /// The data key encrypted under the key: `aunsorm:vN:<base64>`.
    pub ciphertext: String,
    /// The key version.
    pub version: u32,
}

/// `POST /v1/kms/hmac`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Hmac {
    /// `name` or `name#vN` of a MAC key.
    pub key: String,
    /// The message.
    pub message: Base64,
}

/// `POST /v1/kms/hmac/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HmacVerify {
    /// The key name.
    pub key: String,
    /// The message.
    pub message: Base64,
    /// `aunsorm:vN:<base64>`.
    pub mac: String,
}

/// `POST /v1/kms/encap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Encap {
    /// `name` or `name#vN` of a KEM key.
    pub key: String,
}

/// A KEM encapsulation: the shared secret and the ciphertext to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Encapsulated {
    /// The shared secret.
    pub shared_secret: SecretBase64,
    /// `aunsorm:vN:<base64>`.
    pub ciphertext: String,
    /// The key version.
    pub version: u32,
}

/// `POST /v1/kms/decap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decap {
    /// The key name.
    pub key: String,
    /// `aunsorm:vN:<base64>`.
    pub ciphertext: String,
}

/// `POST /v1/kms/wrap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Wrap {
    /// `name` or `name#vN`.
    pub key: String,
    /// The secret to wrap.
    pub secret: SecretBase64,
    /// Associated data bound to the wrapped secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<Base64>,
}

/// `POST /v1/kms/unwrap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unwrap {
    /// The key name.
    pub key: String,
    /// `aunsorm:vN:<base64>`.
    pub wrapped: String,
    /// The associated data given at wrapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<Base64>,
}
