//! Rust client of Aunsorm's HTTP API: the DTOs of [`aunsorm_api`] over HTTP/1.1, plain
//! or TLS (rustls; the server's CA from a PEM file, optional client certificate for
//! mutual TLS), with one kept-alive connection reused between calls.
//!
//! ```no_run
//! # async fn f() -> Result<(), aunsorm_client::Error> {
//! use aunsorm_api::kms::Sign;
//! let c = aunsorm_client::Client::builder("http://127.0.0.1:8200")
//!     .token(std::env::var("AUNSORM_TOKEN").unwrap_or_default())
//!     .build()?;
//! let sig = c.sign(&Sign { key: "app/signer".into(), message: b"hi".to_vec().into(), context: None, rsa_padding: None, ecdsa_encoding: None }).await?;
//! println!("{}", sig.value);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

use aunsorm_api::ErrorBody;
use aunsorm_api::auth::{CreateToken, RevokeToken, Token};
use aunsorm_api::kms as api;
use aunsorm_api::log::Proof;
use aunsorm_api::sys;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

/// What went wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error body.
    #[error("{code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Stable error code (`no_such_key`, `forbidden`, ...).
        code: String,
        /// The server's message.
        message: String,
        /// The request id to quote.
        request_id: String,
    },
    /// The server could not be reached or the connection failed.
    #[error("cannot reach the server: {0}")]
    Transport(String),
    /// The answer was not what the API promises.
    #[error("unexpected answer: {0}")]
    Protocol(String),
    /// The client was set up wrongly (address, TLS files).
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The stable error code: the server's, or `unavailable`, `protocol`, `invalid_input`
    /// for failures on this side.
    #[must_use]
    pub fn code(&self) -> &str {
        match self {
            Error::Api { code, .. } => code,
            Error::Transport(_) => "unavailable",
            Error::Protocol(_) => "protocol",
            Error::Config(_) => "invalid_input",
        }
    }
}

/// `host:port`, `[v6]:port`, or a host alone (the scheme's port); `None` for a port
/// that is not a number.
fn split_authority(a: &str, default_port: u16) -> Option<(String, u16)> {
    let (host, port) = match a.strip_prefix('[') {
        Some(v6) => {
            let (h, rest) = v6.split_once(']')?;
            (h, rest.strip_prefix(':'))
        }
        None => match a.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        },
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port,
    };
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

/// Sets up a [`Client`].
#[derive(Debug, Clone)]
pub struct Builder {
    addr: String,
    token: Option<Zeroizing<String>>,
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    timeout: Duration,
}

impl Builder {
    /// The bearer token sent with every call (empty: none).
    #[must_use]
    pub fn token(mut self, t: impl Into<String>) -> Self {
        let t = t.into();
        self.token = (!t.is_empty()).then(|| Zeroizing::new(t));
        self
    }

    /// CA certificates (PEM) that the server's certificate must chain to (https).
    #[must_use]
    pub fn ca_file(mut self, p: impl AsRef<Path>) -> Self {
        self.ca = Some(p.as_ref().to_owned());
        self
    }

    /// A client certificate chain and key (PEM), for servers that ask for one.
    #[must_use]
    pub fn client_cert(mut self, cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Self {
        self.cert = Some(cert.as_ref().to_owned());
        self.key = Some(key.as_ref().to_owned());
        self
    }

    /// Longest a call may take (default 60 s).
    #[must_use]
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// The client.
    ///
    /// # Errors
    /// [`Error::Config`] for an address that is not `http(s)://HOST:PORT` or TLS files
    /// that cannot be read.
    pub fn build(self) -> Result<Client, Error> {
        let cfg = |m: String| Error::Config(m);
        let (https, rest) = if let Some(r) = self.addr.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = self.addr.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(cfg(format!(
                "the address {:?} must start with http:// or https://",
                self.addr
            )));
        };
        let authority = rest.trim_end_matches('/').to_owned();
        if authority.is_empty() || authority.contains('/') {
            return Err(cfg(format!("the address {:?} is not a server", self.addr)));
        }
        let (host, port) = split_authority(&authority, if https { 443 } else { 80 })
            .ok_or_else(|| cfg(format!("the address {:?} is not HOST:PORT", self.addr)))?;
        let tls = if https { Some(self.tls()?) } else { None };
        Ok(Client {
            host,
            port,
            authority,
            token: self.token,
            tls,
            timeout: self.timeout,
            conn: Mutex::new(None),
        })
    }

