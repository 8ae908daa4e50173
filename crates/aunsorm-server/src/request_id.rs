//! Request ids: taken from a well-formed `x-request-id` header or made fresh, answered in
//! the same header, written into error bodies and audit entries.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The header carrying the request id both ways.
pub(crate) const HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The current request's id (empty outside a request).
pub(crate) fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

fn well_formed(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn fresh() -> String {
    let mut b = [0u8; 16];
    // Random bytes from the DRBG; a failure leaves zeros, still a usable id.
    let _ = aunsorm_crypto::rng::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) async fn layer(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| well_formed(v))
        .map_or_else(fresh, str::to_owned);
    let header = HeaderValue::from_str(&id).ok();
    let mut res = REQUEST_ID.scope(id, next.run(req)).await;
    if let Some(h) = header {
        res.headers_mut().insert(HEADER, h);
    }
    res
}
