//! The request context: the request id (taken from a well-formed `x-request-id` header
//! or made fresh, answered in the same header, written into error bodies and audit
//! entries), and what the access log line and HTTP metrics say about the request: its
//! route, token id, key and error code.

use crate::limits::Guard;
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::response::Response;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Service, ServiceExt};

/// The header carrying the request id both ways.
pub(crate) const HEADER: &str = "x-request-id";

/// What is known about the request in flight.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    id: String,
    route: OnceLock<MatchedPath>,
    token: OnceLock<String>,
    key: OnceLock<String>,
    error: OnceLock<&'static str>,
}

tokio::task_local! {
    static CTX: Arc<Ctx>;
}

/// The current request's id (empty outside a request).
pub(crate) fn current() -> String {
    CTX.try_with(|c| c.id.clone()).unwrap_or_default()
}

/// Notes who is calling and on which key (for the access log).
pub(crate) fn note_caller(token: &str, key: &str) {
    let _ = CTX.try_with(|c| {
        let _ = c.token.set(token.to_owned());
        if !key.is_empty() {
            let _ = c.key.set(key.to_owned());
        }
    });
}

/// Notes the error code the request ends with.
pub(crate) fn note_error(code: &'static str) {
    let _ = CTX.try_with(|c| c.error.set(code));
}

fn well_formed(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A fresh request id: 32 hex digits, a random prefix drawn once per process from the
/// DRBG, then a counter. Ids are for correlating lines, not secrets: unique within the
/// process and, with the random prefix, across restarts, without a DRBG call (and its
/// lock) per request.
fn fresh() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut b = [0u8; 8];
        // A failure leaves zeros: ids stay unique within the process.
        let _ = aunsorm_crypto::rng::fill(&mut b);
        u64::from_be_bytes(b)
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(32);
    for x in prefix.to_be_bytes().into_iter().chain(n.to_be_bytes()) {
        id.push(char::from(HEX[usize::from(x >> 4)]));
        id.push(char::from(HEX[usize::from(x & 0xf)]));
    }
    id
}

/// Notes the matched route: a layer inside routing (where the route is known), made
/// by hand rather than with `from_fn` so that it costs no allocation per request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NoteRoute;

impl<S> tower::Layer<S> for NoteRoute {
    type Service = NoteRouteService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        NoteRouteService(inner)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct NoteRouteService<S>(S);

impl<S: Service<Request>> Service<Request> for NoteRouteService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> S::Future {
        if let Some(p) = req.extensions().get::<MatchedPath>() {
            let p = p.clone();
            let _ = CTX.try_with(|c| c.route.set(p));
        }
        self.0.call(req)
    }
}

/// The outermost service, around the whole router: sets up the request context, bounds
/// the requests in flight (503) and their time (504), answers the id, and writes the
/// access log line and HTTP metrics once the response is ready. One service with one
/// boxed future per request: as three `from_fn` layers it cost several allocations
/// and service clones per request.
#[derive(Clone)]
pub(crate) struct Outer {
    pub(crate) inner: Router,
    pub(crate) guard: Arc<Guard>,
}

impl Service<Request> for Outer {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let (inner, guard) = (self.inner.clone(), Arc::clone(&self.guard));
        Box::pin(async move { Ok(outer(inner, &guard, req).await) })
    }
}

async fn outer(inner: Router, guard: &Guard, req: Request) -> Response {
    let start = Instant::now();
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| well_formed(v))
        .map_or_else(fresh, str::to_owned);
    let header = HeaderValue::from_str(&id).ok();
    let method = req.method().clone();
    let ctx = Arc::new(Ctx {
        id,
        ..Ctx::default()
    });
    // The limits run inside the context too, so that their errors carry the request id
    // and are noted for the access log.
    let mut res = CTX
        .scope(Arc::clone(&ctx), async {
            match guard.admit() {
                Some(_permit) => guard.within_timeout(inner.oneshot(req)).await,
                None => crate::limits::overloaded(),
            }
        })
        .await;
    if let Some(h) = header {
        res.headers_mut().insert(HEADER, h);
    }
    let route = ctx.route.get().map_or("unmatched", MatchedPath::as_str);
    crate::obs::request(&crate::obs::RequestLine {
        request_id: &ctx.id,
        method: method.as_str(),
        route,
        status: res.status().as_u16(),
        seconds: start.elapsed().as_secs_f64(),
        token_id: ctx.token.get().map(String::as_str),
        key: ctx.key.get().map(String::as_str),
        error: ctx.error.get().copied(),
    });
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_distinct_well_formed_and_share_the_process_prefix() {
        let (a, b) = (fresh(), fresh());
        assert_ne!(a, b);
        for id in [&a, &b] {
            assert_eq!(id.len(), 32);
            assert!(well_formed(id));
            assert!(id.bytes().all(|c| c.is_ascii_hexdigit()));
        }
        assert_eq!(a[..16], b[..16]);
    }
}
