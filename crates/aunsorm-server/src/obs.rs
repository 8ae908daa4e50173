//! Observability: JSON log lines on stderr and Prometheus metrics at `/metrics`.
//!
//! Log lines carry the request id, route, status, token id, key name and error code:
//! never key material, plaintexts, ciphertexts, their lengths or nonces, and never the
//! token itself. Lines go through a bounded queue to one writer thread, so a slow
//! stderr never holds up a request; lines that do not fit are counted in
//! `aunsorm_log_lines_dropped_total`, not waited for.
//!
//! Metrics: the KMS's own (`kms_ops_total{op}`, `kms_failures_total{op,kind}`,
//! `kms_keys_total{alg,hybrid}`, `kms_op_latency_seconds{op}`), the log's
//! (`aunsorm_log_batch_entries`, `aunsorm_log_commit_seconds`,
//! `aunsorm_log_commit_failures_total`, `aunsorm_log_checkpoints_total`,
//! `aunsorm_log_tree_size`), plus `http_requests_total{method,route,status}` and
//! `http_request_duration_seconds{route}`. Labels never hold key names or token ids.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

/// How much the server logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Errors only.
    Error,
    /// Warnings and lifecycle events.
    Warn,
    /// Also one line per request.
    Info,
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "error" => Ok(Level::Error),
            "warn" => Ok(Level::Warn),
            "info" => Ok(Level::Info),
            _ => Err(format!("unknown log level {s:?} (error, warn, info)")),
        }
    }
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
        }
    }
}

enum Msg {
    /// One JSON line, its newline included.
    Line(Vec<u8>),
    /// Answered once every line queued before it is written.
    Flush(SyncSender<()>),
}

struct Logger {
    level: Level,
    tx: SyncSender<Msg>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();
static METRICS: OnceLock<PrometheusHandle> = OnceLock::new();

const QUEUE: usize = 16_384;
/// The writer's buffer: about 250 lines.
const WRITE_BUFFER: usize = 64 * 1024;
/// The writer's pause between batches (the longest a line waits; at the queue's size
/// that is over 3 million lines a second before any is dropped).
const BATCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// Starts the log writer (once per process; later calls do nothing).
pub fn init_logs(level: Level) {
    LOGGER.get_or_init(|| {
        let (tx, rx) = sync_channel::<Msg>(QUEUE);
        let _ = std::thread::Builder::new()
            .name("aunsorm-log-writer".into())
            .spawn(move || {
                // A batch of lines in one `write` where it fits: the default 8 KiB
                // buffer took a system call every ~30 lines under load.
                let mut err = std::io::BufWriter::with_capacity(WRITE_BUFFER, std::io::stderr());
                let mut waiting = vec![];
                while let Ok(first) = rx.recv() {
                    // Write what is queued, then flush once.
                    let mut next = Some(first);
                    while let Some(m) = next {
                        match m {
                            Msg::Line(l) => {
                                let _ = err.write_all(&l);
                            }
                            Msg::Flush(done) => waiting.push(done),
                        }
                        next = rx.try_recv().ok();
                    }
                    let _ = err.flush();
                    let flushed = !waiting.is_empty();
                    for done in waiting.drain(..) {
                        let _ = done.send(());
                    }
                    // Lines are written in batches at most every few milliseconds:
                    // waking this thread for every request would cost each one a
                    // thread switch, which shows in the tail latency at low load.
                    if !flushed {
                        std::thread::sleep(BATCH_PAUSE);
                    }
                }
            });
        Logger { level, tx }
    });
}

/// Waits (at most a second) until every line logged so far is written.
pub fn flush() {
    let Some(l) = LOGGER.get() else { return };
    let (tx, rx) = sync_channel(1);
    if l.tx.send(Msg::Flush(tx)).is_ok() {
        let _ = rx.recv_timeout(std::time::Duration::from_secs(1));
    }
}

/// How often the recorder's histograms are drained into their buckets. The recorder
/// keeps every sample of a histogram until then: without upkeep, a server nobody
/// scrapes would hold every request's latency in memory, a leak of several
/// megabytes a minute under load.
const UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the Prometheus recorder (once per process) and starts its upkeep thread.
/// Returns false if another recorder was installed first.
pub fn init_metrics() -> bool {
    if METRICS.get().is_some() {
        return true;
    }
    match PrometheusBuilder::new()
        .set_buckets(&[
            0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
            0.25, 0.5, 1.0, 2.5,
        ])
        .and_then(|b| {
            // Entries per group commit (at most `aunsorm_log::MAX_BATCH`).
            b.set_buckets_for_metric(
                Matcher::Full("aunsorm_log_batch_entries".into()),
                &[
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 8192.0,
                ],
            )
        })
        .and_then(PrometheusBuilder::install_recorder)
    {
        Ok(h) => {
            let upkeep = h.clone();
            let _ = std::thread::Builder::new()
                .name("aunsorm-metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP);
                        upkeep.run_upkeep();
                    }
                });
            let _ = METRICS.set(h);
            aunsorm_kms::global_metrics_installed();
            aunsorm_log::global_metrics_installed();
            true
        }
        Err(_) => false,
    }
}

