//! Capability tokens: Biscuit tokens (the `biscuit-auth` crate) signed by the server's
//! Ed25519 token key.
//!
//! Why Biscuit: it is a maintained, specified token format (Eclipse Biscuit) made for
//! exactly this: public-key signatures (anyone holding the public key can check a token,
//! only the server can mint one), offline attenuation by the holder (append a block of
//! checks, no server round trip), and a small Datalog for scopes, key prefixes and
//! expiry. Macaroon crates rely on a shared HMAC secret and are unmaintained.
//!
//! A minted token's authority block holds `token_id`, one `scope` fact per scope,
//! `prefix` (the key-name prefix it is restricted to) and, when it expires,
//! `expires`. A request is allowed when the route's scope is among the token's scopes
//! and the key it names starts with the prefix; attenuation blocks add checks
//! (fewer scopes, a longer prefix, an earlier expiry) that must all pass too.
//! Verification is cached by the token's SHA-256: the signature once per token, the
//! verdict for a (token, scope, key) for one second.

use crate::ApiError;
use biscuit_auth::builder::{Algorithm as BAlg, AuthorizerBuilder, BlockBuilder};
use biscuit_auth::{AuthorizerLimits, Biscuit, KeyPair, PrivateKey, PublicKey, UnverifiedBiscuit};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Read key metadata and public keys.
    KmsRead,
    /// Sign, verify, MAC.
    KmsSign,
    /// Encrypt, decrypt, rewrap, data keys.
    KmsEncrypt,
    /// Wrap, unwrap, encapsulate, decapsulate.
    KmsWrap,
    /// Rotate keys.
    KmsRotate,
    /// Create, configure and delete keys; manage tokens.
    KmsAdmin,
    /// Read the transparency log.
    LogRead,
}

/// Every scope, as minted into a root token.
pub const ALL_SCOPES: [Scope; 7] = [
    Scope::KmsRead,
    Scope::KmsSign,
    Scope::KmsEncrypt,
    Scope::KmsWrap,
    Scope::KmsRotate,
    Scope::KmsAdmin,
    Scope::LogRead,
];

impl Scope {
    /// The scope's name (`kms:sign`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::KmsRead => "kms:read",
            Scope::KmsSign => "kms:sign",
            Scope::KmsEncrypt => "kms:encrypt",
            Scope::KmsWrap => "kms:wrap",
            Scope::KmsRotate => "kms:rotate",
            Scope::KmsAdmin => "kms:admin",
            Scope::LogRead => "log:read",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = ApiError;
    fn from_str(s: &str) -> Result<Self, ApiError> {
        ALL_SCOPES
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| ApiError::invalid(format!("unknown scope {s:?}")))
    }
}

/// What to put in a new token, or what to narrow a token to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenSpec {
    /// Scopes (for attenuation: the token keeps only these; empty keeps all).
    pub scopes: Vec<Scope>,
    /// Key-name prefix the token is restricted to ("" for none).
    pub prefix: String,
    /// Lifetime from now.
    pub ttl: Option<Duration>,
}

fn quoted(s: &str) -> Result<String, ApiError> {
    // Key names and prefixes are plain ASCII without quotes or backslashes; refuse
    // anything else rather than escape it into Datalog.
    if s.bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    {
        Ok(format!("\"{s}\""))
    } else {
        Err(ApiError::invalid("prefix: printable ASCII without quotes"))
    }
}

pub(crate) fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

fn bad_token<E>(_: E) -> ApiError {
    ApiError::new("unauthorized", "invalid capability token")
}

fn too_busy() -> ApiError {
    ApiError::new(
        "overloaded",
        "the server is too busy to check the token's rules, retry later",
    )
}

/// A failed read of a token's facts: out of time is the moment's fault (biscuit's
/// default limit of 1 ms, which this once had, turned a thread preempted for longer
/// into a 401 for a valid token); anything else, the token's.
fn read_failure(e: biscuit_auth::error::Token) -> ApiError {
    match e {
        biscuit_auth::error::Token::RunLimit(biscuit_auth::error::RunLimit::Timeout) => too_busy(),
        _ => bad_token(()),
    }
}

