//! Keys: create, list, show, delete, rotate, configure, import, export, destroy a
//! version, attest; and the server's wrapping and attestation public keys.

use super::{blocking, key_info, name, permit, run, run_blocking};
use crate::auth::{Bearer, Scope};
use crate::json::{Json, Path, Query};
use crate::{ApiError, AppState};
use aunsorm_api::kms as api;
use aunsorm_api::{Base64, SecretBase64};
use aunsorm_crypto::Algorithm;
use aunsorm_kms::{KeyConfig, KeyOptions, KeyRef, WrappingKeyAlg};
use axum::extract::State;
use axum::http::StatusCode;

/// Create a key.
#[utoipa::path(post, path = "/v1/kms/keys", tag = "kms", request_body = api::CreateKey,
    responses((status = 201, body = api::KeyInfo), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn create_key(
    State(s): State<AppState>,
    b: Bearer,
    Json(req): Json<api::CreateKey>,
) -> Result<(StatusCode, Json<api::KeyInfo>), ApiError> {
    let n = name(&req.name)?;
    let c = permit(&b, Scope::KmsAdmin, &req.name)?;
    let alg: Algorithm = req
        .alg
        .parse()
        .map_err(|e: aunsorm_crypto::Error| ApiError::from(aunsorm_kms::Error::from(e)))?;
    let opts = KeyOptions {
        exportable: req.exportable,
        deletion_allowed: req.deletion_allowed,
        not_after: req.not_after,
        auto_rotate_secs: req.auto_rotate_secs,
    };
    let info = run_blocking(&s, c, move |k| k.create(&n, alg, &opts)).await?;
    Ok((StatusCode::CREATED, Json(key_info(&info))))
}

/// List key names.
#[utoipa::path(get, path = "/v1/kms/keys", tag = "kms", params(api::ListKeys),
    responses((status = 200, body = api::KeyList), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn list_keys(
    State(s): State<AppState>,
    b: Bearer,
    Query(q): Query<api::ListKeys>,
) -> Result<Json<api::KeyList>, ApiError> {
    permit(&b, Scope::KmsRead, &q.prefix)?;
    let limit = q.limit.unwrap_or(1000).clamp(1, 1000);
    let keys = s.kms.list(&q.prefix, q.after.as_deref(), limit)?;
    let next = (keys.len() == limit)
        .then(|| keys.last().cloned())
        .flatten();
    Ok(Json(api::KeyList { keys, next }))
}

/// A key's policy and versions.
#[utoipa::path(get, path = "/v1/kms/keys/{name}", tag = "kms",
    params(("name" = String, Path, description = "key name; `/` in a tenant prefix as %2F")),
    responses((status = 200, body = api::KeyInfo), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn show_key(
    State(s): State<AppState>,
    b: Bearer,
    Path(n): Path<String>,
) -> Result<Json<api::KeyInfo>, ApiError> {
    let n = name(&n)?;
    permit(&b, Scope::KmsRead, n.as_str())?;
    Ok(Json(key_info(&s.kms.info(&n)?)))
}

/// Delete a key (only when its policy allows deletion).
#[utoipa::path(delete, path = "/v1/kms/keys/{name}", tag = "kms",
    params(("name" = String, Path, description = "key name")),
    responses((status = 204), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn delete_key(
    State(s): State<AppState>,
    b: Bearer,
    Path(n): Path<String>,
) -> Result<StatusCode, ApiError> {
    let n = name(&n)?;
    let c = permit(&b, Scope::KmsAdmin, n.as_str())?;
    run(&s, c, |k| k.delete(&n)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a new version; it becomes the one used for new ciphertexts and signatures.
#[utoipa::path(post, path = "/v1/kms/keys/{name}/rotate", tag = "kms",
    params(("name" = String, Path, description = "key name")),
    responses((status = 200, body = api::Rotated), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn rotate_key(
    State(s): State<AppState>,
    b: Bearer,
    Path(n): Path<String>,
) -> Result<Json<api::Rotated>, ApiError> {
    let n = name(&n)?;
    let c = permit(&b, Scope::KmsRotate, n.as_str())?;
    let shown = n.to_string();
    let version = run_blocking(&s, c, move |k| k.rotate(&n)).await?;
    Ok(Json(api::Rotated {
        name: shown,
        version,
    }))
}

/// Change a key's policy.
#[utoipa::path(post, path = "/v1/kms/keys/{name}/config", tag = "kms", request_body = api::ConfigureKey,
    params(("name" = String, Path, description = "key name")),
    responses((status = 200, body = api::KeyInfo), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn configure_key(
    State(s): State<AppState>,
    b: Bearer,
    Path(n): Path<String>,
    Json(req): Json<api::ConfigureKey>,
) -> Result<Json<api::KeyInfo>, ApiError> {
    let n = name(&n)?;
    let c = permit(&b, Scope::KmsAdmin, n.as_str())?;
    let cfg = KeyConfig {
        min_decryption_version: req.min_decryption_version,
        min_encryption_version: req.min_encryption_version,
        deletion_allowed: req.deletion_allowed,
        exportable: req.exportable,
        auto_rotate_secs: req.auto_rotate_secs,
        not_after: req.not_after,
    };
    let info = run(&s, c, |k| k.configure(&n, &cfg)).await?;
    Ok(Json(key_info(&info)))
}

/// Import key material encrypted to the server's wrapping key.
#[utoipa::path(post, path = "/v1/kms/keys/{name}/import", tag = "kms", request_body = api::ImportKey,
    params(("name" = String, Path, description = "key name")),
    responses((status = 201, body = api::KeyInfo), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn import_key(
    State(s): State<AppState>,
    b: Bearer,
    Path(n): Path<String>,
    Json(req): Json<api::ImportKey>,
) -> Result<(StatusCode, Json<api::KeyInfo>), ApiError> {
    let n = name(&n)?;
    let c = permit(&b, Scope::KmsAdmin, n.as_str())?;
    let alg: Option<Algorithm> = req
        .alg
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: aunsorm_crypto::Error| ApiError::from(e))?;
    let opts = KeyOptions {
        exportable: req.exportable,
        deletion_allowed: req.deletion_allowed,
        not_after: req.not_after,
        auto_rotate_secs: req.auto_rotate_secs,
    };
    let wrapped = req.wrapped.0;
    let info = run_blocking(&s, c, move |k| k.import_wrapped(&n, alg, &wrapped, &opts)).await?;
    Ok((StatusCode::CREATED, Json(key_info(&info))))
}

/// Export the private material of an exportable key (audited).
#[utoipa::path(get, path = "/v1/kms/keys/{name}/export", tag = "kms",
    params(("name" = String, Path, description = "key name"), api::VersionQuery),
    responses((status = 200, body = api::ExportedKey), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn export_key(
    State(s): State<AppState>,
    b: Bearer,
    Path(n): Path<String>,
    Query(q): Query<api::VersionQuery>,
) -> Result<Json<api::ExportedKey>, ApiError> {
    let n = name(&n)?;
    let c = permit(&b, Scope::KmsAdmin, n.as_str())?;
    let key = KeyRef {
        name: n,
        version: q.version,
    };
    let (secret, info) = run(&s, c, |k| Ok((k.export(&key)?, k.info(&key.name)?))).await?;
    let symmetric = info.versions.iter().all(|v| v.public_key.is_empty());
    Ok(Json(api::ExportedKey {
        name: key.name.to_string(),
        version: q.version.unwrap_or_else(|| info.latest_version()),
        format: if symmetric { "raw" } else { "pkcs8" }.to_owned(),
        key: SecretBase64::from(secret.expose()),
    }))
}

/// Destroy one version's material for good (its record stays, marked destroyed).
#[utoipa::path(post, path = "/v1/kms/keys/{name}/versions/{version}/destroy", tag = "kms",
    params(("name" = String, Path, description = "key name"), ("version" = u32, Path, description = "the version")),
    responses((status = 200, body = api::KeyInfo), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn destroy_version(
    State(s): State<AppState>,
    b: Bearer,
    Path((n, version)): Path<(String, u32)>,
) -> Result<Json<api::KeyInfo>, ApiError> {
    let n = name(&n)?;
    let c = permit(&b, Scope::KmsAdmin, n.as_str())?;
    let info = run(&s, c, |k| {
        k.destroy_version(&n, version)?;
        k.info(&n)
    })
    .await?;
    Ok(Json(key_info(&info)))
}

/// A statement about a key version signed by the server's attestation key.
#[utoipa::path(get, path = "/v1/kms/keys/{name}/attest", tag = "kms",
    params(("name" = String, Path, description = "key name"), api::VersionQuery),
    responses((status = 200, body = api::Attestation), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn attest_key(
    State(s): State<AppState>,
    b: Bearer,
    Path(n): Path<String>,
    Query(q): Query<api::VersionQuery>,
) -> Result<Json<api::Attestation>, ApiError> {
    let n = name(&n)?;
    let c = permit(&b, Scope::KmsRead, n.as_str())?;
    let key = KeyRef {
        name: n,
        version: q.version,
    };
    let a = run_blocking(&s, c, move |k| k.attest(&key)).await?;
    Ok(Json(api::Attestation {
        statement: a.statement,
        signature: Base64(a.signature),
        signer: a.signer.to_spki_pem()?,
        context: String::from_utf8_lossy(aunsorm_kms::ATTESTATION_CONTEXT).into_owned(),
    }))
}

/// The public key to wrap imported key material to. Any valid token may read it.
#[utoipa::path(get, path = "/v1/kms/wrapping-key", tag = "kms", params(api::WrappingKeyQuery),
    responses((status = 200, body = api::PublicKeyPem), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn wrapping_key(
    State(s): State<AppState>,
    Query(q): Query<api::WrappingKeyQuery>,
) -> Result<Json<api::PublicKeyPem>, ApiError> {
    let (alg, id) = match q.alg {
        api::WrappingAlg::MlKem768 => (WrappingKeyAlg::MlKem768, "ml-kem-768"),
        api::WrappingAlg::Rsa4096 => (WrappingKeyAlg::Rsa4096, "rsa-4096"),
    };
    let kms = s.kms.clone();
    let key = blocking(move || kms.wrapping_key(alg)).await??;
    Ok(Json(api::PublicKeyPem {
        alg: id.to_owned(),
        public_key_pem: key.to_spki_pem()?,
    }))
}

/// The server's attestation public key (ML-DSA-65). Any valid token may read it.
#[utoipa::path(get, path = "/v1/kms/attestation-key", tag = "kms",
    responses((status = 200, body = api::PublicKeyPem), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn attestation_key(
    State(s): State<AppState>,
) -> Result<Json<api::PublicKeyPem>, ApiError> {
    let kms = s.kms.clone();
    let key = blocking(move || kms.attestation_key()).await??;
    Ok(Json(api::PublicKeyPem {
        alg: "ml-dsa-65".to_owned(),
        public_key_pem: key.to_spki_pem()?,
    }))
}
