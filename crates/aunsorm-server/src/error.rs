//! Errors as HTTP answers: `{"error": {"code", "message", "request_id"}}`, the status
//! chosen by the error's code in one total match, never by its text.

use aunsorm_api::{ErrorBody, ErrorDetail};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error answer; its body carries the current request's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Stable code from the library taxonomy.
    pub code: &'static str,
    /// For people; never holds secrets.
    pub message: String,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// `invalid_input` about `what`.
    pub fn invalid(what: impl std::fmt::Display) -> Self {
        ApiError::new("invalid_input", what.to_string())
    }

    /// The HTTP status for this error's code.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        status_of(self.code)
    }
}

/// The status of every error code. Unknown codes are server errors.
#[must_use]
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "invalid_input" | "alg_unavailable" | "decryption_failed" | "bad_signature" | "crypto" => {
            StatusCode::BAD_REQUEST
        }
        "unauthorized" => StatusCode::UNAUTHORIZED,
        "forbidden" => StatusCode::FORBIDDEN,
        "no_such_key" | "not_found" => StatusCode::NOT_FOUND,
        "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
        "conflict" => StatusCode::CONFLICT,
        "too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "unsupported_media_type" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "policy_denied" | "expired" => StatusCode::UNPROCESSABLE_ENTITY,
        "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
        "sealed" | "storage" | "overloaded" => StatusCode::SERVICE_UNAVAILABLE,
        "timeout" => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<aunsorm_kms::Error> for ApiError {
    fn from(e: aunsorm_kms::Error) -> Self {
        let code = e.code();
        // A 5xx answer says nothing internal; the rest carry the library's message,
        // which never holds secrets.
        let message = if status_of(code).is_server_error() {
            match code {
                "sealed" => "the server is sealed".to_owned(),
                "storage" => "storage or audit log unavailable, retry later".to_owned(),
                "rollback" => "a key record is older than the transparency log says".to_owned(),
                _ => "internal error".to_owned(),
            }
        } else {
            e.to_string()
        };
        ApiError { code, message }
    }
}

impl From<aunsorm_crypto::Error> for ApiError {
    fn from(e: aunsorm_crypto::Error) -> Self {
        ApiError::from(aunsorm_kms::Error::from(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        crate::request_id::note_error(self.code);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                request_id: crate::request_id::current(),
            },
        };
        let mut r = (status, axum::Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_library_code_has_its_status() {
        for (code, status) in [
            ("invalid_input", 400),
            ("no_such_key", 404),
            ("unauthorized", 401),
            ("forbidden", 403),
            ("sealed", 503),
            ("storage", 503),
            ("policy_denied", 422),
            ("conflict", 409),
            ("rollback", 500),
            ("sealed_corrupt", 500),
            ("internal", 500),
            ("rate_limited", 429),
            ("too_large", 413),
        ] {
            assert_eq!(status_of(code).as_u16(), status, "{code}");
        }
    }
}
