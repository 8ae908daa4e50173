//! `/v1/log`: the transparency log as tlog-tiles serves it (the signed checkpoint, hash
//! tiles, entry bundles) and Merkle proofs. Scope log:read.

use crate::auth::{Bearer, Scope};
use crate::json::{Json, Path, Query};
use crate::{ApiError, AppState};
use aunsorm_api::Base64;
use aunsorm_api::log as api;
use aunsorm_log::tiles::{TILE_WIDTH, TileRequest, parse_tile_path};
use aunsorm_log::{Log, LogError};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/log/checkpoint", get(checkpoint))
        .route("/v1/log/keys", get(keys))
        .route("/v1/log/tile/{*path}", get(tile))
        .route("/v1/log/proof/inclusion", get(inclusion))
        .route("/v1/log/proof/consistency", get(consistency))
}

fn open(s: &AppState, b: &Bearer) -> Result<Arc<Log>, ApiError> {
    b.authorize(Scope::LogRead, None)?;
    s.kms
        .log()
        .ok_or_else(|| ApiError::new("not_found", "this server has no transparency log"))
}

fn log_error(e: &LogError, beyond: &'static str) -> ApiError {
    match e {
        LogError::InvalidInput(m) if beyond == "not_found" => ApiError::new("not_found", m.clone()),
        LogError::InvalidInput(m) => ApiError::invalid(m),
        LogError::Closed | LogError::Storage(_) => {
            ApiError::new("storage", "storage or audit log unavailable, retry later")
        }
        _ => ApiError::new("internal", "internal error"),
    }
}

/// The latest signed checkpoint (C2SP tlog-checkpoint, as a signed note).
#[utoipa::path(get, path = "/v1/log/checkpoint", tag = "log",
    responses((status = 200, content_type = "text/plain", body = String),
        (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn checkpoint(
    State(s): State<AppState>,
    b: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let log = open(&s, &b)?;
    // A checkpoint covering every operation acknowledged so far: one is signed now
    // unless the latest already covers them (otherwise they would wait for the next
    // one, at most `CHECKPOINT_INTERVAL` away).
    let note = tokio::task::spawn_blocking(move || {
        log.sync()?;
        log.checkpoint()
    })
    .await
    .map_err(|_| ApiError::new("internal", "internal error"))?
    .map_err(|e| log_error(&e, ""))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        note,
    ))
}

/// The checkpoint verifier keys (signed-note vkeys: Ed25519, then ML-DSA-44), one per
/// line. A witness should pin them once rather than fetch them on every check.
#[utoipa::path(get, path = "/v1/log/keys", tag = "log",
    responses((status = 200, content_type = "text/plain", body = String),
        (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn keys(
    State(s): State<AppState>,
    b: Bearer,
) -> Result<impl IntoResponse, ApiError> {
    let log = open(&s, &b)?;
    let text: String = log
        .verifiers()
        .iter()
        .map(|v| format!("{}\n", v.encode()))
        .collect();
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

/// A hash tile (`tile/L/N[.p/W]`) or entry bundle (`tile/entries/N[.p/W]`), laid out as
/// tlog-tiles says. Full tiles never change and are cacheable forever.
#[utoipa::path(get, path = "/v1/log/tile/{path}", tag = "log",
    params(("path" = String, Path, description = "tlog-tiles path below tile/, e.g. 0/000 or entries/x001/002.p/7")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn tile(
    State(s): State<AppState>,
    b: Bearer,
    Path(path): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let log = open(&s, &b)?;
    let req = parse_tile_path(&path).map_err(|e| log_error(&e, "not_found"))?;
    let (bytes, width) = match req {
        TileRequest::Hashes {
            level,
            index,
            width,
        } => (log.tile(level, index, width), width),
        TileRequest::Entries { index, width } => (log.entry_bundle(index, width), width),
    };
    let bytes = bytes.map_err(|e| log_error(&e, "not_found"))?;
    let cache = if width == TILE_WIDTH {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    ))
}

fn hashes(p: Vec<aunsorm_log::Hash>) -> Vec<Base64> {
    p.into_iter().map(|h| Base64(h.to_vec())).collect()
}

/// The inclusion proof of an entry.
#[utoipa::path(get, path = "/v1/log/proof/inclusion", tag = "log", params(api::InclusionQuery),
    responses((status = 200, body = api::Proof), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn inclusion(
    State(s): State<AppState>,
    b: Bearer,
    Query(q): Query<api::InclusionQuery>,
) -> Result<Json<api::Proof>, ApiError> {
    let log = open(&s, &b)?;
    let size = match q.size {
        Some(n) => n,
        None => log.size().map_err(|e| log_error(&e, ""))?,
    };
    let proof = log
        .inclusion_proof(q.index, size)
        .map_err(|e| log_error(&e, ""))?;
    Ok(Json(api::Proof {
        from: q.index,
        size,
        hashes: hashes(proof),
    }))
}

/// The consistency proof between two tree sizes.
#[utoipa::path(get, path = "/v1/log/proof/consistency", tag = "log", params(api::ConsistencyQuery),
    responses((status = 200, body = api::Proof), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn consistency(
    State(s): State<AppState>,
    b: Bearer,
    Query(q): Query<api::ConsistencyQuery>,
) -> Result<Json<api::Proof>, ApiError> {
    let log = open(&s, &b)?;
    let size = match q.new {
        Some(n) => n,
        None => log.size().map_err(|e| log_error(&e, ""))?,
    };
    let proof = log
        .consistency_proof(q.old, size)
        .map_err(|e| log_error(&e, ""))?;
    Ok(Json(api::Proof {
        from: q.old,
        size,
        hashes: hashes(proof),
    }))
}
