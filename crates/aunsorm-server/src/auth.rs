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
//! A token's signature and facts are verified once and cached (by the token itself:
//! the cache holds the parsed token anyway). A token exactly as [`TokenAuthority::mint`]
//! made it (its authority block and nothing else, which is checked line by line) is
//! then decided without Datalog: its scopes and prefix are read once, and a request is
//! a bit test and a prefix comparison, the same verdict as the Datalog policy (a test
//! compares the two). An attenuated token runs the Datalog, and each verdict for a
//! (scope, key) is kept for one second. Revocation marks the cached entries of the id
//! it revokes, so that checking a request reads a flag, not a shared set.

use crate::ApiError;
use biscuit_auth::builder::{Algorithm as BAlg, AuthorizerBuilder, BlockBuilder};
use biscuit_auth::{AuthorizerLimits, Biscuit, KeyPair, PrivateKey, PublicKey, UnverifiedBiscuit};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
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
    /// The scope's bit in a [`Policy`]'s set.
    fn bit(self) -> u8 {
        1 << (self as u8)
    }

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

/// Whether `s` can be written as a Datalog string as it is: key names and prefixes are
/// plain ASCII without quotes or backslashes; anything else is refused rather than
/// escaped into Datalog.
fn writable(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

fn quoted(s: &str) -> Result<String, ApiError> {
    if writable(s) {
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

/// The Datalog of a token's authority block as [`TokenAuthority::mint`] writes it.
fn authority_code(
    id: &str,
    prefix: &str,
    scopes: &[Scope],
    expires: Option<u64>,
) -> Result<String, ApiError> {
    let mut code = format!("token_id(\"{id}\");\nprefix({});\n", quoted(prefix)?);
    for s in scopes {
        code.push_str(&format!("scope(\"{}\");\n", s.as_str()));
    }
    if let Some(secs) = expires {
        code.push_str(&format!("expires({secs});\n"));
        code.push_str(&format!(
            "check if time($t), $t <= {};\n",
            rfc3339(UNIX_EPOCH + Duration::from_secs(secs))
        ));
    }
    Ok(code)
}

/// What a token as minted allows: the scopes of its `scope` facts (a bit each) on keys
/// that start with its `prefix`, until its `expires` (checked with revocation).
struct Policy {
    scopes: u8,
    prefix: Box<str>,
}

impl Policy {
    /// The Datalog policy's verdict (see [`TokenAuthority::run`]): the scope is among
    /// the token's and the key (one that can be written in Datalog) starts with its
    /// prefix; a route without a key needs the scope alone.
    fn allows(&self, scope: Scope, key: Option<&str>) -> bool {
        self.scopes & scope.bit() != 0
            && key.is_none_or(|k| writable(k) && k.starts_with(&*self.prefix))
    }
}

/// A verdict of the Datalog for an attenuated token, by (scope, key or "\0" for none).
type Verdicts = HashMap<(Scope, Box<str>), (bool, Instant)>;

struct Verified {
    token: Biscuit,
    id: Arc<str>,
    expires: Option<u64>,
    /// Set, under the token cache's lock, when `id` is revoked.
    revoked: AtomicBool,
    /// The token's policy when it is exactly as minted; `None` for an attenuated token,
    /// whose rules the Datalog decides.
    policy: Option<Policy>,
    /// The Datalog's recent verdicts (attenuated tokens only).
    verdicts: Mutex<Verdicts>,
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The policy of `t` when its only block is exactly what `mint` writes for the facts
/// it holds (compared line by line, in any order: facts are a set); `None` otherwise.
fn policy_of(
    t: &Biscuit,
    a: &mut biscuit_auth::Authorizer,
    id: &str,
    expires: Option<u64>,
) -> Option<Policy> {
    if t.block_count() != 1 {
        return None;
    }
    let scopes: Vec<(String,)> = a.query("s($s) <- scope($s)").ok()?;
    let prefixes: Vec<(String,)> = a.query("p($p) <- prefix($p)").ok()?;
    let [(prefix,)] = prefixes.as_slice() else {
        return None;
    };
    let scopes: Vec<Scope> = scopes
        .iter()
        .map(|(s,)| s.parse().ok())
        .collect::<Option<_>>()?;
    let expected = authority_code(id, prefix, &scopes, expires).ok()?;
    let source = t.print_block_source(0).ok()?;
    let mut want: Vec<&str> = expected.lines().collect();
    let mut have: Vec<&str> = source.lines().collect();
    want.sort_unstable();
    have.sort_unstable();
    (want == have).then(|| Policy {
        scopes: scopes.iter().fold(0, |bits, s| bits | s.bit()),
        prefix: prefix.as_str().into(),
    })
}

/// Mints and checks capability tokens.
pub struct TokenAuthority {
    root: KeyPair,
    public: PublicKey,
    revoked: RwLock<HashSet<String>>,
    tokens: Mutex<TokenCache>,
}

impl std::fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenAuthority")
    }
}

/// Verified tokens the cache holds at most.
const CACHE_LIMIT: usize = 10_000;
/// Token text the cache holds at most (the parsed tokens take about as much again).
const CACHE_BYTES: usize = 16 << 20;
/// Longer tokens are verified on every request, not cached.
const MAX_CACHED_TOKEN: usize = 64 << 10;

/// Verified tokens by their text, within [`CACHE_LIMIT`] entries and [`CACHE_BYTES`] of
/// text: a holder can make any number of large attenuations, each a new entry. When
/// either bound would be passed, the cache starts again empty.
#[derive(Default)]
struct TokenCache {
    map: HashMap<Box<str>, Arc<Verified>>,
    bytes: usize,
}

impl TokenCache {
    fn get(&self, token: &str) -> Option<&Arc<Verified>> {
        self.map.get(token)
    }

    fn insert(&mut self, token: &str, v: Arc<Verified>) {
        if token.len() > MAX_CACHED_TOKEN {
            return;
        }
        if self.map.len() >= CACHE_LIMIT || self.bytes + token.len() > CACHE_BYTES {
            self.clear();
        }
        if self.map.insert(token.into(), v).is_none() {
            self.bytes += token.len();
        }
    }

    fn values(&self) -> impl Iterator<Item = &Arc<Verified>> {
        self.map.values()
    }

    fn clear(&mut self) {
        self.map.clear();
        self.bytes = 0;
    }
}

/// Verdicts kept per attenuated token.
const VERDICT_LIMIT: usize = 1024;
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
            tokens: Mutex::new(TokenCache::default()),
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
        let expires = spec.ttl.map(|ttl| {
            (SystemTime::now() + ttl)
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
        let code = authority_code(&id, &spec.prefix, &spec.scopes, expires)?;
        let token = Biscuit::builder()
            .code(&code)
            .and_then(|b| b.build(&self.root))
            .and_then(|t| t.to_base64())
            .map_err(|_| ApiError::new("internal", "cannot mint the token"))?;
        Ok((token, id))
    }

    /// Revokes a token id: that token and every attenuation of it (they share its
    /// authority block, so its id). Done under the token cache's lock, which a newly
    /// verified token is checked and cached under too: either the revocation marks it
    /// or it sees the revocation.
    pub fn revoke(&self, id: &str) {
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        self.revoked
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned());
        for v in tokens.values().filter(|v| &*v.id == id) {
            v.revoked.store(true, Ordering::Release);
        }
    }

    fn verified(&self, token: &str) -> Result<Arc<Verified>, ApiError> {
        self.verified_within(token, &run_limits())
    }

    /// [`Self::verified`] with `limits` on reading the token's facts. Like a rule
    /// check, a read cut short by the clock is an `overloaded` error, not a verdict on
    /// the token, and is not cached.
    fn verified_within(
        &self,
        token: &str,
        limits: &AuthorizerLimits,
    ) -> Result<Arc<Verified>, ApiError> {
        if let Some(v) = self
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
        {
            return Ok(Arc::clone(v));
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
        let expires = expires.first().and_then(|(e,)| u64::try_from(*e).ok());
        let policy = policy_of(&t, &mut a, id, expires);
        let v = Arc::new(Verified {
            id: Arc::from(id.as_str()),
            expires,
            revoked: AtomicBool::new(false),
            policy,
            verdicts: Mutex::new(HashMap::new()),
            token: t,
        });
        let mut m = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let revoked = self
            .revoked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&*v.id);
        v.revoked.store(revoked, Ordering::Release);
        m.insert(token, Arc::clone(&v));
        Ok(v)
    }

    /// Checks that `token` is present, signed by this authority, unexpired and not
    /// revoked; what was verified.
    fn valid(&self, token: Option<&str>) -> Result<Arc<Verified>, ApiError> {
        let token =
            token.ok_or_else(|| ApiError::new("unauthorized", "a capability token is required"))?;
        let v = self.verified(token)?;
        Self::current(&v)?;
        Ok(v)
    }

    /// Checks that a verified token has not expired or been revoked since.
    fn current(v: &Verified) -> Result<(), ApiError> {
        if let Some(e) = v.expires {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            if now > e {
                return Err(ApiError::new(
                    "unauthorized",
                    "the capability token has expired",
                ));
            }
        }
        if v.revoked.load(Ordering::Acquire) {
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
        let v = self.valid(token)?;
        Self::permits(&v, scope, key)?;
        Ok(v.id.to_string())
    }

    /// Whether the verified token `v` allows `scope` on `key`.
    fn permits(v: &Verified, scope: Scope, key: Option<&str>) -> Result<(), ApiError> {
        let ok = match &v.policy {
            Some(p) => p.allows(scope, key),
            None => Self::run_cached(v, scope, key)?,
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

    /// [`Self::run`] for an attenuated token, through its verdicts of the last second.
    fn run_cached(v: &Verified, scope: Scope, key: Option<&str>) -> Result<bool, ApiError> {
        let cache_key = (scope, Box::<str>::from(key.unwrap_or("\0")));
        let cached = v
            .verdicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&cache_key)
            .copied()
            .filter(|(_, at)| at.elapsed() < VERDICT_TTL)
            .map(|(ok, _)| ok);
        if let Some(ok) = cached {
            return Ok(ok);
        }
        // A verdict is cached; a run cut short by the clock is not one.
        let ok = Self::run(&v.token, scope, key, &run_limits())?;
        let mut m = v.verdicts.lock().unwrap_or_else(PoisonError::into_inner);
        if m.len() >= VERDICT_LIMIT {
            m.clear();
        }
        m.insert(cache_key, (ok, Instant::now()));
        Ok(ok)
    }

    /// Runs the token's Datalog for `scope` on `key`: `Ok(false)` when it does not
    /// allow it (a token whose rules exceed the fact or iteration limits included: that
    /// is a property of the token), an `overloaded` error when the run ran out of time
    /// (a property of the moment, on a busy machine: not a verdict, not cached).
    fn run(
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

/// The fuzz target's entry (`fuzz/fuzz_targets/bearer_token.rs`): the token check on
/// arbitrary text sent as a token, and on a fixed authority's root token attenuated
/// with checks made from the input (scopes from its first byte, the prefix from the
/// rest), each then asked for every scope on a few keys. Nothing may panic, and an
/// attenuated token may allow no scope and no key outside what it was narrowed to.
pub(crate) fn fuzz_token(data: &[u8]) {
    static FIXED: std::sync::OnceLock<Option<(TokenAuthority, String)>> =
        std::sync::OnceLock::new();
    let Some((auth, root)) = FIXED.get_or_init(|| {
        let auth = TokenAuthority::new(&[7u8; 32], []).ok()?;
        let spec = TokenSpec {
            scopes: ALL_SCOPES.to_vec(),
            ..TokenSpec::default()
        };
        let (root, _) = auth.mint(&spec).ok()?;
        Some((auth, root))
    }) else {
        return;
    };
    const KEYS: [Option<&str>; 5] = [None, Some("k"), Some("team-a/k"), Some(""), Some("a\"b")];
    let allowed = |t: &str| -> Vec<(Scope, Option<&'static str>)> {
        let Ok(v) = auth.valid(Some(t)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for scope in ALL_SCOPES {
            for key in KEYS {
                if TokenAuthority::permits(&v, scope, key).is_ok() {
                    out.push((scope, key));
                }
            }
        }
        out
    };
    if let Ok(text) = std::str::from_utf8(data) {
        allowed(text);
    }
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let spec = TokenSpec {
        scopes: ALL_SCOPES
            .into_iter()
            .enumerate()
            .filter(|(i, _)| first >> i & 1 == 1)
            .map(|(_, s)| s)
            .collect(),
        prefix: String::from_utf8_lossy(rest).into_owned(),
        ttl: None,
    };
    if let Ok(narrowed) = attenuate(root, &spec) {
        for (scope, key) in allowed(&narrowed) {
            assert!(spec.scopes.is_empty() || spec.scopes.contains(&scope));
            assert!(spec.prefix.is_empty() || key.is_none_or(|k| k.starts_with(&spec.prefix)));
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

    /// `token` attenuated to keys under the prefix "k".
    fn narrowed_to_k(token: &str) -> String {
        let spec = TokenSpec {
            prefix: "k".into(),
            ..TokenSpec::default()
        };
        attenuate(token, &spec).unwrap()
    }

    /// A Datalog run cut short by its time limit is an `overloaded` error (503, to be
    /// retried), not a denial, and is not cached: the same request is allowed next.
    #[test]
    fn a_timed_out_run_is_not_a_denial_and_is_not_cached() {
        let (auth, token, _, no_time) = sign_token_and_no_time();
        // Attenuated, so that its rules go through the Datalog.
        let token = narrowed_to_k(&token);
        let v = auth.valid(Some(&token)).unwrap();
        assert!(v.policy.is_none());
        let e = TokenAuthority::run(&v.token, Scope::KmsSign, Some("k"), &no_time).unwrap_err();
        assert_eq!(e.code, "overloaded");
        assert!(v.verdicts.lock().unwrap().is_empty());
        // With the server's limits: allowed for its scope, denied (and cached) for another.
        assert!(TokenAuthority::permits(&v, Scope::KmsSign, Some("k")).is_ok());
        let e = TokenAuthority::permits(&v, Scope::KmsEncrypt, Some("k")).unwrap_err();
        assert_eq!(e.code, "forbidden");
        assert_eq!(v.verdicts.lock().unwrap().len(), 2);
    }

    /// Keys a verdict is asked for: with and without a prefix match, the empty name,
    /// names the Datalog cannot hold (a quote, a space, a backslash), and none.
    const KEYS: [Option<&str>; 9] = [
        None,
        Some("team-a/k"),
        Some("team-a/"),
        Some("team-b/k"),
        Some("k"),
        Some(""),
        Some("team-a/\"k"),
        Some("team-a/a b"),
        Some("team-a/\\"),
    ];

    /// A token exactly as minted is decided without Datalog, and every such verdict
    /// is the Datalog's own: every scope set, prefix and expiry against every scope
    /// and key.
    #[test]
    fn minted_tokens_are_decided_natively_as_the_datalog_decides() {
        let auth = TokenAuthority::new(&[9u8; 32], []).unwrap();
        let sets: [&[Scope]; 5] = [
            &ALL_SCOPES,
            &[Scope::KmsSign],
            &[Scope::KmsEncrypt, Scope::LogRead],
            &[
                Scope::KmsAdmin,
                Scope::KmsRead,
                Scope::KmsWrap,
                Scope::KmsRotate,
            ],
            &[Scope::LogRead],
        ];
        let mut checked = 0;
        for scopes in sets {
            for prefix in ["", "team-a/", "k", "a;b"] {
                for ttl in [None, Some(Duration::from_secs(3600))] {
                    let spec = TokenSpec {
                        scopes: scopes.to_vec(),
                        prefix: prefix.into(),
                        ttl,
                    };
                    let (token, _) = auth.mint(&spec).unwrap();
                    let v = auth.valid(Some(&token)).unwrap();
                    let p = v.policy.as_ref().unwrap(); // a minted token has a policy
                    assert_eq!(&*p.prefix, prefix);
                    for scope in ALL_SCOPES {
                        for key in KEYS {
                            let datalog =
                                TokenAuthority::run(&v.token, scope, key, &run_limits()).unwrap();
                            assert_eq!(p.allows(scope, key), datalog, "{spec:?} {scope:?} {key:?}");
                            assert_eq!(
                                datalog,
                                scopes.contains(&scope)
                                    && match key {
                                        None => true,
                                        Some(k) => k.starts_with(prefix) && writable(k),
                                    }
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 5 * 4 * 2 * 7 * 9);
    }

    /// Anything other than a token exactly as minted goes to the Datalog: an
    /// attenuated token, and an authority block with more in it than `mint` writes
    /// (made here with the same root key).
    #[test]
    fn other_tokens_are_decided_by_the_datalog() {
        let auth = TokenAuthority::new(&[9u8; 32], []).unwrap();
        let (token, _) = auth
            .mint(&TokenSpec {
                scopes: vec![Scope::KmsSign, Scope::KmsEncrypt],
                ..TokenSpec::default()
            })
            .unwrap();
        let narrowed = attenuate(
            &token,
            &TokenSpec {
                scopes: vec![Scope::KmsSign],
                prefix: "team-a/".into(),
                ttl: None,
            },
        )
        .unwrap();
        let v = auth.valid(Some(&narrowed)).unwrap();
        assert!(v.policy.is_none());
        assert!(TokenAuthority::permits(&v, Scope::KmsSign, Some("team-a/k")).is_ok());
        assert!(TokenAuthority::permits(&v, Scope::KmsSign, Some("team-b/k")).is_err());
        assert!(TokenAuthority::permits(&v, Scope::KmsEncrypt, Some("team-a/k")).is_err());
        // An extra rule in the authority block: it grants a scope through a rule, which
        // a policy read from the facts alone would miss; the Datalog sees it.
        let extra = Biscuit::builder()
            .code(format!(
                "{}scope(\"kms:sign\") <- scope(\"kms:read\");\n",
                authority_code("0123456789abcdef", "", &[Scope::KmsRead], None).unwrap()
            ))
            .and_then(|b| b.build(&auth.root))
            .and_then(|t| t.to_base64())
            .unwrap();
        let v = auth.valid(Some(&extra)).unwrap();
        assert!(v.policy.is_none());
        assert!(TokenAuthority::permits(&v, Scope::KmsSign, Some("k")).is_ok());
        assert!(TokenAuthority::permits(&v, Scope::KmsEncrypt, Some("k")).is_err());
    }

    /// Revoking an id refuses its cached token, its attenuations, and the token when
    /// it is verified again after the cache has let it go; other tokens stay valid.
    #[test]
    fn revocation_reaches_cached_and_new_verifications() {
        let auth = TokenAuthority::new(&[9u8; 32], []).unwrap();
        let spec = TokenSpec {
            scopes: vec![Scope::KmsSign],
            ..TokenSpec::default()
        };
        let (token, id) = auth.mint(&spec).unwrap();
        let (other, _) = auth.mint(&spec).unwrap();
        let narrowed = narrowed_to_k(&token);
        let held = auth.valid(Some(&token)).unwrap();
        assert!(auth.valid(Some(&narrowed)).is_ok());
        auth.revoke(&id);
        // A request that took the token before the revocation sees it at its scope check.
        assert_eq!(
            TokenAuthority::current(&held).unwrap_err().code,
            "unauthorized"
        );
        for t in [&token, &narrowed] {
            assert_eq!(auth.valid(Some(t)).unwrap_err().code, "unauthorized");
        }
        auth.tokens.lock().unwrap().clear();
        for t in [&token, &narrowed] {
            assert_eq!(auth.valid(Some(t)).unwrap_err().code, "unauthorized");
        }
        assert!(auth.valid(Some(&other)).is_ok());
    }

    /// Reading a new token's id and expiry runs under the same limits: out of time it
    /// is `overloaded`, not `unauthorized`, and nothing is cached; with the server's
    /// limits the same token is then valid.
    #[test]
    fn a_timed_out_token_read_is_not_a_401_and_is_not_cached() {
        let (auth, token, id, no_time) = sign_token_and_no_time();
        let e = auth.verified_within(&token, &no_time).err().unwrap();
        assert_eq!(e.code, "overloaded");
        assert!(auth.tokens.lock().unwrap().map.is_empty());
        let v = auth.valid(Some(&token)).unwrap();
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

    /// The token cache stays within its bounds: it starts again empty rather than hold
    /// more than its bytes of token text, and does not keep a token over its size limit.
    #[test]
    fn the_token_cache_is_bounded_in_bytes() {
        let auth = TokenAuthority::new(&[9u8; 32], []).unwrap();
        let (token, _) = auth
            .mint(&TokenSpec {
                scopes: vec![Scope::KmsRead],
                ..TokenSpec::default()
            })
            .unwrap();
        let v = auth.valid(Some(&token)).unwrap();
        let mut cache = TokenCache::default();
        let big = "x".repeat(MAX_CACHED_TOKEN);
        for i in 0..(CACHE_BYTES / MAX_CACHED_TOKEN) * 3 {
            cache.insert(&format!("{i}{big}")[..MAX_CACHED_TOKEN], Arc::clone(&v));
            assert!(cache.bytes <= CACHE_BYTES);
            assert_eq!(
                cache.bytes,
                cache.map.keys().map(|k| k.len()).sum::<usize>()
            );
        }
        assert!(!cache.map.is_empty());
        let huge = "y".repeat(MAX_CACHED_TOKEN + 1);
        cache.clear();
        cache.insert(&huge, Arc::clone(&v));
        assert!(cache.map.is_empty());
        // The same token again takes no more room.
        cache.insert(&token, Arc::clone(&v));
        cache.insert(&token, v);
        assert_eq!(cache.bytes, token.len());
    }

    /// The fuzz entry runs on garbage, on a real token's text, and on inputs that
    /// narrow its root token (its own assertions check what they may allow).
    #[test]
    fn the_fuzz_entry_checks_tokens_without_panicking() {
        for data in [
            &b""[..],
            b"not a token",
            b"\x03team-a/",
            b"\xffk",
            b"\x00",
            b"\x02a\"b",
        ] {
            fuzz_token(data);
        }
        let auth = TokenAuthority::new(&[7u8; 32], []).unwrap();
        let (token, _) = auth
            .mint(&TokenSpec {
                scopes: vec![Scope::KmsSign],
                ..TokenSpec::default()
            })
            .unwrap();
        fuzz_token(token.as_bytes());
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
/// revocation) by the `RequireToken` layer: what the authority verified, so that
/// checking a scope does not verify again. A handler takes it as an argument; it is
/// moved out of the request, not cloned (one reference count, not shared with other
/// requests' cache lines more than the token's cache entry already is).
#[derive(Clone)]
pub struct Bearer {
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
        TokenAuthority::current(&self.verified)?;
        TokenAuthority::permits(&self.verified, scope, key)?;
        crate::request_id::note_caller(&self.verified.id, key.unwrap_or(""));
        Ok(Arc::clone(&self.verified.id))
    }

    /// The token's id (what the audit log records).
    #[must_use]
    pub fn id(&self) -> &Arc<str> {
        &self.verified.id
    }

    /// Allows only an unattenuated `kms:admin` token (minting, revoking, sealing).
    ///
    /// # Errors
    /// `forbidden` for any other token.
    pub fn require_root(&self, what: &str) -> Result<(), ApiError> {
        self.authorize(Scope::KmsAdmin, None)?;
        // As minted, with no attenuation block: an attenuated token cannot mint itself
        // a wider one.
        if self.verified.token.block_count() != 1 {
            return Err(ApiError::new(
                "forbidden",
                format!("only an unattenuated kms:admin token can {what}"),
            ));
        }
        Ok(())
    }

    /// When the token expires (Unix seconds; `None` for no expiry), once it is checked
    /// to be still valid.
    ///
    /// # Errors
    /// `unauthorized` when it has expired or been revoked since the request came in.
    pub fn expires(&self) -> Result<Option<u64>, ApiError> {
        TokenAuthority::current(&self.verified)?;
        Ok(self.verified.expires)
    }

    /// Seconds until the token expires, if it does.
    #[must_use]
    pub fn remaining_secs(&self) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.verified.expires.map(|e| e.saturating_sub(now))
    }
}

impl<S: Sync> axum::extract::FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        // Only the `RequireToken` layer puts it there; a route without that layer has
        // no bearer, whatever the request sent.
        parts
            .extensions
            .remove::<Bearer>()
            .ok_or_else(|| ApiError::new("unauthorized", "a capability token is required"))
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
        .map(str::trim);
    let verified = s.node.with_auth(|a| a.valid(token))?;
    s.limits.rate_check(&verified.id)?;
    Ok(Bearer { verified })
}
