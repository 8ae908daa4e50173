//! `aunsorm serve`: the HTTP API over the local store, or over an amnesia store with
//! `--dev`. Settings come from `--config FILE` (TOML), then `AUNSORM_*` variables, then
//! flags, each overriding the one before; they are checked before anything starts.

use crate::local::{StoreArgs, api_failure, node, unseal_from_env, warn_rollback};
use crate::{Failure, usage};
use aunsorm_server::auth::{ALL_SCOPES, TokenSpec};
use aunsorm_server::config::{Config, LimitsConfig, TlsConfig};
use aunsorm_server::obs::{self, Level};
use aunsorm_server::{AppState, Node, Transport, Workers};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Development server: keys and log in memory under a random root key, unsealed,
    /// gone at exit. Prints `AUNSORM_ADDR=...` and `AUNSORM_TOKEN=...` (a root token)
    /// for `eval`.
    #[arg(long)]
    dev: bool,
    /// TOML configuration file (see docs/server.md).
    #[arg(long, env = "AUNSORM_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (IP:PORT; default 127.0.0.1:8200); port 0 picks a free
    /// port, and the printed address says which.
    #[arg(long, env = "AUNSORM_LISTEN")]
    listen: Option<String>,
    /// Largest request body, in bytes (default 1 MiB).
    #[arg(long, env = "AUNSORM_BODY_LIMIT")]
    body_limit: Option<usize>,
    /// Requests in flight at most; more are answered 503 with Retry-After.
    #[arg(long, env = "AUNSORM_CONCURRENCY")]
    concurrency: Option<usize>,
    /// Seconds a request may take, body included (then 504).
    #[arg(long, env = "AUNSORM_TIMEOUT")]
    timeout: Option<u64>,
    /// Requests per second allowed per token id (0: unlimited); beyond it, 429.
    #[arg(long, env = "AUNSORM_RATE")]
    rate: Option<f64>,
    /// Requests a token may make at once beyond its rate.
    #[arg(long, env = "AUNSORM_BURST")]
    burst: Option<f64>,
    /// Threads serving connections, each with a runtime of its own (default: one per
    /// CPU).
    #[arg(long, env = "AUNSORM_WORKERS")]
    workers: Option<usize>,
    /// error, warn or info (info logs one JSON line per request).
    #[arg(long, env = "AUNSORM_LOG_LEVEL")]
    log_level: Option<String>,
    /// TLS certificate chain (PEM).
    #[arg(long, env = "AUNSORM_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "AUNSORM_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require client certificates issued by these CAs (PEM): mutual TLS.
    #[arg(long, env = "AUNSORM_TLS_CLIENT_CA")]
    tls_client_ca: Option<PathBuf>,
}

impl ServeArgs {
    fn config(&self, st: &StoreArgs) -> Config {
        let tls = (self.tls_cert.is_some() || self.tls_client_ca.is_some()).then(|| TlsConfig {
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
            client_ca: self.tls_client_ca.clone(),
        });
        Config {
            store: st.store.clone(),
            listen: self.listen.clone(),
            log_level: self.log_level.clone(),
            checkpoint_interval_secs: None,
            workers: self.workers,
            limits: LimitsConfig {
                body: self.body_limit,
                concurrency: self.concurrency,
                timeout_secs: self.timeout,
                header_timeout_secs: None,
                rate: self.rate,
                burst: self.burst,
            },
            tls,
        }
    }
}

pub(crate) fn serve(st: &StoreArgs, a: &ServeArgs) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    let file = match &a.config {
        Some(p) => Config::from_file(p).map_err(api_failure)?,
        None => Config::default(),
    };
    let settings = file
        .overridden_by(a.config(st))
        .resolve()
        .map_err(api_failure)?;
    obs::init_logs(settings.log_level);
    obs::init_metrics();
    // The store's node: unsealed now if the environment holds the secret, else sealed
    // until `operator unseal` (or POST /v1/sys/unseal). --dev: amnesia, unsealed.
    let node = if a.dev {
        Node::dev().map_err(api_failure)?
    } else {
        let n = node(&StoreArgs {
            store: Some(settings.store.clone()),
            ..st.clone()
        })?;
        if let Some(how) = unseal_from_env() {
            let (_, findings) = n.unseal(how).map_err(api_failure)?;
            warn_rollback(&findings);
        }
        n
    };
    let node = Arc::new(node);
    let root = if a.dev {
        let (t, _) = node
            .auth()
            .and_then(|auth| {
                auth.mint(&TokenSpec {
                    scopes: ALL_SCOPES.to_vec(),
                    ..TokenSpec::default()
                })
            })
            .map_err(api_failure)?;
        Some(t)
    } else {
        None
    };
    let app = aunsorm_server::router(AppState::new(Arc::clone(&node), settings.limits));
    let transport = Transport {
        tls: settings.tls.clone(),
        header_timeout: Some(settings.header_timeout),
        drain: None,
    };
    let scheme = if transport.tls.is_some() {
        "https"
    } else {
        "http"
    };
    // One single-threaded runtime per worker thread, this one included; connections are
    // spread over them and stay where they start (aunsorm_server::transport). Each tells
    // the log's committer when it goes idle, so that it gathers larger batches under
    // load and commits at once otherwise (aunsorm_log::pacing).
    aunsorm_log::pacing::enable(settings.workers);
    let paced = |b: &mut tokio::runtime::Builder| {
        b.on_thread_park(aunsorm_log::pacing::worker_idle)
            .on_thread_unpark(aunsorm_log::pacing::worker_busy);
    };
    let mut b = tokio::runtime::Builder::new_current_thread();
    paced(b.enable_all());
    let rt = b.build()?;
    let workers = Workers::start(settings.workers - 1, paced)?;
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|e| usage(format!("cannot listen on {}: {e}", settings.listen)))?;
        let addr = listener.local_addr()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "AUNSORM_ADDR={scheme}://{addr}")?;
        if let Some(t) = &root {
            writeln!(out, "AUNSORM_TOKEN={t}")?;
        }
        out.flush()?;
        drop(out);
        let sealed = node.kms().is_sealed();
        obs::event(
            Level::Info,
            "listening",
            Some(&format!(
                "{scheme}://{addr} ({}{}, ready in {} ms)",
                if a.dev { "dev, amnesia" } else { "store" },
                if sealed { ", sealed" } else { "" },
                started.elapsed().as_millis()
            )),
        );
        let saver = tokio::spawn(save_checkpoints(
            Arc::clone(&node),
            settings.checkpoint_interval,
        ));
        let r = aunsorm_server::serve_on(listener, app, transport, &workers, shutdown_signal())
            .await
            .map_err(Failure::from);
        saver.abort();
        r
    });
    // In-flight requests are done: stop the worker threads, save the checkpoint, close
    // the log (every queued entry committed), and zeroize the keys.
    drop(workers);
    node.seal();
    obs::event(Level::Info, "stopped", None);
    obs::flush();
    result
}

/// Saves the log checkpoint now and then, so that a crash loses at most one interval
/// of anti-rollback protection.
async fn save_checkpoints(node: Arc<Node>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let n = Arc::clone(&node);
        let r = tokio::task::spawn_blocking(move || n.save_checkpoint()).await;
        if let Ok(Err(e)) = r {
            obs::event(Level::Warn, "checkpoint not saved", Some(&e.to_string()));
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
