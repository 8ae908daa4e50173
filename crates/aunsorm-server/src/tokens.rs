//! `/v1/auth`: minting and revoking capability tokens. Only an unattenuated token with
//! kms:admin may do either, and a minted token never exceeds its minter: each scope
//! must be one the minter holds on the new prefix, and its lifetime ends no later.

use crate::auth::{Bearer, Scope, TokenSpec};
use crate::json::Json;
use crate::{ApiError, AppState};
use aunsorm_api::auth as api;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use std::time::Duration;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/tokens", post(create_token))
        .route("/v1/auth/tokens/revoke", post(revoke_token))
}

/// Mint a capability token.
#[utoipa::path(post, path = "/v1/auth/tokens", tag = "auth", request_body = api::CreateToken,
    responses((status = 201, body = api::Token), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn create_token(
    State(s): State<AppState>,
    b: Bearer,
    Json(req): Json<api::CreateToken>,
) -> Result<(StatusCode, Json<api::Token>), ApiError> {
    b.require_root("mint tokens")?;
    let scopes = req
        .scopes
        .iter()
        .map(|x| x.parse())
        .collect::<Result<Vec<Scope>, _>>()?;
    for scope in &scopes {
        b.authorize(*scope, Some(&req.prefix))?;
    }
    let ttl = match (req.ttl_secs, b.remaining_secs()) {
        (Some(t), Some(left)) => Some(t.min(left)),
        (None, Some(left)) => Some(left),
        (t, None) => t,
    };
    let (token, id) = s.node.auth()?.mint(&TokenSpec {
        scopes,
        prefix: req.prefix,
        ttl: ttl.map(Duration::from_secs),
    })?;
    Ok((StatusCode::CREATED, Json(api::Token { token, id })))
}

/// Revoke a token id: the token and every attenuation of it.
#[utoipa::path(post, path = "/v1/auth/tokens/revoke", tag = "auth", request_body = api::RevokeToken,
    responses((status = 204), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn revoke_token(
    State(s): State<AppState>,
    b: Bearer,
    Json(req): Json<api::RevokeToken>,
) -> Result<StatusCode, ApiError> {
    b.require_root("revoke tokens")?;
    s.kms.revoke_token(&req.id)?;
    s.node.auth()?.revoke(&req.id);
    Ok(StatusCode::NO_CONTENT)
}
