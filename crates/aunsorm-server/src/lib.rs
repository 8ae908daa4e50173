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
pub mod config;
pub mod error;
mod ids;
mod json;
mod kms;
pub mod limits;
mod log;
pub mod node;
pub mod obs;
mod openapi;
mod request_id;
mod sys;
mod tokens;
mod transit;

/// Entry points for the fuzz targets (`fuzz/`): untrusted request decoders, on arbitrary
/// bytes. Not a stable interface.
#[doc(hidden)]
pub mod fuzzing {
    /// The Transit API's request decoders (JSON body, fields, batch items, signing
    /// options, `vault:` forms).
    pub fn transit_request(data: &[u8]) {
        crate::transit::fuzz_request(data);
    }

    /// The capability token check: arbitrary text as a bearer token, and a root token
    /// narrowed by checks made from the input.
    pub fn bearer_token(data: &[u8]) {
        crate::auth::fuzz_token(data);
    }
}
pub mod transport;

pub use error::ApiError;
pub use kms::key_info;
pub use limits::{DEFAULT_BODY_LIMIT, Limits};
pub use node::Node;
pub use openapi::openapi;
pub use transport::{Transport, Workers, serve, serve_on};

use aunsorm_kms::Kms;
use axum::Router;
use std::sync::Arc;

/// What the handlers share: one reference count, since axum clones the state for
/// every extractor and layer that takes it (each clone and drop of a state of several
/// `Arc`s was an atomic operation per field on a shared cache line).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

/// The contents of [`AppState`].
pub struct AppStateInner {
    /// The custody core (the node's).
    pub kms: Arc<Kms>,
    /// The node: KMS, log, checkpoint file, token authority.
    pub node: Arc<Node>,
    pub(crate) limits: Arc<limits::Guard>,
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

impl AppState {
    /// The state of a router over `node`.
    #[must_use]
    pub fn new(node: Arc<Node>, limits: Limits) -> AppState {
        AppState(Arc::new(AppStateInner {
            kms: Arc::clone(node.kms()),
            node,
            limits: Arc::new(limits::Guard::new(limits)),
        }))
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppState")
    }
}

/// The whole API: `/v1/kms`, `/v1/auth`, `/v1/log`, `/v1/sys`, `/v1/rng`, `/v1/id`,
/// Vault's Transit API under `/v1/transit`, `/v1/openapi.json` and `/metrics`; anything
/// else is a JSON 404 (or 405 for a known path with the wrong method).
pub fn router(state: AppState) -> Router {
    let token = || auth::RequireToken::new(&state);
    // Each module's router names its routes in full and is merged, not nested: a nested
    // route carries two more layers per request (one rebuilds the URI without the
    // prefix, one inserts an extension), for nothing here.
    let routes = Router::new()
        .merge(kms::router().route_layer(token()))
        .merge(tokens::router().route_layer(token()))
        .merge(transit::auth_router(&state))
        .merge(transit::router(&state))
        .merge(log::router().route_layer(token()))
        .merge(ids::rng_router().route_layer(token()))
        .merge(ids::id_router().route_layer(token()))
        .merge(sys::router(&state))
        .route(
            "/v1/openapi.json",
            axum::routing::get(|| async { axum::Json(openapi()) }),
        )
        .route(
            "/metrics",
            axum::routing::get(|| async {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    obs::render_metrics(),
                )
            }),
        )
        .fallback(|| async { ApiError::new("not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new("method_not_allowed", "method not allowed on this route")
        })
        .with_state(state.clone());
    // Around every route and the fallbacks: the request context, the limits (the body
    // limit among them: one layer, where `DefaultBodyLimit` as a layer of its own
    // wrapped every route once more), and the access log.
    routes.layer(request_id::OuterLayer(Arc::clone(&state.limits)))
}
