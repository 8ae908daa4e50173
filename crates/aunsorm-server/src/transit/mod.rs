//! `/v1/transit`: HashiCorp Vault's Transit API over the same keys, tokens and audit
//! log as `/v1/kms`, so that Vault clients (hvac, the Go and Java clients, the `vault`
//! CLI) work unchanged. Every route maps onto the operations of [`crate::kms`]; nothing
//! here implements an operation twice.
//!
//! Vault's wire shapes: a 200 answer is the envelope `{request_id, lease_id, renewable,
//! lease_duration, data, wrap_info, warnings, auth}`, an error is `{"errors": [...]}`
//! with Vault's status (400 bad request, 403 missing or refused token, 404 unknown key
//! or path, 503 sealed). The token comes in `X-Vault-Token` or `Authorization: Bearer`.
//! Ciphertexts and signatures carry Vault's `vault:vN:` prefix here and Aunsorm's
//! `aunsorm:vN:` on `/v1/kms`; either is accepted on both, so data crosses the APIs.

mod keys;
mod ops;
pub(crate) mod sys;
mod tools;

pub(crate) use sys::{init_status, mounts_router, seal_status};

use crate::auth::Bearer;
use crate::{ApiError, AppState};
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};

/// The Transit routes, under `/v1/transit`.
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/transit/keys", any(keys::list))
        .route(
            "/v1/transit/keys/{name}",
            get(keys::read).post(keys::create).delete(keys::delete),
        )
        .route("/v1/transit/keys/{name}/config", post(keys::config))
        .route("/v1/transit/keys/{name}/rotate", post(keys::rotate))
        .route("/v1/transit/encrypt/{name}", ops::route(ops::encrypt_one))
        .route("/v1/transit/decrypt/{name}", ops::route(ops::decrypt_one))
        .route("/v1/transit/rewrap/{name}", ops::route(ops::rewrap_one))
        .route(
            "/v1/transit/datakey/{kind}/{name}",
            ops::route_with(ops::datakey, "kind"),
        )
        .route(
            "/v1/transit/sign/{name}",
            ops::route_with(ops::sign, "hash"),
        )
        .route(
            "/v1/transit/sign/{name}/{hash}",
            ops::route_with(ops::sign, "hash"),
        )
        .route(
            "/v1/transit/verify/{name}",
            ops::route_with(ops::verify, "hash"),
        )
        .route(
            "/v1/transit/verify/{name}/{hash}",
            ops::route_with(ops::verify, "hash"),
        )
        .route(
            "/v1/transit/hmac/{name}",
            ops::route_with(ops::hmac, "algorithm"),
        )
        .route(
            "/v1/transit/hmac/{name}/{algorithm}",
            ops::route_with(ops::hmac, "algorithm"),
        )
        .route("/v1/transit/random", post(tools::random))
        .route("/v1/transit/random/{a}", post(tools::random))
        .route("/v1/transit/random/{a}/{b}", post(tools::random))
        .route("/v1/transit/hash", post(tools::hash))
        .route("/v1/transit/hash/{algorithm}", post(tools::hash))
        .route_layer(crate::auth::RequireToken::vault(state))
        // Any other path under the mount is Vault's 404, without a token check.
        .route("/v1/transit/{*rest}", any(unsupported_path))
}

/// `GET /v1/auth/token/lookup-self`: what Vault clients call to check their token.
pub(crate) fn auth_router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/auth/token/lookup-self", get(lookup_self))
        .route_layer(crate::auth::RequireToken::vault(state))
}

async fn unsupported_path() -> VaultError {
    VaultError::new(StatusCode::NOT_FOUND, "unsupported path")
}

/// Runs the Transit request decoders on arbitrary bytes, for the fuzz target.
pub(crate) fn fuzz_request(data: &[u8]) {
    ops::fuzz(data);
    if let Ok(m) = keys::object(&axum::body::Bytes::copy_from_slice(data)) {
        keys::fuzz(&m);
    }
}

/// Vault's error answer: `{"errors": [message]}`.
#[derive(Debug)]
pub(crate) struct VaultError {
    status: StatusCode,
    message: String,
}

impl VaultError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        VaultError {
            status,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        VaultError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ApiError> for VaultError {
    /// Vault's statuses: a missing or refused token is 403 ("permission denied"), an
    /// unknown key 404 on key paths (400 on operations, see [`ops`]), sealed 503,
    /// everything a caller can fix 400.
    fn from(e: ApiError) -> Self {
        crate::request_id::note_error(e.code);
        let status = match e.code {
            "unauthorized" | "forbidden" => {
                return VaultError::new(StatusCode::FORBIDDEN, "permission denied");
            }
            "no_such_key" | "not_found" => StatusCode::NOT_FOUND,
            "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
            _ => match e.status() {
                s if s.is_server_error() => s,
                _ => StatusCode::BAD_REQUEST,
            },
        };
        VaultError::new(status, e.message)
    }
}

impl From<aunsorm_kms::Error> for VaultError {
    fn from(e: aunsorm_kms::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for VaultError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({ "errors": [self.message] }))).into_response()
    }
}

/// A 200 answer in Vault's envelope.
pub(crate) fn envelope(data: Value) -> Response {
    axum::Json(envelope_value(data)).into_response()
}

/// Vault's envelope around `data`.
fn envelope_value(data: Value) -> Value {
    json!({
        "request_id": crate::request_id::current(),
        "lease_id": "",
        "renewable": false,
        "lease_duration": 0,
        "data": data,
        "wrap_info": null,
        "warnings": null,
        "auth": null,
    })
}

async fn lookup_self(b: Bearer) -> Response {
    let expires = match b.expires() {
        Ok(e) => e,
        Err(e) => return VaultError::from(e).into_response(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    envelope(json!({
        "accessor": &**b.id(),
        "display_name": "aunsorm",
        "entity_id": "",
        "expire_time": expires.map(|t| crate::auth::rfc3339(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(t))),
        "policies": ["default"],
        "renewable": false,
        "ttl": expires.map_or(0, |t| t.saturating_sub(now)),
        "type": "service",
    }))
}

/// `vault:vN:<base64>` as Aunsorm's `aunsorm:vN:<base64>` (the same bytes); Aunsorm's
/// own form passes through.
pub(crate) fn from_vault(s: &str) -> Result<String, VaultError> {
    if let Some(rest) = s.strip_prefix("vault:") {
        Ok(format!("aunsorm:{rest}"))
    } else if s.starts_with("aunsorm:") {
        Ok(s.to_owned())
    } else {
        Err(VaultError::invalid(
            "invalid ciphertext: expected vault:vN:<base64>",
        ))
    }
}

/// Aunsorm's `aunsorm:vN:<base64>` in Vault's form.
pub(crate) fn to_vault(s: &str) -> String {
    s.strip_prefix("aunsorm:")
        .map_or_else(|| s.to_owned(), |rest| format!("vault:{rest}"))
}