/// The metrics in Prometheus text format (empty before [`init_metrics`]).
pub fn render_metrics() -> String {
    METRICS
        .get()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

/// The time now, to the second, as RFC 3339. Formatted once a second per thread: every
/// request line needs it.
fn now_rfc3339() -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    let now = std::time::SystemTime::now();
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    LAST.with(|l| {
        let mut l = l.borrow_mut();
        if l.0 != secs {
            *l = (secs, crate::auth::rfc3339(now));
        }
        l.1.clone()
    })
}

/// Queues `line` if `threshold` passes the configured level.
fn emit<T: Serialize>(threshold: Level, line: &T) {
    let Some(l) = LOGGER.get() else { return };
    if threshold > l.level {
        return;
    }
    // Room for an access line (about 250 bytes), so that it is not grown on the way.
    let mut text = Vec::with_capacity(384);
    if serde_json::to_writer(&mut text, line).is_err() {
        return;
    }
    text.push(b'\n');
    match l.tx.try_send(Msg::Line(text)) {
        Ok(()) => {}
        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
            metrics::counter!("aunsorm_log_lines_dropped_total").increment(1);
        }
    }
}

#[derive(Serialize)]
struct Event<'a> {
    ts: String,
    level: &'static str,
    msg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

/// A lifecycle event (listening, stopped, a warning). Lifecycle events at `Info` are
/// written whatever the configured level: they are rare and say what the server is.
pub fn event(level: Level, msg: &str, detail: Option<&str>) {
    emit(
        level.min(Level::Warn),
        &Event {
            ts: now_rfc3339(),
            level: level.as_str(),
            msg,
            detail,
        },
    );
}

/// One finished request, as the access log and HTTP metrics see it.
#[derive(Debug)]
pub(crate) struct RequestLine<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub seconds: f64,
    pub token_id: Option<&'a str>,
    pub key: Option<&'a str>,
    pub error: Option<&'static str>,
}

/// The access log line: the request's fields between the common ones, written out
/// rather than with `#[serde(flatten)]`, which serializes through a map, field by
/// field, with a dozen allocations per line.
#[derive(Serialize)]
struct Access<'a> {
    ts: String,
    level: &'static str,
    msg: &'static str,
    request_id: &'a str,
    method: &'a str,
    route: &'a str,
    status: u16,
    seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    result: &'static str,
}

pub(crate) fn request(r: &RequestLine<'_>) {
    http_metrics(r);
    let level = if r.status >= 500 {
        Level::Error
    } else {
        Level::Info
    };
    emit(level, &access(r, level, now_rfc3339()));
}

fn access<'a>(r: &RequestLine<'a>, level: Level, ts: String) -> Access<'a> {
    Access {
        ts,
        level: level.as_str(),
        msg: "request",
        request_id: r.request_id,
        method: r.method,
        route: r.route,
        status: r.status,
        seconds: r.seconds,
        token_id: r.token_id,
        key: r.key,
        error: r.error,
        result: if r.status < 400 { "ok" } else { "error" },
    }
}

