//! Transit keys: create, read, list, delete, configure, rotate; Vault's key types mapped
//! onto Aunsorm's algorithms (and Aunsorm's post-quantum ones under Vault Enterprise's
//! names where it has them).

use super::{VaultError, envelope};
use crate::auth::{Bearer, Scope};
use crate::kms::{self as k, run, run_blocking};
use crate::{ApiError, AppState};
use aunsorm_crypto::{Algorithm, PublicKey};
use aunsorm_kms::{KeyConfig, KeyInfo, KeyName, KeyOptions, Purpose};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Vault's key type (with `parameter_set` for ML-DSA and SLH-DSA) as an algorithm.
fn algorithm(kind: &str, parameter_set: Option<&str>) -> Result<Algorithm, VaultError> {
    let id = match (kind, parameter_set) {
        ("aes256-gcm96", _) => "aes-256-gcm",
        ("chacha20-poly1305", _) => "chacha20-poly1305",
        ("ed25519", _) => "ed25519",
        ("ecdsa-p256", _) => "ecdsa-p256",
        ("ecdsa-p384", _) => "ecdsa-p384",
        ("rsa-2048", _) => "rsa-2048",
        ("rsa-3072", _) => "rsa-3072",
        ("rsa-4096", _) => "rsa-4096",
        ("hmac", _) => "hmac-sha256",
        ("ml-dsa", None | Some("65")) => "ml-dsa-65",
        ("ml-dsa", Some("44")) => "ml-dsa-44",
        ("ml-dsa", Some("87")) => "ml-dsa-87",
        ("slh-dsa", None) => "slh-dsa-sha2-128s",
        ("slh-dsa", Some(p)) => {
            return format!("slh-dsa-{p}")
                .parse()
                .map_err(|_| VaultError::invalid(format!("unknown slh-dsa parameter_set {p:?}")));
        }
        ("ml-kem-768", _) => "ml-kem-768",
        ("ml-kem-1024", _) => "ml-kem-1024",
        ("x-wing", _) => "x-wing",
        ("ml-dsa-65+ed25519", _) => "ml-dsa-65+ed25519",
        (other, _) => {
            return Err(VaultError::invalid(format!("unknown key type {other}")));
        }
    };
    id.parse()
        .map_err(|_| VaultError::invalid(format!("key type {kind} is not available")))
}

/// The Vault type name of an algorithm, and its `parameter_set` where Vault has one.
fn vault_type(alg: Algorithm) -> (String, Option<String>) {
    let id = alg.id();
    match id {
        "aes-256-gcm" => ("aes256-gcm96".into(), None),
        "hmac-sha256" => ("hmac".into(), None),
        _ => {
            if let Some(p) = id.strip_prefix("ml-dsa-") {
                ("ml-dsa".into(), Some(p.into()))
            } else if let Some(p) = id.strip_prefix("slh-dsa-") {
                ("slh-dsa".into(), Some(p.into()))
            } else {
                (id.into(), None)
            }
        }
    }
}

/// A Vault duration: seconds as a number or a string, or a string with a unit
/// (`s`, `m`, `h`, `d`).
fn duration(v: &Value) -> Result<u64, VaultError> {
    let bad = || VaultError::invalid("invalid duration");
    match v {
        Value::Number(n) => n.as_u64().ok_or_else(bad),
        Value::String(s) => {
            let s = s.trim();
            let (num, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
                Some((i, _)) => s.split_at(i),
                None => (s, "s"),
            };
            let n: u64 = num.parse().map_err(|_| bad())?;
            let mul = match unit {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                _ => return Err(bad()),
            };
            n.checked_mul(mul).ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

/// A JSON body as an object (an empty body is an empty object, as Vault takes it).
pub(super) fn object(body: &Bytes) -> Result<Map<String, Value>, VaultError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(VaultError::invalid("failed to parse JSON input")),
    }
}

/// A boolean field, given as a JSON boolean or as Vault's `"true"`/`"false"`.
pub(super) fn flag(m: &Map<String, Value>, field: &str) -> Result<Option<bool>, VaultError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" => Ok(Some(true)),
        Some(Value::String(s)) if s == "false" => Ok(Some(false)),
        Some(_) => Err(VaultError::invalid(format!("{field}: expected a boolean"))),
    }
}

