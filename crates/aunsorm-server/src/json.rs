//! JSON bodies in and out, with rejections answered in the API's error shape.

use crate::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A JSON request body (unknown fields rejected by the DTOs) or response.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Json<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(r) => Err(json_rejection(&r)),
        }
    }
}

fn json_rejection(r: &JsonRejection) -> ApiError {
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new("too_large", "request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            "unsupported_media_type",
            "expected Content-Type: application/json",
        ),
        _ => ApiError::invalid(without_values(&r.body_text())),
    }
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
mod tests {
    use super::without_values;

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
