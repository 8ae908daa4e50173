//! `/v1/kms`: keys and the operations on them. Each handler parses its DTO, makes one
//! `Kms` call inside [`deferred`] (the answer waits for the audit entry to be durable)
//! and maps the result back.

use crate::auth::{Bearer, Scope};
use crate::json::{Json, Query};
use crate::{ApiError, AppState, request_id};
use aunsorm_api::kms as api;
use aunsorm_api::{Base64, SecretBase64};
use aunsorm_crypto::Algorithm;
use aunsorm_kms::{
    Caller, KeyConfig, KeyInfo, KeyName, KeyOptions, KeyRef, Kms, VersionState, Versioned, deferred,
};
use axum::Router;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/keys", post(create_key).get(list_keys))
        .route("/keys/{name}", get(show_key).delete(delete_key))
        .route("/keys/{name}/rotate", post(rotate_key))
        .route("/keys/{name}/config", post(configure_key))
        .route("/sign", post(sign))
        .route("/verify", post(verify))
        .route("/encrypt", post(encrypt))
        .route("/decrypt", post(decrypt))
        .route("/rewrap", post(rewrap))
        .route("/datakey", post(datakey))
        .route("/hmac", post(hmac))
        .route("/hmac/verify", post(hmac_verify))
        .route("/encap", post(encap))
        .route("/decap", post(decap))
        .route("/wrap", post(wrap))
        .route("/unwrap", post(unwrap))
}

/// Checks that the request's token allows `scope` on the key `key`, and returns who is
/// calling, for the audit entry.
fn permit(b: &Bearer, scope: Scope, key: &str) -> Result<Caller, ApiError> {
    let token = b.authorize(scope, Some(key))?;
    Ok(Caller {
        token: Some(token),
        request: Some(request_id::current()),
    })
}

/// Runs a fast KMS call on this task and waits (asynchronously) for its audit entry.
async fn run<T>(
    s: &AppState,
    c: Caller,
    f: impl FnOnce(&Kms) -> aunsorm_kms::Result<T>,
) -> Result<T, ApiError> {
    Ok(deferred(c, || f(&s.kms)).await?)
}

/// Runs a slow KMS call (key generation) on the blocking pool.
async fn run_blocking<T: Send + 'static>(
    s: &AppState,
    c: Caller,
    f: impl FnOnce(&Kms) -> aunsorm_kms::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let kms = s.kms.clone();
    let audited = tokio::task::spawn_blocking(move || deferred(c, || f(&kms)))
        .await
        .map_err(|_| ApiError::new("internal", "internal error"))?;
    Ok(audited.await?)
}

fn name(s: &str) -> Result<KeyName, ApiError> {
    s.parse().map_err(ApiError::from)
}

fn key_ref(s: &str) -> Result<KeyRef, ApiError> {
    s.parse().map_err(ApiError::from)
}

fn versioned(s: &str, what: &str) -> Result<Versioned, ApiError> {
    s.parse()
        .map_err(|_| ApiError::invalid(format!("{what}: expected aunsorm:vN:<base64>")))
}

fn bytes(b: Option<&Base64>) -> &[u8] {
    b.map_or(&[], |b| &b.0)
}

fn out(v: &Versioned) -> api::Versioned {
    api::Versioned {
        value: v.to_string(),
        version: v.version,
    }
}

/// A key as the API shows it (also what `aunsorm key show --format json` prints locally).
#[must_use]
pub fn key_info(i: &KeyInfo) -> api::KeyInfo {
    let state = |st: VersionState| match st {
        VersionState::Active => "active",
        VersionState::DecryptOnly => "decrypt-only",
        VersionState::Disabled => "disabled",
        VersionState::Destroyed => "destroyed",
        _ => "unknown",
    };
    let p = &i.policy;
    api::KeyInfo {
        name: i.name.to_string(),
        alg: i.alg.id().to_owned(),
        purpose: format!("{:?}", p.purpose).to_lowercase(),
        min_decryption_version: p.min_decryption_version,
        min_encryption_version: p.min_encryption_version,
        exportable: p.exportable,
        deletion_allowed: p.deletion_allowed,
        auto_rotate_secs: p.auto_rotate_secs,
        created_at: i.created_at,
        not_after: i.not_after,
        latest_version: i.latest_version(),
        versions: i
            .versions
            .iter()
            .map(|v| api::VersionInfo {
                version: v.number,
                state: state(v.state).to_owned(),
                created_at: v.created_at,
                public_key: (!v.public_key.is_empty()).then(|| Base64(v.public_key.clone())),
            })
            .collect(),
    }
}

