//! `/v1/sys`: health, and the root key's life: init, unseal, seal.
//!
//! `init` and `unseal` take no token (there is none to check before the root key is
//! open, as with Vault); `seal` takes an unattenuated `kms:admin` token.

use crate::auth::Bearer;
use crate::json::{Json, Query};
use crate::node::{self, Node};
use crate::{ApiError, AppState};
use aunsorm_api::SecretText;
use aunsorm_api::sys::{Health, HealthQuery, Init, Initialized, Unseal, UnsealProgress};
use aunsorm_kms::RootMode;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::sync::Arc;

pub(crate) fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/sys/health", get(health))
        .route("/v1/sys/init", post(init).get(crate::transit::init_status))
        .route("/v1/sys/seal-status", get(crate::transit::seal_status))
        .route("/v1/sys/unseal", post(unseal))
        .merge(crate::transit::mounts_router(state))
        .merge(
            Router::new()
                .route("/v1/sys/seal", post(seal))
                .route_layer(crate::auth::RequireToken::new(state)),
        )
}

/// Whether the server is initialized and unsealed, with Vault's statuses (so that load
/// balancers and Vault clients read it as they read Vault's): 200 unsealed, 503 sealed,
/// 501 not initialized, each overridable with `activecode`, `sealedcode`, `uninitcode`.
/// `HEAD` answers the status alone. (The overrides are Vault's and are left out of the
/// OpenAPI document: a status chosen by the caller fits no response schema.)
#[utoipa::path(get, path = "/v1/sys/health", tag = "sys",
    responses((status = 200, body = Health), (status = 501, body = Health),
        (status = 503, body = Health), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn health(
    State(s): State<AppState>,
    Query(q): Query<HealthQuery>,
) -> Result<(StatusCode, Json<Health>), ApiError> {
    let h = health_of(&s)?;
    let code = if !h.initialized {
        q.uninitcode.unwrap_or(501)
    } else if h.sealed {
        q.sealedcode.unwrap_or(503)
    } else {
        q.activecode.unwrap_or(200)
    };
    let code = StatusCode::from_u16(code)
        .ok()
        .filter(|c| (200..600).contains(&c.as_u16()))
        .ok_or_else(|| ApiError::invalid("status codes must be 200 to 599"))?;
    Ok((code, Json(h)))
}

/// The server's state, as `/v1/sys/health` and Vault's `seal-status` show it.
pub(crate) fn health_of(s: &AppState) -> Result<Health, ApiError> {
    let st = s.kms.status()?;
    let (mode, threshold, shares) = match st.mode {
        None => (None, None, None),
        Some(RootMode::Passphrase) => (Some("passphrase"), None, None),
        Some(RootMode::Shares { threshold, shares }) => {
            (Some("shares"), Some(threshold), Some(shares))
        }
        Some(_) => (Some("amnesia"), None, None),
    };
    Ok(Health {
        initialized: st.initialized,
        sealed: st.sealed,
        mode: mode.map(str::to_owned),
        threshold,
        shares,
        progress: st.progress,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        standby: false,
        server_time_utc: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    })
}

/// Runs a slow lifecycle step (Argon2id, key generation) on the blocking pool.
async fn blocking<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce(&Node) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let node = Arc::clone(&s.node);
    tokio::task::spawn_blocking(move || f(&node))
        .await
        .map_err(|_| ApiError::new("internal", "lifecycle task failed"))?
}

fn secret(t: SecretText) -> zeroize::Zeroizing<String> {
    t.0
}

/// Create the root key (under unseal shares or a passphrase), unseal, and return the
/// shares and a root token, once.
#[utoipa::path(post, path = "/v1/sys/init", tag = "sys", request_body = Init,
    responses((status = 200, body = Initialized), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn init(
    State(s): State<AppState>,
    Json(req): Json<Init>,
) -> Result<Json<Initialized>, ApiError> {
    let how = match (req.shares, req.threshold, req.passphrase) {
        (Some(shares), Some(threshold), None) => node::Init::Shares { shares, threshold },
        (None, None, Some(p)) => node::Init::Passphrase(secret(p)),
        _ => {
            return Err(ApiError::invalid(
                "give either shares and threshold, or a passphrase",
            ));
        }
    };
    let (out, findings) = blocking(&s, move |n| n.init(how)).await?;
    crate::obs::rollback_findings(&findings);
    Ok(Json(Initialized {
        shares: out.shares.into_iter().map(SecretText).collect(),
        root_token: SecretText(out.root_token),
        root_token_id: out.root_token_id,
    }))
}

/// Submit one unseal share, or the passphrase. Answers where the unseal stands.
#[utoipa::path(post, path = "/v1/sys/unseal", tag = "sys", request_body = Unseal,
    responses((status = 200, body = UnsealProgress), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn unseal(
    State(s): State<AppState>,
    Json(req): Json<Unseal>,
) -> Result<Json<UnsealProgress>, ApiError> {
    let how = match (req.share, req.passphrase) {
        (Some(sh), None) => node::Unseal::Share(secret(sh)),
        (None, Some(p)) => node::Unseal::Passphrase(secret(p)),
        _ => return Err(ApiError::invalid("give either a share or the passphrase")),
    };
    let (p, findings) = blocking(&s, move |n| n.unseal(how)).await?;
    crate::obs::rollback_findings(&findings);
    Ok(Json(UnsealProgress {
        sealed: p.sealed,
        progress: p.have,
        threshold: p.need,
    }))
}

/// Seal: save the checkpoint, close the log, zeroize the root and every key. Takes an
/// unattenuated `kms:admin` token.
#[utoipa::path(post, path = "/v1/sys/seal", tag = "sys",
    responses((status = 204), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn seal(State(s): State<AppState>, b: Bearer) -> Result<StatusCode, ApiError> {
    b.require_root("seal")?;
    blocking(&s, |n| {
        n.seal();
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
