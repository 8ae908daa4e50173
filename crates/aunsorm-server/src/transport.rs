//! Connections: plain HTTP/1.1 or TLS (rustls, optional client certificates), a time
//! limit on sending the request head and on the TLS handshake (slow clients cannot hold
//! connections open for free), graceful shutdown (stop accepting, let every connection
//! finish its request in flight, then return), and the threads that serve them.
//!
//! Threads: one per CPU by default, each running a single-threaded Tokio runtime of
//! its own ([`Workers`]), with every connection served from start to end on the thread
//! it was handed to (the one with the fewest open connections). A multi-threaded
//! runtime instead moves tasks between its workers: a request then often ends on
//! another CPU than it began, its memory is freed on another thread than the one that
//! allocated it, and the runtime's timers, queues and reference counts are written from
//! both CPUs. On this design's two-CPU machine that cost about 6 µs of CPU per request,
//! a quarter of an audited AES-GCM encryption's (BENCHMARKS.md, "One runtime per
//! thread"). What it gave in return, moving work off a busy CPU, matters for long
//! requests, and the slow ones (key generation, RSA, SLH-DSA) already run on the
//! blocking pool.

use crate::ApiError;
use crate::config::TlsConfig;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How connections are served.
#[derive(Clone, Default)]
pub struct Transport {
    /// TLS, when configured.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Time allowed to send a request head (and to finish a TLS handshake).
    pub header_timeout: Option<Duration>,
    /// Longest wait for connections to finish at shutdown.
    pub drain: Option<Duration>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("tls", &self.tls.is_some())
            .field("header_timeout", &self.header_timeout)
            .finish_non_exhaustive()
    }
}

fn tls_error(what: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("config: tls: {what}"))
}