/// An unsigned integer field, given as a JSON number or a decimal string.
pub(super) fn number(m: &Map<String, Value>, field: &str) -> Result<Option<u64>, VaultError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
        Some(Value::String(s)) if s.parse::<u64>().is_ok() => Ok(s.parse().ok()),
        Some(_) => Err(VaultError::invalid(format!("{field}: expected a number"))),
    }
}

/// A string field.
pub(super) fn text<'a>(
    m: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, VaultError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(VaultError::invalid(format!("{field}: expected a string"))),
    }
}

pub(super) fn key_name(n: &str) -> Result<KeyName, VaultError> {
    n.parse()
        .map_err(|e: aunsorm_kms::Error| VaultError::from(ApiError::from(e)))
}

fn version(v: Option<u64>, what: &str) -> Result<Option<u32>, VaultError> {
    v.map(|v| u32::try_from(v).map_err(|_| VaultError::invalid(format!("{what} out of range"))))
        .transpose()
}

/// `POST /v1/transit/keys/{name}`: create a key (`type`, `parameter_set`, `exportable`,
/// `deletion_allowed`, `auto_rotate_period`). Creating an existing key changes nothing
/// and answers it, as Vault does.
pub(super) async fn create(
    State(s): State<AppState>,
    b: Bearer,
    Path(n): Path<String>,
    body: Bytes,
) -> Result<Response, VaultError> {
    let m = object(&body)?;
    let name = key_name(&n)?;
    let c = k::permit(&b, Scope::KmsAdmin, name.as_str())?;
    let alg = algorithm(
        text(&m, "type")?.unwrap_or("aes256-gcm96"),
        text(&m, "parameter_set")?,
    )?;
    for unsupported in ["derived", "convergent_encryption"] {
        if flag(&m, unsupported)? == Some(true) {
            return Err(VaultError::invalid(format!(
                "{unsupported} keys are not supported"
            )));
        }
    }
    let opts = KeyOptions {
        exportable: flag(&m, "exportable")?.unwrap_or(false),
        deletion_allowed: flag(&m, "deletion_allowed")?.unwrap_or(false),
        not_after: None,
        auto_rotate_secs: m
            .get("auto_rotate_period")
            .map(duration)
            .transpose()?
            .unwrap_or(0),
    };
    if let Ok(info) = s.kms.info(&name) {
        return Ok(envelope(key_data(&info)));
    }
    let info = run_blocking(&s, c, move |k| k.create(&name, alg, &opts)).await?;
    Ok(envelope(key_data(&info)))
}

/// `GET /v1/transit/keys/{name}`: the key in Vault's shape.
pub(super) async fn read(
    State(s): State<AppState>,
    b: Bearer,
    Path(n): Path<String>,
) -> Result<Response, VaultError> {
    let name = key_name(&n)?;
    b.authorize(Scope::KmsRead, Some(name.as_str()))?;
    Ok(envelope(key_data(&s.kms.info(&name)?)))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    list: Option<String>,
}

/// `LIST /v1/transit/keys` or `GET /v1/transit/keys?list=true`: every key name the
/// token may read.
pub(super) async fn list(
    State(s): State<AppState>,
    b: Bearer,
    method: Method,
    Query(q): Query<ListQuery>,
) -> Result<Response, VaultError> {
    let listing = method.as_str() == "LIST"
        || (method == Method::GET && q.list.as_deref().is_some_and(|l| l == "true"));
    if !listing {
        return Err(VaultError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "unsupported operation",
        ));
    }
    b.authorize(Scope::KmsRead, Some(""))?;
    let mut keys = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.kms.list("", after.as_deref(), 1000)?;
        let full = page.len() == 1000;
        after = page.last().cloned();
        keys.extend(page);
        if !full {
            break;
        }
    }
    if keys.is_empty() {
        return Err(VaultError::new(StatusCode::NOT_FOUND, ""));
    }
    Ok(envelope(json!({ "keys": keys })))
}