/// Narrows `token` offline: no server, no key. The result can do at most what both
/// `token` and `spec` allow.
///
/// # Errors
/// `invalid_input` for a token that does not parse or a prefix that cannot be written.
pub fn attenuate(token: &str, spec: &TokenSpec) -> Result<String, ApiError> {
    let t = UnverifiedBiscuit::from_base64(token.trim())
        .map_err(|_| ApiError::invalid("not a capability token"))?;
    let mut b = BlockBuilder::new();
    if !spec.scopes.is_empty() {
        let any: Vec<String> = spec
            .scopes
            .iter()
            .map(|s| format!("operation(\"{}\")", s.as_str()))
            .collect();
        b = b
            .check(format!("check if {}", any.join(" or ")).as_str())
            .map_err(|_| ApiError::invalid("scopes"))?;
    }
    if !spec.prefix.is_empty() {
        b = b
            .check(
                format!(
                    "check if keyless(true) or key($k), $k.starts_with({})",
                    quoted(&spec.prefix)?
                )
                .as_str(),
            )
            .map_err(|_| ApiError::invalid("prefix"))?;
    }
    if let Some(ttl) = spec.ttl {
        let until = rfc3339(SystemTime::now() + ttl);
        b = b
            .check(format!("check if time($t), $t <= {until}").as_str())
            .map_err(|_| ApiError::invalid("ttl"))?;
    }
    t.append(b)
        .and_then(|t| t.to_base64())
        .map_err(|_| ApiError::invalid("cannot attenuate this token"))
}

/// (SHA-256 of the token, scope, key or "\0" for none).
type VerdictKey = ([u8; 32], Scope, String);

struct Verified {
    token: Biscuit,
    id: Arc<str>,
    expires: Option<u64>,
}

/// Mints and checks capability tokens.
pub struct TokenAuthority {
    root: KeyPair,
    public: PublicKey,
    revoked: RwLock<HashSet<String>>,
    tokens: Mutex<HashMap<[u8; 32], Arc<Verified>>>,
    verdicts: Mutex<HashMap<VerdictKey, (bool, Instant)>>,
}

impl std::fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenAuthority")
    }
}

const CACHE_LIMIT: usize = 10_000;
const VERDICT_TTL: Duration = Duration::from_secs(1);

impl TokenAuthority {
    /// An authority over the Ed25519 key with this 32-byte seed.
    ///
    /// # Errors
    /// `internal` for a seed of the wrong length.
    pub fn new(seed: &[u8], revoked: impl IntoIterator<Item = String>) -> Result<Self, ApiError> {
        let private = PrivateKey::from_bytes(seed, BAlg::Ed25519)
            .map_err(|_| ApiError::new("internal", "token key"))?;
        let root = KeyPair::from(&private);
        Ok(TokenAuthority {
            public: root.public(),
            root,
            revoked: RwLock::new(revoked.into_iter().collect()),
            tokens: Mutex::new(HashMap::new()),
            verdicts: Mutex::new(HashMap::new()),
        })
    }

    /// The authority over `kms`'s token key, with its persisted revocations.
    ///
    /// # Errors
    /// `sealed`, storage errors.
    pub fn from_kms(kms: &aunsorm_kms::Kms) -> Result<Self, ApiError> {
        let seed = kms.token_key_seed()?;
        TokenAuthority::new(seed.expose(), kms.revoked_tokens()?)
    }

    /// The public key that verifies every token (hex, `ed25519/<hex>` in Biscuit terms).
    #[must_use]
    pub fn public_key_hex(&self) -> String {
        self.public.to_bytes_hex()
    }