/// Create a key.
#[utoipa::path(post, path = "/v1/kms/keys", tag = "kms", request_body = api::CreateKey,
    responses((status = 201, body = api::KeyInfo), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn create_key(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
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
    Extension(b): Extension<Bearer>,
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
    Extension(b): Extension<Bearer>,
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
    Extension(b): Extension<Bearer>,
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
    Extension(b): Extension<Bearer>,
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
    Extension(b): Extension<Bearer>,
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

/// Sign a message.
#[utoipa::path(post, path = "/v1/kms/sign", tag = "kms", request_body = api::Sign,
    responses((status = 200, body = api::Versioned), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn sign(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
    Json(req): Json<api::Sign>,
) -> Result<Json<api::Versioned>, ApiError> {
    let key = key_ref(&req.key)?;
    let c = permit(&b, Scope::KmsSign, key.name.as_str())?;
    let sig = run(&s, c, |k| {
        k.sign(&key, &req.message.0, bytes(req.context.as_ref()))
    })
    .await?;
    Ok(Json(out(&sig)))
}

/// Verify a signature.
#[utoipa::path(post, path = "/v1/kms/verify", tag = "kms", request_body = api::Verify,
    responses((status = 200, body = api::Verified), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn verify(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
    Json(req): Json<api::Verify>,
) -> Result<Json<api::Verified>, ApiError> {
    let key = key_ref(&req.key)?;
    let c = permit(&b, Scope::KmsSign, key.name.as_str())?;
    let sig = versioned(&req.signature, "signature")?;
    let valid = run(&s, c, |k| {
        k.verify(&key, &req.message.0, &sig, bytes(req.context.as_ref()))
    })
    .await?;
    Ok(Json(api::Verified { valid }))
}

/// Encrypt with an AEAD key.
#[utoipa::path(post, path = "/v1/kms/encrypt", tag = "kms", request_body = api::Encrypt,
    responses((status = 200, body = api::Versioned), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn encrypt(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
    Json(req): Json<api::Encrypt>,
) -> Result<Json<api::Versioned>, ApiError> {
    let key = key_ref(&req.key)?;
    let c = permit(&b, Scope::KmsEncrypt, key.name.as_str())?;
    let ct = run(&s, c, |k| {
        k.encrypt(&key, &req.plaintext.0, bytes(req.aad.as_ref()))
    })
    .await?;
    Ok(Json(out(&ct)))
}

/// Decrypt a ciphertext.
#[utoipa::path(post, path = "/v1/kms/decrypt", tag = "kms", request_body = api::Decrypt,
    responses((status = 200, body = api::Secret), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn decrypt(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
    Json(req): Json<api::Decrypt>,
) -> Result<Json<api::Secret>, ApiError> {
    let n = name(&req.key)?;
    let c = permit(&b, Scope::KmsEncrypt, n.as_str())?;
    let ct = versioned(&req.ciphertext, "ciphertext")?;
    let pt = run(&s, c, |k| k.decrypt(&n, &ct, bytes(req.aad.as_ref()))).await?;
    Ok(Json(api::Secret {
        secret: SecretBase64::from(pt.expose()),
    }))
}

/// Re-encrypt a ciphertext under the key's newest version.
#[utoipa::path(post, path = "/v1/kms/rewrap", tag = "kms", request_body = api::Decrypt,
    responses((status = 200, body = api::Versioned), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn rewrap(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
    Json(req): Json<api::Decrypt>,
) -> Result<Json<api::Versioned>, ApiError> {
    let n = name(&req.key)?;
    let c = permit(&b, Scope::KmsEncrypt, n.as_str())?;
    let ct = versioned(&req.ciphertext, "ciphertext")?;
    let ct = run(&s, c, |k| k.rewrap(&n, &ct, bytes(req.aad.as_ref()))).await?;
    Ok(Json(out(&ct)))
}

/// A fresh data key, in the clear and wrapped under the key.
#[utoipa::path(post, path = "/v1/kms/datakey", tag = "kms", request_body = api::Datakey,
    responses((status = 200, body = api::DatakeyOut), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn datakey(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
    Json(req): Json<api::Datakey>,
) -> Result<Json<api::DatakeyOut>, ApiError> {
    let key = key_ref(&req.key)?;
    let c = permit(&b, Scope::KmsEncrypt, key.name.as_str())?;
    let (dk, ct) = run(&s, c, |k| {
        k.datakey(&key, req.bytes.unwrap_or(32), bytes(req.aad.as_ref()))
    })
    .await?;
    Ok(Json(api::DatakeyOut {
        plaintext: (!req.wrapped_only).then(|| SecretBase64::from(dk.expose())),
        ciphertext: ct.to_string(),
        version: ct.version,
    }))
}

/// An HMAC of a message.
#[utoipa::path(post, path = "/v1/kms/hmac", tag = "kms", request_body = api::Hmac,
    responses((status = 200, body = api::Versioned), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn hmac(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
    Json(req): Json<api::Hmac>,
) -> Result<Json<api::Versioned>, ApiError> {
    let key = key_ref(&req.key)?;
    let c = permit(&b, Scope::KmsSign, key.name.as_str())?;
    let tag = run(&s, c, |k| k.hmac(&key, &req.message.0)).await?;
    Ok(Json(out(&tag)))
}

/// Check an HMAC (in constant time).
#[utoipa::path(post, path = "/v1/kms/hmac/verify", tag = "kms", request_body = api::HmacVerify,
    responses((status = 200, body = api::Verified), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn hmac_verify(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
    Json(req): Json<api::HmacVerify>,
) -> Result<Json<api::Verified>, ApiError> {
    let n = name(&req.key)?;
    let c = permit(&b, Scope::KmsSign, n.as_str())?;
    let tag = versioned(&req.mac, "mac")?;
    let valid = run(&s, c, |k| k.verify_hmac(&n, &req.message.0, &tag)).await?;
    Ok(Json(api::Verified { valid }))
}

/// Encapsulate a shared secret to a KEM key.
#[utoipa::path(post, path = "/v1/kms/encap", tag = "kms", request_body = api::Encap,
    responses((status = 200, body = api::Encapsulated), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn encap(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
    Json(req): Json<api::Encap>,
) -> Result<Json<api::Encapsulated>, ApiError> {
    let key = key_ref(&req.key)?;
    let c = permit(&b, Scope::KmsWrap, key.name.as_str())?;
    let (ss, ct) = run(&s, c, |k| k.encapsulate(&key)).await?;
    Ok(Json(api::Encapsulated {
        shared_secret: SecretBase64::from(ss.expose()),
        ciphertext: ct.to_string(),
        version: ct.version,
    }))
}

/// Decapsulate a KEM ciphertext.
#[utoipa::path(post, path = "/v1/kms/decap", tag = "kms", request_body = api::Decap,
    responses((status = 200, body = api::Secret), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn decap(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
    Json(req): Json<api::Decap>,
) -> Result<Json<api::Secret>, ApiError> {
    let n = name(&req.key)?;
    let c = permit(&b, Scope::KmsWrap, n.as_str())?;
    let ct = versioned(&req.ciphertext, "ciphertext")?;
    let ss = run(&s, c, |k| k.decapsulate(&n, &ct)).await?;
    Ok(Json(api::Secret {
        secret: SecretBase64::from(ss.expose()),
    }))
}

/// Wrap a secret (key material) under a key.
#[utoipa::path(post, path = "/v1/kms/wrap", tag = "kms", request_body = api::Wrap,
    responses((status = 200, body = api::Versioned), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn wrap(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
    Json(req): Json<api::Wrap>,
) -> Result<Json<api::Versioned>, ApiError> {
    let key = key_ref(&req.key)?;
    let c = permit(&b, Scope::KmsWrap, key.name.as_str())?;
    let w = run(&s, c, |k| {
        k.wrap(&key, &req.secret.0, bytes(req.aad.as_ref()))
    })
    .await?;
    Ok(Json(out(&w)))
}

/// Unwrap a wrapped secret.
#[utoipa::path(post, path = "/v1/kms/unwrap", tag = "kms", request_body = api::Unwrap,
    responses((status = 200, body = api::Secret), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn unwrap(
    State(s): State<AppState>,
    Extension(b): Extension<Bearer>,
    Json(req): Json<api::Unwrap>,
) -> Result<Json<api::Secret>, ApiError> {
    let n = name(&req.key)?;
    let c = permit(&b, Scope::KmsWrap, n.as_str())?;
    let w = versioned(&req.wrapped, "wrapped")?;
    let secret = run(&s, c, |k| k.unwrap(&n, &w, bytes(req.aad.as_ref()))).await?;
    Ok(Json(api::Secret {
        secret: SecretBase64::from(secret.expose()),
    }))
}
