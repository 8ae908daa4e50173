//! `/v1/kms`: keys ([`keys`]), the operations on them ([`ops`]) and their batch form
//! ([`batch`]). Each handler parses its DTO, checks the token's scope on the key, makes
//! one `Kms` call inside [`deferred`] (the answer waits for the audit entry to be
//! durable) and maps the result back.

pub(crate) mod batch;
pub(crate) mod keys;
pub(crate) mod ops;

use crate::auth::{Bearer, Scope};
use crate::{ApiError, AppState, request_id};
use aunsorm_api::Base64;
use aunsorm_api::kms as api;
use aunsorm_kms::{Caller, KeyInfo, KeyName, KeyRef, Kms, VersionState, Versioned, deferred};
use axum::Router;
use axum::routing::{get, post};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/kms/keys", post(keys::create_key).get(keys::list_keys))
        .route(
            "/v1/kms/keys/{name}",
            get(keys::show_key).delete(keys::delete_key),
        )
        .route("/v1/kms/keys/{name}/rotate", post(keys::rotate_key))
        .route("/v1/kms/keys/{name}/config", post(keys::configure_key))
        .route("/v1/kms/keys/{name}/import", post(keys::import_key))
        .route("/v1/kms/keys/{name}/export", get(keys::export_key))
        .route("/v1/kms/keys/{name}/attest", get(keys::attest_key))
        .route(
            "/v1/kms/keys/{name}/versions/{version}/destroy",
            post(keys::destroy_version),
        )
        .route("/v1/kms/wrapping-key", get(keys::wrapping_key))
        .route("/v1/kms/attestation-key", get(keys::attestation_key))
        .route("/v1/kms/sign", post(ops::sign))
        .route("/v1/kms/verify", post(ops::verify))
        .route("/v1/kms/encrypt", post(ops::encrypt))
        .route("/v1/kms/decrypt", post(ops::decrypt))
        .route("/v1/kms/rewrap", post(ops::rewrap))
        .route("/v1/kms/datakey", post(ops::datakey))
        .route("/v1/kms/hmac", post(ops::hmac))
        .route("/v1/kms/hmac/verify", post(ops::hmac_verify))
        .route("/v1/kms/encap", post(ops::encap))
        .route("/v1/kms/decap", post(ops::decap))
        .route("/v1/kms/wrap", post(ops::wrap))
        .route("/v1/kms/unwrap", post(ops::unwrap))
        .route("/v1/kms/batch", post(batch::batch))
}

/// Who is calling, for the audit entries of this request.
fn caller(b: &Bearer) -> Caller {
    Caller {
        token: Some(std::sync::Arc::clone(b.id())),
        request: request_id::current_shared(),
    }
}

/// Checks that the request's token allows `scope` on the key `key`, and returns who is
/// calling, for the audit entry.
pub(crate) fn permit(b: &Bearer, scope: Scope, key: &str) -> Result<Caller, ApiError> {
    b.authorize(scope, Some(key))?;
    Ok(caller(b))
}

/// Runs a fast KMS call on this task and waits (asynchronously) for its audit entry.
pub(crate) async fn run<T>(
    s: &AppState,
    c: Caller,
    f: impl FnOnce(&Kms) -> aunsorm_kms::Result<T>,
) -> Result<T, ApiError> {
    Ok(deferred(c, || f(&s.kms)).await?)
}

/// Runs `f` (which authorizes, then makes its KMS calls) on this task and waits
/// (asynchronously) for the audit entries of what it did.
pub(crate) async fn audited<T>(
    s: &AppState,
    b: &Bearer,
    f: impl FnOnce(&Kms) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    deferred(caller(b), || Ok(f(&s.kms))).await?
}

/// Whether a private-key operation on `key` (a key reference) may run on the request's
/// task: the key is loaded and quick to use ([`Kms::is_quick`]). A reference that does
/// not parse is quick: its error comes at once.
pub(crate) fn quick(s: &AppState, key: &str) -> bool {
    key_ref(key).map_or(true, |k| s.kms.is_quick(&k.name))
}

/// [`audited`] for a private-key operation: on this task when `quick` (see [`quick`]),
/// else on the blocking pool (RSA, SLH-DSA, a key still to be read from storage), where
/// it holds up no other request of this thread.
pub(crate) async fn audited_private<T: Send + 'static>(
    s: &AppState,
    b: Bearer,
    quick: bool,
    f: impl FnOnce(&Kms, &Bearer) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    if quick {
        return audited(s, &b, |k| f(k, &b)).await;
    }
    let kms = s.kms.clone();
    let c = caller(&b);
    let audited = blocking(request_id::carried(move || deferred(c, || Ok(f(&kms, &b))))).await?;
    audited.await?
}

/// Runs a slow KMS call (key generation, RSA) on the blocking pool.
pub(crate) async fn run_blocking<T: Send + 'static>(
    s: &AppState,
    c: Caller,
    f: impl FnOnce(&Kms) -> aunsorm_kms::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let kms = s.kms.clone();
    let audited = blocking(move || deferred(c, || f(&kms))).await?;
    Ok(audited.await?)
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::new("internal", "internal error"))
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
        value: v.to_text(),
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