    /// A new token and its id.
    ///
    /// # Errors
    /// `invalid_input` for an empty scope list or a prefix that cannot be written;
    /// `entropy` when no id can be drawn.
    pub fn mint(&self, spec: &TokenSpec) -> Result<(String, String), ApiError> {
        if spec.scopes.is_empty() {
            return Err(ApiError::invalid("a token needs at least one scope"));
        }
        let mut raw = [0u8; 8];
        aunsorm_crypto::rng::fill(&mut raw)
            .map_err(|_| ApiError::new("entropy", "no randomness"))?;
        let id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let mut code = format!("token_id(\"{id}\");\nprefix({});\n", quoted(&spec.prefix)?);
        for s in &spec.scopes {
            code.push_str(&format!("scope(\"{}\");\n", s.as_str()));
        }
        if let Some(ttl) = spec.ttl {
            let until = SystemTime::now() + ttl;
            let secs = until.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            code.push_str(&format!("expires({secs});\n"));
            code.push_str(&format!("check if time($t), $t <= {};\n", rfc3339(until)));
        }
        let token = Biscuit::builder()
            .code(&code)
            .and_then(|b| b.build(&self.root))
            .and_then(|t| t.to_base64())
            .map_err(|_| ApiError::new("internal", "cannot mint the token"))?;
        Ok((token, id))
    }

    /// Revokes a token id: that token and every attenuation of it.
    pub fn revoke(&self, id: &str) {
        if let Ok(mut r) = self.revoked.write() {
            r.insert(id.to_owned());
        }
        if let Ok(mut v) = self.verdicts.lock() {
            v.clear();
        }
    }

    fn verified(&self, token: &str) -> Result<([u8; 32], Arc<Verified>), ApiError> {
        self.verified_within(token, &run_limits())
    }

    /// [`Self::verified`] with `limits` on reading the token's facts. Like a rule
    /// check, a read cut short by the clock is an `overloaded` error, not a verdict on
    /// the token, and is not cached.
    fn verified_within(
        &self,
        token: &str,
        limits: &AuthorizerLimits,
    ) -> Result<([u8; 32], Arc<Verified>), ApiError> {
        let hash: [u8; 32] = aunsorm_crypto::sha256(token.as_bytes());
        if let Some(v) = self.tokens.lock().ok().and_then(|m| m.get(&hash).cloned()) {
            return Ok((hash, v));
        }
        let t = Biscuit::from_base64(token, self.public).map_err(bad_token)?;
        let mut a = AuthorizerBuilder::new()
            .set_limits(limits.clone())
            .build(&t)
            .map_err(bad_token)?;
        let ids: Vec<(String,)> = a.query("id($i) <- token_id($i)").map_err(read_failure)?;
        let [(id,)] = ids.as_slice() else {
            return Err(bad_token(()));
        };
        let expires: Vec<(i64,)> = a.query("e($e) <- expires($e)").map_err(read_failure)?;
        let v = Arc::new(Verified {
            id: Arc::from(id.as_str()),
            expires: expires.first().and_then(|(e,)| u64::try_from(*e).ok()),
            token: t,
        });
        if let Ok(mut m) = self.tokens.lock() {
            if m.len() >= CACHE_LIMIT {
                m.clear();
            }
            m.insert(hash, Arc::clone(&v));
        }
        Ok((hash, v))
    }

    /// When a valid token expires (Unix seconds; `None` for no expiry).
    ///
    /// # Errors
    /// `unauthorized` for a missing, malformed, forged, expired or revoked token.
    pub fn expiry(&self, token: &str) -> Result<Option<u64>, ApiError> {
        self.valid(Some(token)).map(|(_, v)| v.expires)
    }

    /// Checks that `token` is present, signed by this authority, unexpired and not
    /// revoked; its hash and what was verified.
    fn valid(&self, token: Option<&str>) -> Result<([u8; 32], Arc<Verified>), ApiError> {
        let token =
            token.ok_or_else(|| ApiError::new("unauthorized", "a capability token is required"))?;
        let (hash, v) = self.verified(token)?;
        self.current(&v)?;
        Ok((hash, v))
    }

