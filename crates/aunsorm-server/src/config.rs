//! Server configuration: a TOML file, overridden by `AUNSORM_*` variables, overridden
//! by flags; checked once, at start, into [`Settings`].
//!
//! ```toml
//! store = "aunsorm-data"          # store directory (SQLite files and the checkpoint)
//! listen = "127.0.0.1:8200"       # port 0: any free port
//! log_level = "info"              # error | warn | info (info: one line per request)
//! checkpoint_interval_secs = 5    # how often the log checkpoint is saved to disk
//! workers = 2                     # threads serving connections (default: one per CPU)
//!
//! [limits]
//! body = 1048576                  # largest request body, bytes
//! concurrency = 4096              # requests in flight; more get 503 + Retry-After
//! timeout_secs = 30               # per request, body included; then 504
//! header_timeout_secs = 10        # to send the request head; then the connection closes
//! rate = 0                        # requests/s per token id (0: unlimited); beyond: 429
//! burst = 0                       # bucket size with a rate
//!
//! [tls]
//! cert = "server.pem"             # certificate chain, PEM
//! key = "server.key"              # private key, PEM (PKCS#8, SEC1 or PKCS#1)
//! client_ca = "clients.pem"       # optional: require client certificates from these CAs
//! ```

use crate::limits::Limits;
use crate::obs::Level;
use crate::{ApiError, limits};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where the store lives unless told otherwise.
pub const DEFAULT_STORE: &str = "aunsorm-data";
/// Where the server listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8200";
/// The most threads `workers` may ask for.
pub const MAX_WORKERS: usize = 1024;

/// The configuration as written: every field optional, so that layers can be merged.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Store directory.
    pub store: Option<PathBuf>,
    /// Address to listen on.
    pub listen: Option<String>,
    /// `error`, `warn` or `info`.
    pub log_level: Option<String>,
    /// Seconds between checkpoint saves.
    pub checkpoint_interval_secs: Option<u64>,
    /// Threads serving connections.
    pub workers: Option<usize>,
    /// Protection.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// TLS; plain HTTP without it.
    pub tls: Option<TlsConfig>,
}

/// `[limits]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body, bytes.
    pub body: Option<usize>,
    /// Requests in flight.
    pub concurrency: Option<usize>,
    /// Seconds per request.
    pub timeout_secs: Option<u64>,
    /// Seconds to send the request head.
    pub header_timeout_secs: Option<u64>,
    /// Requests per second per token id.
    pub rate: Option<f64>,
    /// Bucket size.
    pub burst: Option<f64>,
}

/// `[tls]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, PEM.
    pub cert: Option<PathBuf>,
    /// Private key, PEM.
    pub key: Option<PathBuf>,
    /// CA certificates that client certificates must chain to (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

fn invalid(what: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("config: {what}"))
}