/// `DELETE /v1/transit/keys/{name}`: only when the key allows deletion.
pub(super) async fn delete(
    State(s): State<AppState>,
    b: Bearer,
    Path(n): Path<String>,
) -> Result<StatusCode, VaultError> {
    let name = key_name(&n)?;
    let c = k::permit(&b, Scope::KmsAdmin, name.as_str())?;
    match run(&s, c, |k| k.delete(&name)).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(e) if e.code == "policy_denied" => {
            Err(VaultError::invalid("deletion is not allowed for this key"))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /v1/transit/keys/{name}/config`: `min_decryption_version`,
/// `min_encryption_version`, `deletion_allowed`, `exportable`, `auto_rotate_period`.
pub(super) async fn config(
    State(s): State<AppState>,
    b: Bearer,
    Path(n): Path<String>,
    body: Bytes,
) -> Result<Response, VaultError> {
    let m = object(&body)?;
    let name = key_name(&n)?;
    let c = k::permit(&b, Scope::KmsAdmin, name.as_str())?;
    let cfg = KeyConfig {
        min_decryption_version: version(
            number(&m, "min_decryption_version")?,
            "min_decryption_version",
        )?,
        min_encryption_version: version(
            number(&m, "min_encryption_version")?,
            "min_encryption_version",
        )?,
        deletion_allowed: flag(&m, "deletion_allowed")?,
        exportable: flag(&m, "exportable")?,
        auto_rotate_secs: m.get("auto_rotate_period").map(duration).transpose()?,
        not_after: None,
    };
    let info = run(&s, c, |k| k.configure(&name, &cfg)).await?;
    Ok(envelope(key_data(&info)))
}

/// `POST /v1/transit/keys/{name}/rotate`.
pub(super) async fn rotate(
    State(s): State<AppState>,
    b: Bearer,
    Path(n): Path<String>,
) -> Result<Response, VaultError> {
    let name = key_name(&n)?;
    let c = k::permit(&b, Scope::KmsRotate, name.as_str())?;
    let shown = name.clone();
    run_blocking(&s, c, move |k| k.rotate(&name)).await?;
    Ok(envelope(key_data(&s.kms.info(&shown)?)))
}

/// A key as Vault's `GET keys/:name` shows it.
fn key_data(i: &KeyInfo) -> Value {
    let p = &i.policy;
    let (kind, parameter_set) = vault_type(i.alg);
    let symmetric = i.versions.iter().all(|v| v.public_key.is_empty());
    let keys: Map<String, Value> = i
        .versions
        .iter()
        .map(|v| {
            let entry = if symmetric {
                json!(v.created_at)
            } else {
                json!({
                    "name": kind,
                    "public_key": public_key(i.alg, &v.public_key),
                    "creation_time": crate::auth::rfc3339(
                        std::time::UNIX_EPOCH + std::time::Duration::from_secs(v.created_at)),
                })
            };
            (v.number.to_string(), entry)
        })
        .collect();
    let mut data = json!({
        "name": i.name.to_string(),
        "type": kind,
        "latest_version": i.latest_version(),
        "min_decryption_version": p.min_decryption_version,
        "min_encryption_version": p.min_encryption_version,
        "min_available_version": 0,
        "deletion_allowed": p.deletion_allowed,
        "exportable": p.exportable,
        "allow_plaintext_backup": false,
        "auto_rotate_period": p.auto_rotate_secs,
        "derived": false,
        "supports_encryption": p.purpose == Purpose::Encrypt,
        "supports_decryption": p.purpose == Purpose::Encrypt,
        "supports_signing": p.purpose == Purpose::Sign,
        "supports_derivation": false,
        "keys": keys,
    });
    if let Some(ps) = parameter_set {
        data["parameter_set"] = json!(ps);
    }
    data
}

/// A version's public key as Vault shows it: Ed25519 as the raw key in base64, others
/// as SubjectPublicKeyInfo PEM.
fn public_key(alg: Algorithm, raw: &[u8]) -> String {
    use base64::Engine as _;
    if alg == Algorithm::Ed25519 {
        return base64::engine::general_purpose::STANDARD.encode(raw);
    }
    PublicKey::from_raw(alg, raw)
        .and_then(|k| k.to_spki_pem())
        .unwrap_or_default()
}

/// The key-path decoders on a parsed body (see [`crate::fuzzing`]).
pub(super) fn fuzz(m: &Map<String, Value>) {
    if let (Ok(Some(kind)), Ok(p)) = (text(m, "type"), text(m, "parameter_set")) {
        let _ = algorithm(kind, p);
    }
    if let Some(v) = m.get("auto_rotate_period") {
        let _ = duration(v);
    }
    for f in ["exportable", "deletion_allowed", "derived"] {
        let _ = flag(m, f);
    }
}