    /// Checks that a verified token has not expired or been revoked since.
    fn current(&self, v: &Verified) -> Result<(), ApiError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if v.expires.is_some_and(|e| now > e) {
            return Err(ApiError::new(
                "unauthorized",
                "the capability token has expired",
            ));
        }
        if self.revoked.read().map_or(true, |r| r.contains(&*v.id)) {
            return Err(ApiError::new(
                "unauthorized",
                "the capability token was revoked",
            ));
        }
        Ok(())
    }

    /// Checks a bearer token for `scope` on `key` (or a route without a key) and
    /// returns the token id for the audit log.
    ///
    /// # Errors
    /// `unauthorized` for a missing, malformed, forged, expired or revoked token;
    /// `forbidden` when the token does not allow this scope on this key.
    pub fn authorize(
        &self,
        token: Option<&str>,
        scope: Scope,
        key: Option<&str>,
    ) -> Result<String, ApiError> {
        let (hash, v) = self.valid(token)?;
        self.permits(hash, &v, scope, key)?;
        Ok(v.id.to_string())
    }

    /// Whether the verified token `v` (its hash `hash`) allows `scope` on `key`.
    fn permits(
        &self,
        hash: [u8; 32],
        v: &Verified,
        scope: Scope,
        key: Option<&str>,
    ) -> Result<(), ApiError> {
        let cache_key = (hash, scope, key.unwrap_or("\0").to_owned());
        let cached = self
            .verdicts
            .lock()
            .ok()
            .and_then(|m| m.get(&cache_key).copied())
            .filter(|(_, at)| at.elapsed() < VERDICT_TTL)
            .map(|(ok, _)| ok);
        let ok = match cached {
            Some(ok) => ok,
            None => {
                // A verdict is cached; a run cut short by the clock is not one.
                let ok = self.run(&v.token, scope, key, &run_limits())?;
                if let Ok(mut m) = self.verdicts.lock() {
                    if m.len() >= CACHE_LIMIT {
                        m.clear();
                    }
                    m.insert(cache_key, (ok, Instant::now()));
                }
                ok
            }
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                "forbidden",
                format!(
                    "the capability token does not allow {} here",
                    scope.as_str()
                ),
            ))
        }
    }

    /// Whether `token` (already authenticated) is as minted, with no attenuation
    /// block: only such tokens may mint or revoke, so that an attenuated token cannot
    /// mint itself a wider one.
    pub(crate) fn is_unattenuated(&self, token: &str) -> bool {
        self.verified(token)
            .is_ok_and(|(_, v)| v.token.block_count() == 1)
    }

    /// Seconds until `token` (already authenticated) expires, if it does.
    pub(crate) fn remaining_secs(&self, token: &str) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.verified(token)
            .ok()
            .and_then(|(_, v)| v.expires)
            .map(|e| e.saturating_sub(now))
    }

    /// Runs the token's Datalog for `scope` on `key`: `Ok(false)` when it does not
    /// allow it (a token whose rules exceed the fact or iteration limits included: that
    /// is a property of the token), an `overloaded` error when the run ran out of time
    /// (a property of the moment, on a busy machine: not a verdict, not cached).
    fn run(
        &self,
        token: &Biscuit,
        scope: Scope,
        key: Option<&str>,
        limits: &AuthorizerLimits,
    ) -> Result<bool, ApiError> {
        let mut code = format!("operation(\"{}\");\n", scope.as_str());
        match key {
            Some(k) => match quoted(k) {
                Ok(q) => code.push_str(&format!("key({q});\n")),
                Err(_) => return Ok(false),
            },
            None => code.push_str("keyless(true);\n"),
        }
        code.push_str(
            "allow if operation($op), scope($op), key($k), prefix($p), $k.starts_with($p);\n\
             allow if operation($op), scope($op), keyless(true);\n",
        );
        match AuthorizerBuilder::new()
            .time()
            .set_limits(limits.clone())
            .code(&code)
            .and_then(|b| b.build(token))
            .and_then(|mut a| a.authorize())
        {
            Ok(_) => Ok(true),
            Err(biscuit_auth::error::Token::RunLimit(biscuit_auth::error::RunLimit::Timeout)) => {
                Err(too_busy())
            }
            Err(_) => Ok(false),
        }
    }
}