/// A rustls server configuration from PEM files; with `client_ca`, clients must present
/// a certificate chaining to one of those CAs.
///
/// # Errors
/// `invalid_input` naming the file that is missing or unreadable.
pub fn tls_config(t: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, ApiError> {
    let (Some(cert), Some(key)) = (&t.cert, &t.key) else {
        return Err(tls_error("both cert and key are needed"));
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect)
        .map_err(|e| tls_error(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(tls_error(format!("{}: no certificate", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| tls_error(format!("{}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let builder = match &t.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca)
                .map_err(|e| tls_error(format!("{}: {e}", ca.display())))?
            {
                let c = c.map_err(|e| tls_error(format!("{}: {e}", ca.display())))?;
                roots
                    .add(c)
                    .map_err(|e| tls_error(format!("{}: {e}", ca.display())))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(tls_error)?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| tls_error(format!("certificate and key: {e}")))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A job handed to a worker thread: run there, it returns the future to spawn.
type Job = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Threads beside the caller's, each running a single-threaded Tokio runtime; [`serve`]
/// hands each new connection to the thread (the caller's included) with the fewest open
/// connections, and the connection stays there. Dropping it stops the threads: their
/// runtimes end, cancelling what still runs on them.
pub struct Workers {
    lanes: Vec<Lane>,
}

struct Lane {
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
    open: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("threads", &self.lanes.len())
            .finish()
    }
}

impl Workers {
    /// No threads besides the caller's: [`serve`] serves every connection on the
    /// runtime it runs on.
    #[must_use]
    pub fn none() -> Workers {
        Workers { lanes: Vec::new() }
    }

    /// Starts `threads` worker threads, each with a single-threaded runtime built by a
    /// `Builder` that `configure` has seen (for hooks such as `on_thread_park`).
    ///
    /// # Errors
    /// When a thread cannot be started or its runtime built.
    pub fn start(
        threads: usize,
        configure: impl Fn(&mut tokio::runtime::Builder),
    ) -> std::io::Result<Workers> {
        let mut lanes = Vec::with_capacity(threads);
        for i in 0..threads {
            let mut b = tokio::runtime::Builder::new_current_thread();
            b.enable_all();
            configure(&mut b);
            let rt = b.build()?;
            let (jobs, mut rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
            let thread = std::thread::Builder::new()
                .name(format!("aunsorm-http-{}", i + 1))
                .spawn(move || {
                    rt.block_on(async move {
                        // Ends when the sender is dropped ([`Workers`]'s drop).
                        while let Some(job) = rx.recv().await {
                            tokio::spawn(job());
                        }
                    });
                })?;
            lanes.push(Lane {
                jobs,
                open: Arc::new(AtomicUsize::new(0)),
                thread: Some(thread),
            });
        }
        Ok(Workers { lanes })
    }

    /// Threads, not counting the caller's.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.lanes.len()
    }

    /// Open connections on each worker thread (for tests and metrics).
    #[must_use]
    pub fn open(&self) -> Vec<usize> {
        self.lanes
            .iter()
            .map(|l| l.open.load(Ordering::Relaxed))
            .collect()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Closing each channel ends its thread's loop, and with it the thread's runtime.
        let threads: Vec<JoinHandle<()>> = std::mem::take(&mut self.lanes)
            .into_iter()
            .filter_map(|lane| lane.thread)
            .collect();
        for t in threads {
            let _ = t.join();
        }
    }
}

/// Counts a connection open until dropped.
struct OpenGuard(Arc<AtomicUsize>);

impl OpenGuard {
    fn new(open: &Arc<AtomicUsize>) -> OpenGuard {
        open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(Arc::clone(open))
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Which thread takes the next connection: `None` for the caller's, else a worker's
/// index. The fewest open connections win; ties go to the first after `last`, so that
/// an idle server spreads its first connections over every thread.
fn pick(local: usize, workers: &[usize], last: usize) -> Option<usize> {
    let n = workers.len() + 1;
    let open = |lane: usize| if lane == 0 { local } else { workers[lane - 1] };
    let best = (1..=n)
        .map(|k| (last + k) % n)
        .min_by_key(|&lane| open(lane))
        .unwrap_or(0);
    best.checked_sub(1)
}

/// One connection, from accept to close, on the runtime it runs on.
async fn connection(
    stream: tokio::net::TcpStream,
    app: Router,
    http: Arc<hyper::server::conn::http1::Builder>,
    tls: Option<(tokio_rustls::TlsAcceptor, Duration)>,
    watcher: hyper_util::server::graceful::Watcher,
    open: OpenGuard,
) {
    let svc = TowerToHyperService::new(app);
    match tls {
        None => {
            let conn = http.serve_connection(TokioIo::new(stream), svc);
            let _ = watcher.watch(conn).await;
        }
        Some((acceptor, handshake)) => {
            let Ok(Ok(stream)) = tokio::time::timeout(handshake, acceptor.accept(stream)).await
            else {
                return;
            };
            let conn = http.serve_connection(TokioIo::new(stream), svc);
            let _ = watcher.watch(conn).await;
        }
    }
    drop(open);
}

/// Serves `app` on `listener`, on the runtime this runs on, until `shutdown` resolves,
/// then stops accepting, lets the connections finish their requests in flight (for at
/// most `drain`), and returns.
///
/// # Errors
/// Never for one connection's failure; only if the listener itself cannot go on.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    transport: Transport,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(listener, app, transport, &Workers::none(), shutdown).await
}

/// [`serve`], with connections spread over this runtime's thread and `workers`' (see
/// [`Workers`]). The workers' connections are drained at shutdown like the others.
///
/// # Errors
/// Never for one connection's failure; only if the listener itself cannot go on.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    app: Router,
    transport: Transport,
    workers: &Workers,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(transport.header_timeout);
    let http = Arc::new(http);
    let tls = transport.tls.map(tokio_rustls::TlsAcceptor::from);
    let handshake = transport.header_timeout.unwrap_or(Duration::from_secs(10));
    let local = Arc::new(AtomicUsize::new(0));
    let mut last = 0;
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(_) => {
                    // Out of file descriptors or a reset before accept: back off a
                    // little instead of spinning.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let tls = tls.as_ref().map(|a| (a.clone(), handshake));
        let open: Vec<usize> = workers.open();
        last = pick(local.load(Ordering::Relaxed), &open, last).map_or(0, |w| w + 1);
        let Some(lane) = last.checked_sub(1).map(|w| &workers.lanes[w]) else {
            let open = OpenGuard::new(&local);
            tokio::spawn(connection(
                stream,
                app.clone(),
                Arc::clone(&http),
                tls,
                watcher,
                open,
            ));
            continue;
        };
        // To the worker's runtime: the socket leaves this runtime's reactor and joins
        // the worker's there.
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        let (app, http, open) = (app.clone(), Arc::clone(&http), OpenGuard::new(&lane.open));
        let job: Job = Box::new(move || {
            Box::pin(async move {
                if let Ok(stream) = tokio::net::TcpStream::from_std(stream) {
                    connection(stream, app, http, tls, watcher, open).await;
                }
            })
        });
        // A closed channel (the worker is gone) drops the connection.
        let _ = lane.jobs.send(job);
    }
    drop(listener);
    let drain = transport.drain.unwrap_or(Duration::from_secs(30));
    let _ = tokio::time::timeout(drain, graceful.shutdown()).await;
    Ok(())
}
