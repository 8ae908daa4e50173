//! Connections: plain HTTP/1.1 or TLS (rustls, optional client certificates), a time
//! limit on sending the request head and on the TLS handshake (slow clients cannot hold
//! connections open for free), and graceful shutdown: stop accepting, let every
//! connection finish its request in flight, then return.

use crate::ApiError;
use crate::config::TlsConfig;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
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

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets the
/// connections finish their requests in flight (for at most `drain`), and returns.
///
/// # Errors
/// Never for one connection's failure; only if the listener itself cannot go on.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    transport: Transport,
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
        let svc = TowerToHyperService::new(app.clone());
        let watcher = graceful.watcher();
        let http = Arc::clone(&http);
        match &tls {
            None => {
                let conn = http.serve_connection(TokioIo::new(stream), svc);
                tokio::spawn(async move {
                    let _ = watcher.watch(conn).await;
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(handshake, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let conn = http.serve_connection(TokioIo::new(stream), svc);
                    let _ = watcher.watch(conn).await;
                });
            }
        }
    }
    drop(listener);
    let drain = transport.drain.unwrap_or(Duration::from_secs(30));
    let _ = tokio::time::timeout(drain, graceful.shutdown()).await;
    Ok(())
}