/// Limits on a token's Datalog run. Facts and iterations keep biscuit's defaults
/// (they bound what a crafted token can make the server do); the time limit is
/// biscuit's 1 ms raised to 50 ms: on two busy cores a thread is often preempted for
/// longer than 1 ms, and a run cut short then denied valid tokens.
fn run_limits() -> AuthorizerLimits {
    AuthorizerLimits {
        max_time: Duration::from_millis(50),
        ..AuthorizerLimits::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    /// An authority, a kms:sign token it minted and that token's id, and Datalog
    /// limits that leave no time at all.
    fn sign_token_and_no_time() -> (TokenAuthority, String, String, AuthorizerLimits) {
        let auth = TokenAuthority::new(&[7u8; 32], []).unwrap();
        let (token, id) = auth
            .mint(&TokenSpec {
                scopes: vec![Scope::KmsSign],
                ..TokenSpec::default()
            })
            .unwrap();
        let no_time = AuthorizerLimits {
            max_time: Duration::ZERO,
            ..AuthorizerLimits::default()
        };
        (auth, token, id, no_time)
    }

    /// A Datalog run cut short by its time limit is an `overloaded` error (503, to be
    /// retried), not a denial, and is not cached: the same request is allowed next.
    #[test]
    fn a_timed_out_run_is_not_a_denial_and_is_not_cached() {
        let (auth, token, _, no_time) = sign_token_and_no_time();
        let (hash, v) = auth.valid(Some(&token)).unwrap();
        let e = auth
            .run(&v.token, Scope::KmsSign, Some("k"), &no_time)
            .unwrap_err();
        assert_eq!(e.code, "overloaded");
        assert!(auth.verdicts.lock().unwrap().is_empty());
        // With the server's limits: allowed for its scope, denied (and cached) for another.
        assert!(auth.permits(hash, &v, Scope::KmsSign, Some("k")).is_ok());
        let e = auth
            .permits(hash, &v, Scope::KmsEncrypt, Some("k"))
            .unwrap_err();
        assert_eq!(e.code, "forbidden");
        assert_eq!(auth.verdicts.lock().unwrap().len(), 2);
    }

    /// Reading a new token's id and expiry runs under the same limits: out of time it
    /// is `overloaded`, not `unauthorized`, and nothing is cached; with the server's
    /// limits the same token is then valid.
    #[test]
    fn a_timed_out_token_read_is_not_a_401_and_is_not_cached() {
        let (auth, token, id, no_time) = sign_token_and_no_time();
        let e = auth.verified_within(&token, &no_time).err().unwrap();
        assert_eq!(e.code, "overloaded");
        assert!(auth.tokens.lock().unwrap().is_empty());
        let (_, v) = auth.valid(Some(&token)).unwrap();
        assert_eq!(&*v.id, id);
        // A forged token is still a 401, whatever the limits.
        let mut forged = token.clone().into_bytes();
        let mid = forged.len() / 2;
        forged[mid] = if forged[mid] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        for limits in [&no_time, &run_limits()] {
            let e = auth.verified_within(&forged, limits).err().unwrap();
            assert_eq!(e.code, "unauthorized");
        }
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_000_000)),
            "2026-11-18T11:06:40Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }
}

/// The request's bearer token, once it has been authenticated (signature, expiry,
/// revocation) by the `RequireToken` layer.
#[derive(Clone)]
pub struct Bearer {
    /// The token as sent. Shared: handlers take the bearer out of the request by
    /// cloning it.
    pub token: Arc<str>,
    /// Its id (what the audit log records).
    pub id: Arc<str>,
    /// The authority that accepted it.
    pub auth: Arc<TokenAuthority>,
    /// What the authority verified, so that checking a scope does not verify again.
    hash: [u8; 32],
    verified: Arc<Verified>,
}

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(..)")
    }
}