    fn tls(&self) -> Result<tokio_rustls::TlsConnector, Error> {
        let cfg = |m: String| Error::Config(m);
        let ca = self.ca.as_ref().ok_or_else(|| {
            cfg("an https address needs the server's CA certificate (AUNSORM_CACERT)".into())
        })?;
        let mut roots = rustls::RootCertStore::empty();
        for c in
            CertificateDer::pem_file_iter(ca).map_err(|e| cfg(format!("{}: {e}", ca.display())))?
        {
            let c = c.map_err(|e| cfg(format!("{}: {e}", ca.display())))?;
            roots
                .add(c)
                .map_err(|e| cfg(format!("{}: {e}", ca.display())))?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let b = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| cfg(e.to_string()))?
            .with_root_certificates(roots);
        let mut c = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                    .and_then(Iterator::collect)
                    .map_err(|e| cfg(format!("{}: {e}", cert.display())))?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| cfg(format!("{}: {e}", key.display())))?;
                b.with_client_auth_cert(chain, key)
                    .map_err(|e| cfg(format!("client certificate: {e}")))?
            }
            _ => b.with_no_client_auth(),
        };
        c.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsConnector::from(Arc::new(c)))
    }
}

/// A client of one server.
pub struct Client {
    host: String,
    port: u16,
    authority: String,
    token: Option<Zeroizing<String>>,
    tls: Option<tokio_rustls::TlsConnector>,
    timeout: Duration,
    conn: Mutex<Option<SendRequest<Full<Bytes>>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("authority", &self.authority)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// Percent-encodes a key name for a path segment (`/` becomes `%2F`).
#[must_use]
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The error an error answer carries.
fn api_error(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => Error::Api {
            status,
            code: e.error.code,
            message: e.error.message,
            request_id: e.error.request_id,
        },
        Err(_) => Error::Protocol(format!("status {status} without an error body")),
    }
}

fn version_query(v: Option<u32>) -> String {
    v.map(|n| format!("?version={n}")).unwrap_or_default()
}

fn transport(e: impl std::fmt::Display) -> Error {
    Error::Transport(e.to_string())
}

