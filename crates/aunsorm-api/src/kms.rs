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
    /// RSA keys: the padding, `pss` (the default) or `pkcs1v15`; ignored for other keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsa_padding: Option<RsaPadding>,
    /// ECDSA keys: the signature's encoding, `der` (the default) or `p1363` (`r || s`,
    /// as JOSE); ignored for other keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecdsa_encoding: Option<EcdsaEncoding>,
}

/// RSA signature padding (both with SHA-256; PSS with MGF1-SHA-256 and a 32-byte salt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RsaPadding {
    /// RSASSA-PSS.
    Pss,
    /// RSASSA-PKCS1-v1_5.
    Pkcs1v15,
}

/// ECDSA signature encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EcdsaEncoding {
    /// ASN.1 DER `SEQUENCE { r, s }` (X.509, OpenSSL).
    Der,
    /// Fixed-width `r || s` (IEEE P1363, JOSE).
    P1363,
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
    /// RSA keys: the padding the signature was made with (`pss` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsa_padding: Option<RsaPadding>,
    /// ECDSA keys: the signature's encoding (`der` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecdsa_encoding: Option<EcdsaEncoding>,
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

/// A key version to read: `?version=N` (absent: the newest).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// The version, from 1; absent means the newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
}

/// `GET /v1/kms/keys/{name}/attest`: a statement about a key version, signed by the
/// server's attestation key (ML-DSA-65, context `aunsorm attestation v1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// The signed statement (UTF-8 lines `field: value`).
    pub statement: String,
    /// The ML-DSA-65 signature over `statement`.
    pub signature: Base64,
    /// The attestation public key, SPKI PEM.
    pub signer: String,
    /// The signature context.
    pub context: String,
}

/// The algorithm of the wrapping key that imported material is encrypted to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum WrappingAlg {
    /// ML-KEM-768: wrap with `aunsorm seal --to` (the default).
    #[default]
    #[serde(rename = "ml-kem-768")]
    MlKem768,
    /// RSA-4096: Vault's `RSA-OAEP-SHA256(AES-256 key) || AES-KWP(material)`.
    #[serde(rename = "rsa-4096")]
    Rsa4096,
}

/// `GET /v1/kms/wrapping-key` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WrappingKeyQuery {
    /// `ml-kem-768` (default) or `rsa-4096`.
    #[serde(default)]
    pub alg: WrappingAlg,
}

/// A public key of the server (wrapping or attestation key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyPem {
    /// Algorithm identifier.
    pub alg: String,
    /// SPKI PEM.
    pub public_key_pem: String,
}

/// `POST /v1/kms/keys/{name}/import`: key material encrypted to the server's wrapping
/// key (`GET /v1/kms/wrapping-key`), so that it never crosses the wire in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportKey {
    /// Required for symmetric material (`aes-256-gcm`, `hmac-sha256`, ...); for
    /// PKCS#8 material it is checked against the key's own algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// A sealed file (`aunsorm seal --to` the ML-KEM-768 wrapping key) or Vault's
    /// RSA-OAEP + AES-KWP form for the RSA-4096 one.
    pub wrapped: Base64,
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

/// `GET /v1/kms/keys/{name}/export`: the private material of an exportable key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportedKey {
    /// The key.
    pub name: String,
    /// The version exported.
    pub version: u32,
    /// `pkcs8` (DER) for asymmetric keys, `raw` for symmetric ones.
    pub format: String,
    /// The material.
    pub key: SecretBase64,
}

/// `POST /v1/kms/batch`: many operations in one request. Each is authorized, run and
/// audited on its own; one failing does not stop the others. At most 1000.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// The operations, in order.
    pub ops: Vec<BatchOp>,
}

/// One operation of a batch: the body of its single route, with `op` naming it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub enum BatchOp {
    /// As `POST /v1/kms/sign`.
    Sign(Sign),
    /// As `POST /v1/kms/verify`.
    Verify(Verify),
    /// As `POST /v1/kms/encrypt`.
    Encrypt(Encrypt),
    /// As `POST /v1/kms/decrypt`.
    Decrypt(Decrypt),
    /// As `POST /v1/kms/rewrap`.
    Rewrap(Decrypt),
    /// As `POST /v1/kms/datakey`.
    Datakey(Datakey),
    /// As `POST /v1/kms/hmac`.
    Hmac(Hmac),
    /// As `POST /v1/kms/hmac/verify`.
    HmacVerify(HmacVerify),
    /// As `POST /v1/kms/encap`.
    Encap(Encap),
    /// As `POST /v1/kms/decap`.
    Decap(Decap),
    /// As `POST /v1/kms/wrap`.
    Wrap(Wrap),
    /// As `POST /v1/kms/unwrap`.
    Unwrap(Unwrap),
}

/// The answers of a batch, in the order of its operations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchResults {
    /// One per operation.
    pub results: Vec<BatchResult>,
}

/// One answer of a batch: `ok` (the body its single route answers) or `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchResult {
    /// The answer, as its single route gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<BatchOut>,
    /// Why the operation failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::ErrorDetail>,
}

/// The answer of one batch operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum BatchOut {
    /// sign, encrypt, rewrap, hmac, wrap.
    Versioned(Versioned),
    /// verify, hmac_verify.
    Verified(Verified),
    /// decrypt, unwrap, decap.
    Secret(Secret),
    /// datakey.
    Datakey(DatakeyOut),
    /// encap.
    Encapsulated(Encapsulated),
}
