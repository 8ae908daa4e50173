//! The request context: the request id (taken from a well-formed `x-request-id` header
//! or made fresh, answered in the same header, written into error bodies and audit
//! entries), and what the access log line and HTTP metrics say about the request: its
//! route, token id, key and error code.

use crate::limits::Guard;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Service, ServiceExt};

/// The header carrying the request id both ways. A static name: one made from a `&str`
/// is copied into every response.
pub(crate) const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// What is known about the request in flight.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    id: Arc<str>,
    token: OnceLock<Arc<str>>,
    key: OnceLock<String>,
    error: OnceLock<&'static str>,
}

tokio::task_local! {
    static CTX: Arc<Ctx>;
}

/// The current request's id (empty outside a request).
pub(crate) fn current() -> String {
    CTX.try_with(|c| c.id.to_string()).unwrap_or_default()
}

/// The current request's id, shared (for audit entries); `None` outside a request.
pub(crate) fn current_shared() -> Option<Arc<str>> {
    CTX.try_with(|c| Arc::clone(&c.id)).ok()
}

/// `f`, made to run within the current request's context on another thread (the
/// blocking pool), so that what it notes reaches the access log.
pub(crate) fn carried<T>(f: impl FnOnce() -> T) -> impl FnOnce() -> T {
    let ctx = CTX.try_with(Arc::clone).ok();
    move || match ctx {
        Some(c) => CTX.sync_scope(c, f),
        None => f(),
    }
}

/// Notes who is calling and on which key (for the access log).
pub(crate) fn note_caller(token: &Arc<str>, key: &str) {
    let _ = CTX.try_with(|c| {
        let _ = c.token.set(Arc::clone(token));
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

/// The outermost layer of every route and fallback: sets up the request context, sets
/// the body limit, bounds the requests in flight (503) and their time (504), answers
/// the id, and writes the access log line and HTTP metrics once the response is ready.
/// One service with one boxed future per request: as three `from_fn` layers it cost
/// several allocations and service clones per request. It is applied to the routes
/// rather than wrapped around the router, so routing has already named the route
/// (`MatchedPath`) and a request passes through one router, not two.
#[derive(Clone)]
pub(crate) struct OuterLayer(pub(crate) Arc<Guard>);

impl<S> tower::Layer<S> for OuterLayer {
    type Service = Outer<S>;
    fn layer(&self, inner: S) -> Outer<S> {
        Outer {
            inner,
            guard: Arc::clone(&self.0),
        }
    }
}

/// The service of [`OuterLayer`].
#[derive(Clone)]
pub(crate) struct Outer<S> {
    inner: S,
    guard: Arc<Guard>,
}

impl<S> Service<Request> for Outer<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Routes are always ready; `outer` drives the inner service with `oneshot`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let (inner, guard) = (self.inner.clone(), Arc::clone(&self.guard));
        Box::pin(async move { Ok(outer(inner, &guard, req).await) })
    }
}

async fn outer<S>(inner: S, guard: &Guard, mut req: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let start = Instant::now();
    DefaultBodyLimit::max(guard.limits.body).apply(&mut req);
    // Unmatched requests (the fallback) have no matched path.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| well_formed(v))
        .map_or_else(fresh, str::to_owned);
    let header = HeaderValue::from_str(&id).ok();
    let method = req.method().clone();
    let ctx = Arc::new(Ctx {
        id: id.into(),
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
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    crate::obs::request(&crate::obs::RequestLine {
        request_id: &ctx.id,
        method: method.as_str(),
        route,
        status: res.status().as_u16(),
        seconds: start.elapsed().as_secs_f64(),
        token_id: ctx.token.get().map(|t| &**t),
        key: ctx.key.get().map(String::as_str),
        error: ctx.error.get().copied(),
    });
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carried_work_sees_the_request_context_on_another_thread() {
        let ctx = Arc::new(Ctx {
            id: "abc".into(),
            ..Ctx::default()
        });
        let work = CTX.sync_scope(Arc::clone(&ctx), || {
            carried(|| {
                note_error("boom");
                current()
            })
        });
        let id = std::thread::spawn(work).join().unwrap_or_default();
        assert_eq!(id, "abc");
        assert_eq!(ctx.error.get().copied(), Some("boom"));
        // Outside a request it runs without one.
        assert_eq!(
            std::thread::spawn(carried(current)).join().ok(),
            Some(String::new())
        );
    }

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
