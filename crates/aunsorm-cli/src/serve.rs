//! `aunsorm serve`: the HTTP API over a local store, or over an amnesia store with
//! `--dev`.

use crate::local::{self, StoreArgs};
use crate::{Failure, usage};
use aunsorm_kms::Kms;
use aunsorm_server::auth::{ALL_SCOPES, TokenAuthority, TokenSpec};
use aunsorm_server::{AppState, Limits};
use clap::Args;
use std::io::Write;
use std::sync::Arc;

/// Development log origin (amnesia: the log lives in memory with the keys).
const DEV_ORIGIN: &str = "aunsorm.dev/log";

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Development server: keys and log in memory under a random root key, unsealed,
    /// gone at exit. Prints `AUNSORM_ADDR=...` and `AUNSORM_TOKEN=...` (a root token)
    /// for `eval`.
    #[arg(long)]
    dev: bool,
    /// Address to listen on (HOST:PORT); port 0 picks a free port, and the printed
    /// address says which.
    #[arg(long, env = "AUNSORM_LISTEN", default_value = "127.0.0.1:8200")]
    listen: String,
    /// Largest request body, in bytes.
    #[arg(long, env = "AUNSORM_BODY_LIMIT", default_value_t = aunsorm_server::DEFAULT_BODY_LIMIT)]
    body_limit: usize,
}

fn failure(e: &aunsorm_server::ApiError) -> Failure {
    Failure::Error {
        code: e.code,
        message: e.message.clone(),
    }
}

pub(crate) fn serve(st: &StoreArgs, a: &ServeArgs) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    // The local store (unsealed from the environment, its log opened and checked
    // against the saved checkpoint), or an amnesia store for --dev.
    let (kms, local) = if a.dev {
        let kms = Kms::amnesia(None)?;
        kms.open_log(Arc::new(aunsorm_store::MemoryLogStore::new()), DEV_ORIGIN)?;
        (kms, None)
    } else {
        let l = local::unsealed(st)?;
        (l.shared(), Some(l))
    };
    let auth = TokenAuthority::from_kms(&kms).map_err(|e| failure(&e))?;
    let root = if a.dev {
        let (t, _) = auth
            .mint(&TokenSpec {
                scopes: ALL_SCOPES.to_vec(),
                ..TokenSpec::default()
            })
            .map_err(|e| failure(&e))?;
        Some(t)
    } else {
        None
    };
    let app = aunsorm_server::router(
        AppState {
            kms: Arc::clone(&kms),
            auth: Arc::new(auth),
        },
        Limits { body: a.body_limit },
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .map_err(|e| usage(format!("cannot listen on {}: {e}", a.listen)))?;
        let addr = listener.local_addr()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "AUNSORM_ADDR=http://{addr}")?;
        if let Some(t) = &root {
            writeln!(out, "AUNSORM_TOKEN={t}")?;
        }
        out.flush()?;
        drop(out);
        eprintln!(
            "aunsorm: listening on http://{addr} ({}, ready in {} ms)",
            if a.dev { "dev, amnesia" } else { "store" },
            started.elapsed().as_millis()
        );
        aunsorm_server::serve(listener, app, shutdown_signal())
            .await
            .map_err(Failure::from)
    });
    // In-flight requests are done: close the log (every queued entry committed),
    // save the checkpoint (local store), and zeroize the keys.
    drop(local);
    kms.seal();
    eprintln!("aunsorm: stopped");
    result
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
