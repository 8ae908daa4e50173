//! `/v1/sys`: health.

use crate::json::Json;
use crate::{ApiError, AppState};
use aunsorm_api::sys::Health;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// Whether the server is initialized and unsealed. Always 200 while it answers.
#[utoipa::path(get, path = "/v1/sys/health", tag = "sys",
    responses((status = 200, body = Health)))]
pub(crate) async fn health(State(s): State<AppState>) -> Result<Json<Health>, ApiError> {
    let st = s.kms.status()?;
    Ok(Json(Health {
        initialized: st.initialized,
        sealed: st.sealed,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }))
}
