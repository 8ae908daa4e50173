//! JSON bodies in and out, with rejections answered in the API's error shape.

use crate::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A JSON request body (unknown fields rejected by the DTOs) or response.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Json<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(not_json());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| json_rejection(&r.into()))?;
        // A body that parses takes plain serde_json. axum's own decoder runs through
        // serde_path_to_error to name the field at fault, work every request paid for
        // (BENCHMARKS.md, "Counting instructions instead of time"); here it runs only
        // to explain a failure, so the messages stay axum's.
        if let Ok(v) = serde_json::from_slice(&bytes) {
            return Ok(Json(v));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(r) => Err(json_rejection(&r)),
        }
    }
}

/// Whether the request says its body is JSON: `application/json` or
/// `application/*+json`, with any parameters (axum's rule).
fn json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == mime::APPLICATION
                && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        })
}

fn json_rejection(r: &JsonRejection) -> ApiError {
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new("too_large", "request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => not_json(),
        _ => ApiError::invalid(without_values(&r.body_text())),
    }
}

fn not_json() -> ApiError {
    ApiError::new(
        "unsupported_media_type",
        "expected Content-Type: application/json",
    )
}

/// serde's messages name the field and what was wrong, but quote a misplaced string
/// value (`invalid type: string "...", expected u64`), which may be a secret: every
/// double-quoted run is replaced by `"…"`. Field names stay (serde writes them in
/// backticks).
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match (c, quoted) {
            ('"', false) => {
                quoted = true;
                out.push_str("\"…");
            }
            ('"', true) => {
                quoted = false;
                out.push('"');
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    if quoted {
        out.push('"');
    }
    out
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A query string, with rejections in the API's error shape.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|r: QueryRejection| ApiError::invalid(without_values(&r.body_text())))
    }
}

/// Path parameters, with rejections in the API's error shape.
#[derive(Debug, Clone, Default)]
pub(crate) struct Path<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|r: PathRejection| ApiError::invalid(without_values(&r.body_text())))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::{json_content_type, without_values};
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn json_content_types_are_axums() {
        let is_json = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(v).unwrap());
            json_content_type(&h)
        };
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "application/json;charset=utf-8",
            "APPLICATION/JSON",
            "application/cloudevents+json",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for no in ["text/json", "application/jsonx", "application/", "json", ""] {
            assert!(!is_json(no), "{no}");
        }
        assert!(!json_content_type(&HeaderMap::new()));
    }

    #[test]
    fn quoted_values_are_removed_field_names_kept() {
        assert_eq!(
            without_values("bytes: invalid type: string \"hunter2\", expected usize"),
            "bytes: invalid type: string \"…\", expected usize"
        );
        assert_eq!(
            without_values("unknown field `extra`, expected `key`"),
            "unknown field `extra`, expected `key`"
        );
        assert_eq!(without_values("cut \"sec"), "cut \"…\"");
    }
}