/// The HTTP metrics of one route: its duration histogram, and its request counters by
/// method and status.
struct RouteMetrics {
    duration: metrics::Histogram,
    requests: Vec<(&'static str, u16, metrics::Counter)>,
}

/// Counters per route beyond which the registry is asked each time.
const COUNTERS_PER_ROUTE: usize = 64;

/// Records `http_requests_total` and `http_request_duration_seconds` for `r`. The
/// handles are kept per route (the set of routes is the router's, plus "unmatched"):
/// asking the registry for each request cost three label allocations and a lookup.
/// They are kept per thread: a map shared behind a lock cost two atomic writes per
/// request on a cache line every core wrote. Methods other than the standard ones are counted as "other", so that a client
/// cannot grow the label set without bound. Before [`init_metrics`] nothing is kept: a
/// handle taken then would be a no-op for good.
fn http_metrics(r: &RequestLine<'_>) {
    thread_local! {
        static ROUTES: std::cell::RefCell<HashMap<String, RouteMetrics>> =
            std::cell::RefCell::new(HashMap::new());
    }
    let method = standard_method(r.method);
    if METRICS.get().is_none() {
        requests_counter(method, r).increment(1);
        duration_histogram(r.route).record(r.seconds);
        return;
    }
    ROUTES.with_borrow_mut(|routes| {
        if let Some(rm) = routes.get_mut(r.route) {
            rm.record(method, r);
            return;
        }
        let mut rm = RouteMetrics {
            duration: duration_histogram(r.route),
            requests: Vec::new(),
        };
        rm.record(method, r);
        routes.insert(r.route.to_owned(), rm);
    });
}

impl RouteMetrics {
    /// Records `r`, keeping its counter unless the route has [`COUNTERS_PER_ROUTE`].
    fn record(&mut self, method: &'static str, r: &RequestLine<'_>) {
        self.duration.record(r.seconds);
        if let Some((_, _, c)) = self
            .requests
            .iter()
            .find(|(m, s, _)| *m == method && *s == r.status)
        {
            c.increment(1);
            return;
        }
        let counter = requests_counter(method, r);
        counter.increment(1);
        if self.requests.len() < COUNTERS_PER_ROUTE {
            self.requests.push((method, r.status, counter));
        }
    }
}

fn requests_counter(method: &'static str, r: &RequestLine<'_>) -> metrics::Counter {
    metrics::counter!("http_requests_total",
        "method" => method, "route" => r.route.to_owned(), "status" => r.status.to_string())
}

fn duration_histogram(route: &str) -> metrics::Histogram {
    metrics::histogram!("http_request_duration_seconds", "route" => route.to_owned())
}

fn standard_method(m: &str) -> &'static str {
    match m {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        "LIST" => "LIST",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        _ => "other",
    }
}

/// Warns about key records the log says were rolled back.
pub(crate) fn rollback_findings(findings: &[aunsorm_kms::RollbackFinding]) {
    for f in findings {
        let detail = format!(
            "key {} is at generation {} but the log recorded {}{}; it is refused until resolved",
            f.key,
            f.stored,
            f.logged,
            if f.deleted { " (deleted)" } else { "" }
        );
        event(Level::Warn, "rollback", Some(&detail));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn line(route: &str) -> RequestLine<'_> {
        RequestLine {
            request_id: "r",
            method: "POST",
            route,
            status: 200,
            seconds: 0.001,
            token_id: None,
            key: None,
            error: None,
        }
    }

    #[test]
    fn the_access_line_has_its_fields_in_order_and_leaves_out_the_absent_ones() {
        let mut r = line("/v1/kms/sign");
        r.token_id = Some("tok-1");
        let text = serde_json::to_string(&access(&r, Level::Info, "T".into())).unwrap();
        assert_eq!(
            text,
            r#"{"ts":"T","level":"info","msg":"request","request_id":"r","method":"POST","route":"/v1/kms/sign","status":200,"seconds":0.001,"token_id":"tok-1","result":"ok"}"#
        );
        r.status = 503;
        r.key = Some("k");
        r.error = Some("sealed");
        let text = serde_json::to_string(&access(&r, Level::Error, "T".into())).unwrap();
        assert!(
            text.ends_with(r#""status":503,"seconds":0.001,"token_id":"tok-1","key":"k","error":"sealed","result":"error"}"#),
            "{text}"
        );
    }

    #[test]
    fn a_request_before_the_recorder_does_not_leave_a_dead_handle() {
        let route = "/test/before-the-recorder";
        // No recorder yet: nothing is counted, and nothing may be kept.
        request(&line(route));
        assert!(init_metrics());
        request(&line(route));
        request(&line(route));
        let text = render_metrics();
        assert!(
            text.contains(&format!(
                "http_requests_total{{method=\"POST\",route=\"{route}\",status=\"200\"}} 2"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "http_request_duration_seconds_count{{route=\"{route}\"}} 2"
            )),
            "{text}"
        );
    }
}
