//! What Vault clients touch under `/v1/sys` on their way in: `GET init`, `GET
//! seal-status` (both tokenless, as in Vault), `GET mounts` (reporting `transit/`) and
//! `POST mounts/transit` (already mounted). `/v1/sys/health` itself is Aunsorm's, with
//! Vault's fields and statuses (see [`crate::sys`]).

use super::{VaultError, envelope_value};
use crate::AppState;
use aunsorm_api::sys::InitStatus;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// Whether a root key exists (Vault's `GET /v1/sys/init`; no token, as in Vault).
#[utoipa::path(get, path = "/v1/sys/init", tag = "sys",
    responses((status = 200, body = InitStatus)))]
pub(crate) async fn init_status(State(s): State<AppState>) -> Response {
    match crate::sys::health_of(&s) {
        Ok(h) => axum::Json(InitStatus {
            initialized: h.initialized,
        })
        .into_response(),
        Err(e) => VaultError::from(e).into_response(),
    }
}

/// `GET /v1/sys/seal-status`, in Vault's shape.
pub(crate) async fn seal_status(State(s): State<AppState>) -> Response {
    let h = match crate::sys::health_of(&s) {
        Ok(h) => h,
        Err(e) => return VaultError::from(e).into_response(),
    };
    let kind = match h.mode.as_deref() {
        Some("shares") | None => "shamir",
        Some(other) => other,
    };
    axum::Json(json!({
        "type": kind,
        "initialized": h.initialized,
        "sealed": h.sealed,
        "t": h.threshold.unwrap_or(1),
        "n": h.shares.unwrap_or(1),
        "progress": h.progress,
        "nonce": "",
        "version": h.version,
        "build_date": "",
        "migration": false,
        "recovery_seal": false,
        "storage_type": "aunsorm",
    }))
    .into_response()
}

/// `GET /v1/sys/mounts` and `POST /v1/sys/mounts/{path}`, with a token.
pub(crate) fn mounts_router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/sys/mounts", get(mounts))
        .route("/v1/sys/mounts/{*path}", post(mount))
        .route_layer(crate::auth::RequireToken::vault(state))
}

fn transit_mount() -> Value {
    json!({
        "accessor": "transit_aunsorm",
        "config": { "default_lease_ttl": 0, "max_lease_ttl": 0, "force_no_cache": false },
        "description": "Aunsorm's keys, through Vault's Transit API",
        "external_entropy_access": false,
        "local": false,
        "options": null,
        "plugin_version": "",
        "running_plugin_version": concat!("v", env!("CARGO_PKG_VERSION"), "+aunsorm"),
        "running_sha256": "",
        "seal_wrap": false,
        "type": "transit",
        "uuid": "",
    })
}

/// The engines mounted: `transit/` alone. Vault answers the mounts both at the top
/// level and under `data`; so does this.
async fn mounts() -> Response {
    let mut v = envelope_value(json!({ "transit/": transit_mount() }));
    v["transit/"] = transit_mount();
    axum::Json(v).into_response()
}

/// Enabling an engine: `transit/` is always mounted (Vault's answer for a path in use);
/// no other engine exists here.
async fn mount(Path(path): Path<String>) -> VaultError {
    let path = path.trim_end_matches('/');
    if path == "transit" {
        VaultError::invalid("path is already in use at transit/")
    } else {
        VaultError::invalid(format!(
            "aunsorm serves only the transit engine, at transit/ (not {path}/)"
        ))
    }
}