impl Config {
    /// Reads a TOML file.
    ///
    /// # Errors
    /// `invalid_input` naming the file and what is wrong (unknown keys included).
    pub fn from_file(path: &Path) -> Result<Config, ApiError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| invalid(format!("{}: {}", path.display(), e.message())))
    }

    /// This configuration with every value set in `over` replaced by it.
    #[must_use]
    pub fn overridden_by(self, over: Config) -> Config {
        let l = self.limits;
        let o = over.limits;
        let tls = match (self.tls, over.tls) {
            (Some(a), Some(b)) => Some(TlsConfig {
                cert: b.cert.or(a.cert),
                key: b.key.or(a.key),
                client_ca: b.client_ca.or(a.client_ca),
            }),
            (a, b) => b.or(a),
        };
        Config {
            store: over.store.or(self.store),
            listen: over.listen.or(self.listen),
            log_level: over.log_level.or(self.log_level),
            checkpoint_interval_secs: over
                .checkpoint_interval_secs
                .or(self.checkpoint_interval_secs),
            workers: over.workers.or(self.workers),
            limits: LimitsConfig {
                body: o.body.or(l.body),
                concurrency: o.concurrency.or(l.concurrency),
                timeout_secs: o.timeout_secs.or(l.timeout_secs),
                header_timeout_secs: o.header_timeout_secs.or(l.header_timeout_secs),
                rate: o.rate.or(l.rate),
                burst: o.burst.or(l.burst),
            },
            tls,
        }
    }

    /// Checks everything and loads the TLS files.
    ///
    /// # Errors
    /// `invalid_input` naming the first bad setting.
    pub fn resolve(&self) -> Result<Settings, ApiError> {
        let listen = self.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen.parse().map_err(|_| {
            invalid(format!(
                "listen {listen:?} is not HOST:PORT with an IP host"
            ))
        })?;
        let log_level: Level = self
            .log_level
            .as_deref()
            .unwrap_or("info")
            .parse()
            .map_err(invalid)?;
        let l = &self.limits;
        let secs = |what: &str, v: Option<u64>, d: Duration| -> Result<Duration, ApiError> {
            match v {
                None => Ok(d),
                Some(0) => Err(invalid(format!("{what} must be more than 0"))),
                Some(s) if s > 86_400 => Err(invalid(format!("{what} must be at most 86400"))),
                Some(s) => Ok(Duration::from_secs(s)),
            }
        };
        let rate = l.rate.unwrap_or(0.0);
        let limits = Limits {
            body: l.body.unwrap_or(limits::DEFAULT_BODY_LIMIT),
            concurrency: l.concurrency.unwrap_or(limits::DEFAULT_CONCURRENCY),
            timeout: secs("timeout_secs", l.timeout_secs, limits::DEFAULT_TIMEOUT)?,
            rate,
            burst: l
                .burst
                .unwrap_or(if rate > 0.0 { rate.max(1.0) } else { 0.0 }),
        };
        limits
            .validate()
            .map_err(|e| invalid(format!("limits: {}", e.message)))?;
        let workers = match self.workers {
            None => std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            Some(n) if (1..=MAX_WORKERS).contains(&n) => n,
            Some(_) => return Err(invalid(format!("workers must be 1 to {MAX_WORKERS}"))),
        };
        let tls = match &self.tls {
            None => None,
            Some(t) => Some(crate::transport::tls_config(t)?),
        };
        Ok(Settings {
            store: self
                .store
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STORE)),
            listen,
            log_level,
            checkpoint_interval: secs(
                "checkpoint_interval_secs",
                self.checkpoint_interval_secs,
                Duration::from_secs(5),
            )?,
            header_timeout: secs(
                "header_timeout_secs",
                l.header_timeout_secs,
                Duration::from_secs(10),
            )?,
            workers,
            limits,
            tls,
        })
    }
}

/// The checked configuration.
#[derive(Clone)]
pub struct Settings {
    /// Store directory.
    pub store: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// How much to log.
    pub log_level: Level,
    /// How often to save the log checkpoint.
    pub checkpoint_interval: Duration,
    /// Time allowed to send a request head.
    pub header_timeout: Duration,
    /// Threads serving connections (each with a runtime of its own).
    pub workers: usize,
    /// Protection.
    pub limits: Limits,
    /// TLS, when configured.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("store", &self.store)
            .field("listen", &self.listen)
            .field("workers", &self.workers)
            .field("limits", &self.limits)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_merge_and_bad_values_are_named() {
        let file: Config = toml::from_str(
            "listen = \"127.0.0.1:9000\"\nlog_level = \"warn\"\nworkers = 3\n[limits]\nbody = 10\nrate = 5\n",
        )
        .unwrap_or_default();
        assert_eq!(file.limits.body, Some(10));
        let flags = Config {
            listen: Some("127.0.0.1:0".into()),
            ..Config::default()
        };
        let s = file.overridden_by(flags).resolve();
        let s = s.map_err(|e| e.message);
        let got = s.map(|s| {
            (
                s.listen.port(),
                s.limits.body,
                s.limits.rate,
                s.limits.burst,
                s.log_level,
                s.workers,
            )
        });
        assert_eq!(got, Ok((0, 10, 5.0, 5.0, Level::Warn, 3)));

        for (text, needle) in [
            ("listen = \"localhost\"", "listen"),
            ("log_level = \"loud\"", "log level"),
            ("[limits]\nbody = 0", "body_limit"),
            ("workers = 0", "workers"),
            ("workers = 5000", "workers"),
            ("[limits]\ntimeout_secs = 0", "timeout_secs"),
            ("[limits]\nrate = -1", "rate"),
            ("nonsense = 1", "unknown field"),
            ("[tls]\ncert = \"/nonexistent.pem\"", "tls"),
        ] {
            let r = toml::from_str::<Config>(text)
                .map_err(|e| invalid(e.message()))
                .and_then(|c| c.resolve().map(|_| ()));
            let msg = r.err().map(|e| e.message).unwrap_or_default();
            assert!(msg.contains(needle), "{text}: {msg}");
        }
    }
}
