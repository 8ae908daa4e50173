//! Aunsorm's HTTP service: one axum router per module, each handler a thin mapping from
//! a request DTO ([`aunsorm_api`]) to one library call and back.
//!
//! A request: request id (taken from `x-request-id` when well formed, else made) ->
//! body limit -> JSON parsed with unknown fields rejected -> the `Kms` operation, run
//! inside [`aunsorm_kms::deferred`] so that the answer waits for its audit entry to be
//! durable without parking a runtime thread -> DTO out. Errors are
//! `{"error": {"code", "message", "request_id"}}` with the status of
//! [`error::status_of`].

#![forbid(unsafe_code)]

pub mod auth;
pub mod error;
mod json;
mod kms;
mod log;
mod openapi;
mod request_id;
mod sys;
mod tokens;

pub use error::ApiError;
pub use kms::key_info;
pub use openapi::openapi;

use aunsorm_kms::Kms;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::sync::Arc;

/// Default largest request body: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The custody core.
    pub kms: Arc<Kms>,
    /// Mints and checks capability tokens.
    pub auth: Arc<auth::TokenAuthority>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppState")
    }
}

/// Settings of the router.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body in bytes.
    pub body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body: DEFAULT_BODY_LIMIT,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets the
/// requests in flight finish, and returns.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The whole API: `/v1/kms`, `/v1/sys`, `/v1/openapi.json`; anything else is a JSON 404
/// (or 405 for a known path with the wrong method).
pub fn router(state: AppState, limits: Limits) -> Router {
    Router::new()
        .nest(
            "/v1/kms",
            kms::router().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                auth::require_token,
            )),
        )
        .nest(
            "/v1/auth",
            tokens::router().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                auth::require_token,
            )),
        )
        .nest(
            "/v1/log",
            log::router().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                auth::require_token,
            )),
        )
        .nest("/v1/sys", sys::router())
        .route(
            "/v1/openapi.json",
            axum::routing::get(|| async { axum::Json(openapi()) }),
        )
        .fallback(|| async { ApiError::new("not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new("method_not_allowed", "method not allowed on this route")
        })
        .with_state(state)
        .layer(DefaultBodyLimit::max(limits.body))
        .layer(axum::middleware::from_fn(request_id::layer))
}