impl Bearer {
    /// [`TokenAuthority::authorize`] for this token: its id when allowed.
    ///
    /// # Errors
    /// As [`TokenAuthority::authorize`].
    pub fn authorize(&self, scope: Scope, key: Option<&str>) -> Result<Arc<str>, ApiError> {
        // Expiry and revocation again (cheap), then the scope: the signature and the
        // token's facts were verified once, when the request came in.
        self.auth.current(&self.verified)?;
        self.auth.permits(self.hash, &self.verified, scope, key)?;
        crate::request_id::note_caller(&self.id, key.unwrap_or(""));
        Ok(Arc::clone(&self.id))
    }

    /// Allows only an unattenuated `kms:admin` token (minting, revoking, sealing).
    ///
    /// # Errors
    /// `forbidden` for any other token.
    pub fn require_root(&self, what: &str) -> Result<(), ApiError> {
        self.authorize(Scope::KmsAdmin, None)?;
        if !self.auth.is_unattenuated(&self.token) {
            return Err(ApiError::new(
                "forbidden",
                format!("only an unattenuated kms:admin token can {what}"),
            ));
        }
        Ok(())
    }
}

/// Refuses a request without a valid capability token (401) before its body is read;
/// handlers then check the route's scope and key ([`TokenAuthority::authorize`]). A
/// layer made by hand rather than with `from_fn`: it allocates nothing per request.
/// For Vault's Transit API it also reads `X-Vault-Token` and refuses in Vault's shape.
#[derive(Clone)]
pub(crate) struct RequireToken {
    state: crate::AppState,
    vault: bool,
}

impl RequireToken {
    /// The token layer of Aunsorm's own routes.
    pub(crate) fn new(state: &crate::AppState) -> Self {
        RequireToken {
            state: state.clone(),
            vault: false,
        }
    }

    /// The token layer of Vault's routes.
    pub(crate) fn vault(state: &crate::AppState) -> Self {
        RequireToken {
            state: state.clone(),
            vault: true,
        }
    }
}

impl<S> tower::Layer<S> for RequireToken {
    type Service = RequireTokenService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireTokenService {
            guard: self.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub(crate) struct RequireTokenService<S> {
    guard: RequireToken,
    inner: S,
}

impl<S> tower::Service<axum::extract::Request> for RequireTokenService<S>
where
    S: tower::Service<axum::extract::Request, Response = axum::response::Response>,
{
    type Response = axum::response::Response;
    type Error = S::Error;
    type Future = futures_util::future::Either<
        std::future::Ready<Result<axum::response::Response, S::Error>>,
        S::Future,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: axum::extract::Request) -> Self::Future {
        use axum::response::IntoResponse;
        use futures_util::future::Either;
        match bearer(&self.guard.state, req.headers(), self.guard.vault) {
            Ok(b) => {
                req.extensions_mut().insert(b);
                Either::Right(self.inner.call(req))
            }
            Err(e) if self.guard.vault => Either::Left(std::future::ready(Ok(
                crate::transit::VaultError::from(e).into_response(),
            ))),
            Err(e) => Either::Left(std::future::ready(Ok(e.into_response()))),
        }
    }
}

/// Checks the request's token (`Authorization: Bearer`, or with `vault` also
/// `X-Vault-Token`) and its rate limit.
pub(crate) fn bearer(
    s: &crate::AppState,
    headers: &axum::http::HeaderMap,
    vault: bool,
) -> Result<Bearer, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| {
            vault
                .then(|| headers.get("x-vault-token").and_then(|v| v.to_str().ok()))
                .flatten()
        })
        .map(|t| Arc::<str>::from(t.trim()));
    let auth = s.node.auth()?;
    let (hash, verified) = auth.valid(token.as_deref())?;
    let id = Arc::clone(&verified.id);
    s.limits.rate_check(&id)?;
    let token = token.ok_or_else(|| ApiError::new("unauthorized", "missing token"))?;
    Ok(Bearer {
        token,
        id,
        auth,
        hash,
        verified,
    })
}
