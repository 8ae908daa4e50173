//! Protection: a request body limit, a bound on requests in flight (503 with
//! `Retry-After` beyond it: back-pressure, not a queue), a per-request timeout (504),
//! and per-token rate limits (429), a token bucket per token id shared by every
//! attenuation of that token.

use crate::ApiError;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Default largest request body: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;
/// Default bound on requests in flight.
pub const DEFAULT_CONCURRENCY: usize = 4096;
/// Default time a request may take, body reading included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of the router.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest request body in bytes.
    pub body: usize,
    /// Requests in flight at most; more are refused with 503 + Retry-After.
    pub concurrency: usize,
    /// Longest a request may take (body reading included); then 504.
    pub timeout: Duration,
    /// Requests per second allowed per token id (0: unlimited).
    pub rate: f64,
    /// Requests a token may make at once beyond its rate.
    pub burst: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body: DEFAULT_BODY_LIMIT,
            concurrency: DEFAULT_CONCURRENCY,
            timeout: DEFAULT_TIMEOUT,
            rate: 0.0,
            burst: 0.0,
        }
    }
}

impl Limits {
    /// Checks the settings.
    ///
    /// # Errors
    /// `invalid_input` naming the first bad setting.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.body == 0 {
            return Err(ApiError::invalid("body_limit must be at least 1 byte"));
        }
        if self.concurrency == 0 || self.concurrency > Semaphore::MAX_PERMITS {
            return Err(ApiError::invalid("concurrency must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(ApiError::invalid("timeout must be more than 0"));
        }
        if !self.rate.is_finite() || self.rate < 0.0 {
            return Err(ApiError::invalid("rate must be 0 (unlimited) or more"));
        }
        if !self.burst.is_finite() || self.burst < 0.0 || (self.rate > 0.0 && self.burst < 1.0) {
            return Err(ApiError::invalid("burst must be at least 1 with a rate"));
        }
        Ok(())
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The state behind the limits.
pub(crate) struct Guard {
    pub(crate) limits: Limits,
    in_flight: Arc<Semaphore>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

const BUCKET_LIMIT: usize = 100_000;

impl Guard {
    pub(crate) fn new(limits: Limits) -> Guard {
        Guard {
            limits,
            in_flight: Arc::new(Semaphore::new(limits.concurrency)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `token_id`'s bucket.
    pub(crate) fn rate_check(&self, token_id: &str) -> Result<(), ApiError> {
        let l = &self.limits;
        if l.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut b = self
            .buckets
            .lock()
            .map_err(|_| ApiError::new("internal", "rate lock poisoned"))?;
        if b.len() >= BUCKET_LIMIT && !b.contains_key(token_id) {
            // Forget buckets that have refilled: they hold no state worth keeping.
            b.retain(|_, x| x.tokens + now.duration_since(x.at).as_secs_f64() * l.rate < l.burst);
        }
        let x = b.entry(token_id.to_owned()).or_insert(Bucket {
            tokens: l.burst,
            at: now,
        });
        x.tokens = (x.tokens + now.duration_since(x.at).as_secs_f64() * l.rate).min(l.burst);
        x.at = now;
        if x.tokens >= 1.0 {
            x.tokens -= 1.0;
            Ok(())
        } else {
            Err(ApiError::new(
                "rate_limited",
                format!("this token may make {} requests per second", l.rate),
            ))
        }
    }

    /// A place among the requests in flight, or `None` beyond the bound.
    pub(crate) fn admit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.in_flight).try_acquire_owned().ok()
    }

    /// Runs `f`, answering 504 if it takes longer than the timeout.
    pub(crate) async fn within_timeout<F>(&self, f: F) -> Response
    where
        F: Future<Output = Result<Response, std::convert::Infallible>>,
    {
        match tokio::time::timeout(self.limits.timeout, f).await {
            Ok(Ok(r)) => r,
            Ok(Err(never)) => match never {},
            Err(_) => ApiError::new("timeout", "the request took too long").into_response(),
        }
    }
}

/// The answer to a request beyond the in-flight bound: 503 with Retry-After.
pub(crate) fn overloaded() -> Response {
    metrics::counter!("http_requests_shed_total").increment(1);
    ApiError::new("overloaded", "too many requests in flight, retry later").into_response()
}