impl Client {
    /// A builder for the server at `addr` (`http://HOST:PORT` or `https://...`).
    pub fn builder(addr: impl Into<String>) -> Builder {
        Builder {
            addr: addr.into(),
            token: None,
            ca: None,
            cert: None,
            key: None,
            timeout: Duration::from_secs(60),
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Error> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| transport(format!("{}: {e}", self.authority)))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => {
                let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                    .await
                    .map_err(transport)?;
                tokio::spawn(conn);
                Ok(send)
            }
            Some(tls) => {
                let name = ServerName::try_from(self.host.clone())
                    .map_err(|e| Error::Config(format!("server name {}: {e}", self.host)))?;
                let stream = tls.connect(name, tcp).await.map_err(transport)?;
                let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(transport)?;
                tokio::spawn(conn);
                Ok(send)
            }
        }
    }

    /// One call: the raw status and body.
    ///
    /// # Errors
    /// [`Error::Transport`] when the server cannot be reached or the call times out.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Bytes), Error> {
        tokio::time::timeout(self.timeout, self.raw_inner(method, path, body))
            .await
            .map_err(|_| Error::Transport(format!("no answer within {:?}", self.timeout)))?
    }

    async fn raw_inner(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Bytes), Error> {
        let body = Bytes::from(body.unwrap_or_default());
        let request = || {
            let mut b = Request::builder()
                .method(method.clone())
                .uri(path)
                .header(hyper::header::HOST, &self.authority);
            if let Some(t) = &self.token {
                b = b.header(
                    hyper::header::AUTHORIZATION,
                    format!("Bearer {}", t.as_str()),
                );
            }
            if !body.is_empty() {
                b = b.header(hyper::header::CONTENT_TYPE, "application/json");
            }
            b.body(Full::new(body.clone()))
                .map_err(|e| Error::Config(e.to_string()))
        };
        // A kept-alive connection the server has closed meanwhile is replaced: when
        // the request was not sent on it, or (for a GET) when the server closed it
        // without answering.
        let mut sent = None;
        let reused = self.conn.lock().await.take();
        if let Some(mut s) = reused
            && s.ready().await.is_ok()
        {
            match s.try_send_request(request()?).await {
                Ok(res) => sent = Some((s, res)),
                Err(mut e) => {
                    let unsent = e.take_message().is_some();
                    let closed = method == Method::GET && e.error().is_incomplete_message();
                    if !unsent && !closed {
                        return Err(transport(e.into_error()));
                    }
                }
            }
        }
        let (send, res) = match sent {
            Some(sent) => sent,
            None => {
                let mut s = self.connect().await?;
                let res = s.send_request(request()?).await.map_err(transport)?;
                (s, res)
            }
        };
        let status = res.status().as_u16();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(transport)?
            .to_bytes();
        *self.conn.lock().await = Some(send);
        Ok((status, bytes))
    }

    /// One JSON call: `body` serialized, the answer parsed as `R` (an empty answer
    /// parses as JSON `null`, so `R = ()` fits 204s).
    ///
    /// # Errors
    /// [`Error::Api`] for an error answer; [`Error::Protocol`] for an answer that does not
    /// parse; [`Error::Transport`].
    pub async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, Error> {
        let body = body
            .map(|b| serde_json::to_vec(b).map_err(|e| Error::Protocol(e.to_string())))
            .transpose()?;
        let (status, bytes) = self.raw(method, path, body).await?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &bytes));
        }
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(bytes).map_err(|e| Error::Protocol(e.to_string()))
    }

    async fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R, Error> {
        self.call::<(), R>(Method::GET, path, None).await
    }

    async fn post<B: Serialize, R: DeserializeOwned>(&self, path: &str, b: &B) -> Result<R, Error> {
        self.call(Method::POST, path, Some(b)).await
    }

    /// `GET /v1/sys/health`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn health(&self) -> Result<sys::Health, Error> {
        // Any state is an answer: asked for 200 in every state, the server says which.
        self.get("/v1/sys/health?sealedcode=200&uninitcode=200")
            .await
    }

    /// `POST /v1/sys/init`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn init(&self, r: &sys::Init) -> Result<sys::Initialized, Error> {
        self.post("/v1/sys/init", r).await
    }

    /// `POST /v1/sys/unseal`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn unseal(&self, r: &sys::Unseal) -> Result<sys::UnsealProgress, Error> {
        self.post("/v1/sys/unseal", r).await
    }

    /// `POST /v1/sys/seal`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn seal(&self) -> Result<(), Error> {
        self.call::<(), ()>(Method::POST, "/v1/sys/seal", None)
            .await
    }

    /// `POST /v1/kms/keys`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn create_key(&self, r: &api::CreateKey) -> Result<api::KeyInfo, Error> {
        self.post("/v1/kms/keys", r).await
    }

    /// `GET /v1/kms/keys`: one page.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn list_keys(
        &self,
        prefix: &str,
        after: Option<&str>,
    ) -> Result<api::KeyList, Error> {
        let mut q = format!("/v1/kms/keys?prefix={}", path_segment(prefix));
        if let Some(a) = after {
            q.push_str(&format!("&after={}", path_segment(a)));
        }
        self.get(&q).await
    }

    /// `GET /v1/kms/keys/{name}`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn key(&self, name: &str) -> Result<api::KeyInfo, Error> {
        self.get(&format!("/v1/kms/keys/{}", path_segment(name)))
            .await
    }

    /// `DELETE /v1/kms/keys/{name}`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn delete_key(&self, name: &str) -> Result<(), Error> {
        self.call::<(), ()>(
            Method::DELETE,
            &format!("/v1/kms/keys/{}", path_segment(name)),
            None,
        )
        .await
    }

    /// `POST /v1/kms/keys/{name}/rotate`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn rotate(&self, name: &str) -> Result<api::Rotated, Error> {
        self.call::<(), _>(
            Method::POST,
            &format!("/v1/kms/keys/{}/rotate", path_segment(name)),
            None,
        )
        .await
    }

    /// `POST /v1/kms/keys/{name}/config`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn configure(
        &self,
        name: &str,
        r: &api::ConfigureKey,
    ) -> Result<api::KeyInfo, Error> {
        self.post(&format!("/v1/kms/keys/{}/config", path_segment(name)), r)
            .await
    }

    /// `POST /v1/kms/sign`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn sign(&self, r: &api::Sign) -> Result<api::Versioned, Error> {
        self.post("/v1/kms/sign", r).await
    }

    /// `POST /v1/kms/verify`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn verify(&self, r: &api::Verify) -> Result<api::Verified, Error> {
        self.post("/v1/kms/verify", r).await
    }

    /// `POST /v1/kms/encrypt`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn encrypt(&self, r: &api::Encrypt) -> Result<api::Versioned, Error> {
        self.post("/v1/kms/encrypt", r).await
    }

    /// `POST /v1/kms/decrypt`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn decrypt(&self, r: &api::Decrypt) -> Result<api::Secret, Error> {
        self.post("/v1/kms/decrypt", r).await
    }

    /// `POST /v1/kms/rewrap`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn rewrap(&self, r: &api::Decrypt) -> Result<api::Versioned, Error> {
        self.post("/v1/kms/rewrap", r).await
    }

    /// `POST /v1/kms/datakey`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn datakey(&self, r: &api::Datakey) -> Result<api::DatakeyOut, Error> {
        self.post("/v1/kms/datakey", r).await
    }

    /// `POST /v1/kms/hmac`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn hmac(&self, r: &api::Hmac) -> Result<api::Versioned, Error> {
        self.post("/v1/kms/hmac", r).await
    }

    /// `POST /v1/kms/encap`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn encap(&self, r: &api::Encap) -> Result<api::Encapsulated, Error> {
        self.post("/v1/kms/encap", r).await
    }

    /// `POST /v1/kms/decap`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn decap(&self, r: &api::Decap) -> Result<api::Secret, Error> {
        self.post("/v1/kms/decap", r).await
    }

    /// `POST /v1/kms/wrap`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn wrap(&self, r: &api::Wrap) -> Result<api::Versioned, Error> {
        self.post("/v1/kms/wrap", r).await
    }

    /// `POST /v1/kms/unwrap`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn unwrap(&self, r: &api::Unwrap) -> Result<api::Secret, Error> {
        self.post("/v1/kms/unwrap", r).await
    }

    /// `POST /v1/kms/hmac/verify`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn hmac_verify(&self, r: &api::HmacVerify) -> Result<api::Verified, Error> {
        self.post("/v1/kms/hmac/verify", r).await
    }

    /// `POST /v1/kms/batch`: many operations in one request, answered in order.
    ///
    /// # Errors
    /// As [`Client::call`] (a failing operation is an `error` in its result, not an
    /// error of the call).
    pub async fn batch(&self, ops: Vec<api::BatchOp>) -> Result<Vec<api::BatchResult>, Error> {
        let r: api::BatchResults = self.post("/v1/kms/batch", &api::Batch { ops }).await?;
        Ok(r.results)
    }

    /// `POST /v1/kms/keys/{name}/import`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn import_key(&self, name: &str, r: &api::ImportKey) -> Result<api::KeyInfo, Error> {
        self.post(&format!("/v1/kms/keys/{}/import", path_segment(name)), r)
            .await
    }

    /// `GET /v1/kms/keys/{name}/export`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn export_key(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<api::ExportedKey, Error> {
        self.get(&format!(
            "/v1/kms/keys/{}/export{}",
            path_segment(name),
            version_query(version)
        ))
        .await
    }

    /// `POST /v1/kms/keys/{name}/versions/{version}/destroy`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn destroy_version(&self, name: &str, version: u32) -> Result<api::KeyInfo, Error> {
        self.call::<(), _>(
            Method::POST,
            &format!(
                "/v1/kms/keys/{}/versions/{version}/destroy",
                path_segment(name)
            ),
            None,
        )
        .await
    }

    /// `GET /v1/kms/keys/{name}/attest`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn attest(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<api::Attestation, Error> {
        self.get(&format!(
            "/v1/kms/keys/{}/attest{}",
            path_segment(name),
            version_query(version)
        ))
        .await
    }

    /// `GET /v1/kms/wrapping-key`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn wrapping_key(&self, alg: api::WrappingAlg) -> Result<api::PublicKeyPem, Error> {
        let alg = match alg {
            api::WrappingAlg::MlKem768 => "ml-kem-768",
            api::WrappingAlg::Rsa4096 => "rsa-4096",
        };
        self.get(&format!("/v1/kms/wrapping-key?alg={alg}")).await
    }

    /// `GET /v1/kms/attestation-key`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn attestation_key(&self) -> Result<api::PublicKeyPem, Error> {
        self.get("/v1/kms/attestation-key").await
    }

    /// `GET /v1/log/proof/inclusion`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn inclusion_proof(&self, index: u64, size: Option<u64>) -> Result<Proof, Error> {
        let size = size.map(|n| format!("&size={n}")).unwrap_or_default();
        self.get(&format!("/v1/log/proof/inclusion?index={index}{size}"))
            .await
    }

    /// `GET /v1/log/proof/consistency`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn consistency_proof(&self, old: u64, new: Option<u64>) -> Result<Proof, Error> {
        let new = new.map(|n| format!("&new={n}")).unwrap_or_default();
        self.get(&format!("/v1/log/proof/consistency?old={old}{new}"))
            .await
    }

    /// `POST /v1/auth/tokens`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn create_token(&self, r: &CreateToken) -> Result<Token, Error> {
        self.post("/v1/auth/tokens", r).await
    }

    /// `POST /v1/auth/tokens/revoke`.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn revoke_token(&self, id: &str) -> Result<(), Error> {
        self.post("/v1/auth/tokens/revoke", &RevokeToken { id: id.to_owned() })
            .await
    }

    /// `GET /v1/log/checkpoint`: the signed checkpoint note.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn checkpoint(&self) -> Result<Vec<u8>, Error> {
        self.bytes("/v1/log/checkpoint").await
    }

    /// `GET /v1/log/keys`: the checkpoint verifier keys, one per line.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn log_keys(&self) -> Result<String, Error> {
        let b = self.bytes("/v1/log/keys").await?;
        String::from_utf8(b).map_err(|_| Error::Protocol("verifier keys: not UTF-8".into()))
    }

    /// `GET /v1/log/tile/...`: a hash tile or entry bundle.
    ///
    /// # Errors
    /// As [`Client::call`].
    pub async fn tile(&self, path: &str) -> Result<Vec<u8>, Error> {
        self.bytes(&format!("/v1/log/tile/{path}")).await
    }

    async fn bytes(&self, path: &str) -> Result<Vec<u8>, Error> {
        let (status, b) = self.raw(Method::GET, path, None).await?;
        if (200..300).contains(&status) {
            return Ok(b.to_vec());
        }
        Err(api_error(status, &b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let ok = |a: &str| {
            Client::builder(a)
                .build()
                .map(|c| (c.host.clone(), c.port))
                .ok()
        };
        assert_eq!(
            ok("http://127.0.0.1:8200"),
            Some(("127.0.0.1".into(), 8200))
        );
        assert_eq!(ok("http://[::1]:9"), Some(("::1".into(), 9)));
        assert_eq!(ok("http://[::1]"), Some(("::1".into(), 80)));
        assert_eq!(
            ok("http://kms.internal/"),
            Some(("kms.internal".into(), 80))
        );
        for bad in [
            "127.0.0.1:8200",
            "http://",
            "http://h:port",
            "http://h:8200/v1",
            "ftp://h",
        ] {
            assert!(Client::builder(bad).build().is_err(), "{bad}");
        }
        // https needs the server's CA.
        assert!(Client::builder("https://h:1").build().is_err());
    }
}
