//! Transit operations: encrypt, decrypt, rewrap, sign, verify, each single or with
//! `batch_input`, each item run by the `/v1/kms` operation it maps to and audited on
//! its own.

use super::keys::{flag, key_name, number, object, text};
use super::{VaultError, envelope, from_vault, to_vault};
use crate::auth::Bearer;
use crate::kms::{audited_private, ops as kms};
use crate::{ApiError, AppState};
use aunsorm_api::kms as api;
use aunsorm_api::{Base64, SecretBase64};
use aunsorm_crypto::{Algorithm, AlgorithmKind};
use aunsorm_kms::Kms;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use base64::Engine as _;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// An operation's failure inside an answer: a key that does not exist is a bad request
/// here, as in Vault (404 is for key paths).
fn op_error(e: ApiError) -> VaultError {
    if e.code == "no_such_key" {
        crate::request_id::note_error(e.code);
        return VaultError::invalid(e.message);
    }
    e.into()
}

fn base64_field(m: &Map<String, Value>, field: &str) -> Result<Option<Vec<u8>>, VaultError> {
    text(m, field)?
        .map(|s| {
            B64.decode(s)
                .map_err(|_| VaultError::invalid(format!("{field}: invalid base64")))
        })
        .transpose()
}

/// Associated data: Vault's `associated_data`, or `context` (Aunsorm has no derived
/// keys, so a context is authenticated as associated data).
fn aad(m: &Map<String, Value>) -> Result<Option<Base64>, VaultError> {
    match (
        base64_field(m, "associated_data")?,
        base64_field(m, "context")?,
    ) {
        (Some(_), Some(_)) => Err(VaultError::invalid(
            "give associated_data or context, not both",
        )),
        (a, c) => Ok(a.or(c).map(Base64)),
    }
}

/// `name`, or `name#vN` for a `key_version`.
fn key_ref(name: &str, m: &Map<String, Value>) -> Result<String, VaultError> {
    Ok(match number(m, "key_version")? {
        None | Some(0) => name.to_owned(),
        Some(v) => format!("{name}#v{v}"),
    })
}

/// The items of a request: its `batch_input`, or the request itself.
fn items(m: &Map<String, Value>) -> Result<Option<Vec<Map<String, Value>>>, VaultError> {
    match m.get("batch_input") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| match v {
                Value::Object(o) => Ok(o.clone()),
                _ => Err(VaultError::invalid("batch_input: expected objects")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(VaultError::invalid(
            "batch_input: expected a non-empty list",
        )),
    }
}

/// One item's operation: the KMS, the caller, the key name, the item's fields.
pub(super) type Item = fn(&Kms, &Bearer, &str, &Map<String, Value>) -> Result<Value, VaultError>;

/// Runs `one` on the request or on each item of its `batch_input`, all in one audited
/// step, and answers as Vault does: a single result is the data; batch results go in
/// `batch_results`, a failed item as `{"error": ...}`, and the answer is 400 if any
/// item failed (or `partial_failure_response_code` when some succeeded). A batch, or
/// one item on a key that is slow to use or not yet loaded, runs on the blocking pool
/// (`crate::kms::audited_private`).
async fn answer(
    s: &AppState,
    b: Bearer,
    name: &str,
    body: &Bytes,
    one: impl Fn(&Kms, &Bearer, &str, &Map<String, Value>) -> Result<Value, VaultError> + Send + 'static,
) -> Result<Response, VaultError> {
    let m = object(body)?;
    let name = key_name(name)?.to_string();
    let batch = items(&m)?;
    let partial = number(&m, "partial_failure_response_code")?;
    let is_batch = batch.is_some();
    let quick = !is_batch && crate::kms::quick(s, &name);
    let results = audited_private(s, b, quick, move |k, b| {
        Ok(match &batch {
            None => vec![one(k, b, &name, &m)],
            Some(items) => items.iter().map(|i| one(k, b, &name, i)).collect(),
        })
    })
    .await?;
    if !is_batch {
        let mut results = results;
        return results.pop().map_or_else(
            || {
                Err(VaultError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "no result",
                ))
            },
            |r| r.map(envelope),
        );
    }
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let failed = results.len() - ok;
    let out: Vec<Value> = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| json!({ "error": e.message })))
        .collect();
    let mut res = envelope(json!({ "batch_results": out }));
    if failed > 0 {
        *res.status_mut() = match partial.and_then(|c| u16::try_from(c).ok()) {
            Some(code) if ok > 0 => StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
            _ => StatusCode::BAD_REQUEST,
        };
    }
    Ok(res)
}

pub(super) fn encrypt_one(
    k: &Kms,
    b: &Bearer,
    name: &str,
    m: &Map<String, Value>,
) -> Result<Value, VaultError> {
    // A null plaintext is an empty one (hvac sends `plaintext: null` beside a batch).
    let plaintext = base64_field(m, "plaintext")?.unwrap_or_default();
    let r = api::Encrypt {
        key: key_ref(name, m)?,
        plaintext: SecretBase64::from(plaintext.as_slice()),
        aad: aad(m)?,
    };
    let out = kms::encrypt_op(k, b, &r).map_err(op_error)?;
    Ok(json!({ "ciphertext": to_vault(&out.value), "key_version": out.version }))
}

pub(super) fn decrypt_one(
    k: &Kms,
    b: &Bearer,
    name: &str,
    m: &Map<String, Value>,
) -> Result<Value, VaultError> {
    let ct = text(m, "ciphertext")?.ok_or_else(|| VaultError::invalid("missing ciphertext"))?;
    let r = api::Decrypt {
        key: name.to_owned(),
        ciphertext: from_vault(ct)?,
        aad: aad(m)?,
    };
    let out = kms::decrypt_op(k, b, &r).map_err(op_error)?;
    Ok(json!({ "plaintext": B64.encode(&*out.secret.0) }))
}

pub(super) fn rewrap_one(
    k: &Kms,
    b: &Bearer,
    name: &str,
    m: &Map<String, Value>,
) -> Result<Value, VaultError> {
    if number(m, "key_version")?.is_some_and(|v| v != 0) {
        return Err(VaultError::invalid(
            "key_version is not supported on rewrap: it rewraps to the newest version",
        ));
    }
    let ct = text(m, "ciphertext")?.ok_or_else(|| VaultError::invalid("missing ciphertext"))?;
    let r = api::Decrypt {
        key: name.to_owned(),
        ciphertext: from_vault(ct)?,
        aad: aad(m)?,
    };
    let out = kms::rewrap_op(k, b, &r).map_err(op_error)?;
    Ok(json!({ "ciphertext": to_vault(&out.value), "key_version": out.version }))
}

/// How a signing request maps onto `/v1/kms/sign`: the RSA padding, the ECDSA encoding,
/// and whether the signature travels in base64url (Vault's `jws` marshaling).
struct Signing {
    rsa_padding: Option<api::RsaPadding>,
    ecdsa_encoding: Option<api::EcdsaEncoding>,
    jws: bool,
}

/// Reads Vault's signing options for a key of algorithm `alg`. What Aunsorm cannot do
/// as asked is refused, never ignored: ignoring `prehashed` or a hash would hand back a
/// signature over something else.
fn signing(
    alg: Algorithm,
    m: &Map<String, Value>,
    hash: Option<&str>,
) -> Result<Signing, VaultError> {
    if flag(m, "prehashed")? == Some(true) {
        return Err(VaultError::invalid("prehashed input is not supported"));
    }
    let id = alg.id();
    // The hash each key type signs with: ECDSA P-384 with SHA-384, the other ECDSA and
    // RSA keys with SHA-256; Ed25519 and the post-quantum schemes hash internally and
    // ignore hash_algorithm, as Vault does for Ed25519.
    let native = match alg.kind() {
        AlgorithmKind::Rsa => Some("sha2-256"),
        _ if id == "ecdsa-p256" => Some("sha2-256"),
        _ if id == "ecdsa-p384" => Some("sha2-384"),
        AlgorithmKind::Signature => None,
        _ => return Err(VaultError::invalid(format!("{id} keys cannot sign"))),
    };
    let hash = match hash {
        Some(h) => Some(h),
        None => text(m, "hash_algorithm")?,
    };
    if let (Some(native), Some(h)) = (native, hash)
        && h != native
    {
        return Err(VaultError::invalid(format!(
            "hash algorithm {h} is not supported for {id} keys (they sign with {native})"
        )));
    }
    let rsa_padding = match (alg.kind(), text(m, "signature_algorithm")?) {
        (AlgorithmKind::Rsa, None | Some("pss")) => Some(api::RsaPadding::Pss),
        (AlgorithmKind::Rsa, Some("pkcs1v15")) => Some(api::RsaPadding::Pkcs1v15),
        (AlgorithmKind::Rsa, Some(other)) => {
            return Err(VaultError::invalid(format!(
                "unsupported signature_algorithm {other}: expected pss or pkcs1v15"
            )));
        }
        _ => None,
    };
    if rsa_padding == Some(api::RsaPadding::Pss) {
        // Aunsorm's PSS salt is as long as the hash; Vault's `auto` signs with the
        // longest salt that fits. Both verify with `auto`.
        match m.get("salt_length") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s == "auto" || s == "hash" || s == "32" => {}
            Some(Value::Number(n)) if n.as_u64() == Some(32) => {}
            Some(_) => {
                return Err(VaultError::invalid(
                    "salt_length: only auto, hash or 32 are supported",
                ));
            }
        }
    }
    let jws = match text(m, "marshaling_algorithm")? {
        None | Some("asn1") => false,
        Some("jws") => true,
        Some(other) => {
            return Err(VaultError::invalid(format!(
                "unsupported marshaling_algorithm {other}: expected asn1 or jws"
            )));
        }
    };
    let ecdsa_encoding = id.starts_with("ecdsa-").then_some(if jws {
        api::EcdsaEncoding::P1363
    } else {
        api::EcdsaEncoding::Der
    });
    Ok(Signing {
        rsa_padding,
        ecdsa_encoding,
        jws,
    })
}

fn algorithm_of(k: &Kms, name: &str) -> Result<Algorithm, VaultError> {
    Ok(k.info(&key_name(name)?)
        .map_err(|e| op_error(e.into()))?
        .alg)
}

/// A signature in Vault's form: `vault:vN:` and base64, or base64url for `jws`.
fn vault_signature(s: &str, jws: bool) -> Result<String, VaultError> {
    if !jws {
        return Ok(to_vault(s));
    }
    let v: aunsorm_kms::Versioned = s
        .parse()
        .map_err(|_| VaultError::new(StatusCode::INTERNAL_SERVER_ERROR, "bad signature form"))?;
    Ok(format!("vault:v{}:{}", v.version, B64URL.encode(&v.bytes)))
}

/// A signature given in Vault's form, in Aunsorm's (base64url for `jws`).
fn aunsorm_signature(s: &str, jws: bool) -> Result<String, VaultError> {
    if !jws {
        return from_vault(s);
    }
    let bad = || VaultError::invalid("invalid signature: expected vault:vN:<base64url>");
    let rest = s.strip_prefix("vault:v").ok_or_else(bad)?;
    let (version, sig) = rest.split_once(':').ok_or_else(bad)?;
    let version: u32 = version.parse().map_err(|_| bad())?;
    let bytes = B64URL
        .decode(sig.trim_end_matches('='))
        .map_err(|_| bad())?;
    Ok(aunsorm_kms::Versioned { version, bytes }.to_text())
}

/// `sign/{name}[/{hash}]`.
pub(super) fn sign(
    k: &Kms,
    b: &Bearer,
    name: &str,
    m: &Map<String, Value>,
    hash: Option<&str>,
) -> Result<Value, VaultError> {
    let o = signing(algorithm_of(k, name)?, m, hash)?;
    let input = base64_field(m, "input")?.unwrap_or_default();
    let r = api::Sign {
        key: key_ref(name, m)?,
        message: Base64(input),
        context: None,
        rsa_padding: o.rsa_padding,
        ecdsa_encoding: o.ecdsa_encoding,
    };
    let out = kms::sign_op(k, b, &r).map_err(op_error)?;
    Ok(json!({
        "signature": vault_signature(&out.value, o.jws)?,
        "key_version": out.version,
    }))
}

/// `verify/{name}[/{hash}]`: a signature, or an HMAC given as `hmac`.
pub(super) fn verify(
    k: &Kms,
    b: &Bearer,
    name: &str,
    m: &Map<String, Value>,
    hash: Option<&str>,
) -> Result<Value, VaultError> {
    let input = base64_field(m, "input")?.unwrap_or_default();
    if let Some(tag) = text(m, "hmac")? {
        hmac_algorithm(m, hash)?;
        let r = api::HmacVerify {
            key: name.to_owned(),
            message: Base64(input),
            mac: from_vault(tag)?,
        };
        let out = kms::hmac_verify_op(k, b, &r).map_err(op_error)?;
        return Ok(json!({ "valid": out.valid }));
    }
    let o = signing(algorithm_of(k, name)?, m, hash)?;
    let sig =
        text(m, "signature")?.ok_or_else(|| VaultError::invalid("missing signature or hmac"))?;
    let r = api::Verify {
        key: name.to_owned(),
        message: Base64(input),
        signature: aunsorm_signature(sig, o.jws)?,
        context: None,
        rsa_padding: o.rsa_padding,
        ecdsa_encoding: o.ecdsa_encoding,
    };
    let out = kms::verify_op(k, b, &r).map_err(op_error)?;
    Ok(json!({ "valid": out.valid }))
}

/// HMAC keys are HMAC-SHA-256: `sha2-256` is the only algorithm.
fn hmac_algorithm(m: &Map<String, Value>, path: Option<&str>) -> Result<(), VaultError> {
    let algo = match path {
        Some(a) => Some(a),
        None => match text(m, "algorithm")? {
            Some(a) => Some(a),
            None => text(m, "hash_algorithm")?,
        },
    };
    match algo {
        None | Some("sha2-256") => Ok(()),
        Some(a) => Err(VaultError::invalid(format!(
            "HMAC algorithm {a} is not supported: Aunsorm's HMAC keys are HMAC-SHA-256"
        ))),
    }
}

/// `hmac/{name}[/{algorithm}]`.
pub(super) fn hmac(
    k: &Kms,
    b: &Bearer,
    name: &str,
    m: &Map<String, Value>,
    algo: Option<&str>,
) -> Result<Value, VaultError> {
    hmac_algorithm(m, algo)?;
    let input = base64_field(m, "input")?.unwrap_or_default();
    let r = api::Hmac {
        key: key_ref(name, m)?,
        message: Base64(input),
    };
    let out = kms::hmac_op(k, b, &r).map_err(op_error)?;
    Ok(json!({ "hmac": to_vault(&out.value), "key_version": out.version }))
}

/// `datakey/{plaintext|wrapped}/{name}`: a fresh data key (`bits` 128, 256 or 512)
/// encrypted under the key, with the plaintext for the first.
pub(super) fn datakey(
    k: &Kms,
    b: &Bearer,
    name: &str,
    m: &Map<String, Value>,
    kind: Option<&str>,
) -> Result<Value, VaultError> {
    let wrapped_only = match kind {
        Some("plaintext") => false,
        Some("wrapped") => true,
        _ => {
            return Err(VaultError::new(
                StatusCode::NOT_FOUND,
                "unsupported path: expected datakey/plaintext or datakey/wrapped",
            ));
        }
    };
    let bytes = match number(m, "bits")? {
        None | Some(256) => 32,
        Some(128) => 16,
        Some(512) => 64,
        Some(_) => return Err(VaultError::invalid("bits: expected 128, 256 or 512")),
    };
    let r = api::Datakey {
        key: key_ref(name, m)?,
        bytes: Some(bytes),
        aad: aad(m)?,
        wrapped_only,
    };
    let out = kms::datakey_op(k, b, &r).map_err(op_error)?;
    let mut data = json!({
        "ciphertext": to_vault(&out.ciphertext),
        "key_version": out.version,
    });
    if let Some(p) = out.plaintext {
        data["plaintext"] = Value::String(B64.encode(&*p.0));
    }
    Ok(data)
}

/// The route of a Transit operation: `POST .../{name}`.
pub(super) fn route(one: Item) -> MethodRouter<AppState> {
    post(
        move |State(s): State<AppState>, b: Bearer, Path(n): Path<String>, body: Bytes| async move {
            respond(answer(&s, b, &n, &body, one).await)
        },
    )
}

/// An operation that reads a second path segment when there is one: the hash of `sign`
/// and `verify`, the algorithm of `hmac`, the kind of `datakey`.
pub(super) type WithSegment =
    fn(&Kms, &Bearer, &str, &Map<String, Value>, Option<&str>) -> Result<Value, VaultError>;

/// The route of an operation on the key in the path's `{name}`, handing it the path's
/// `{segment}` if the route has one.
pub(super) fn route_with(one: WithSegment, segment: &'static str) -> MethodRouter<AppState> {
    post(
        move |State(s): State<AppState>,
              b: Bearer,
              Path(params): Path<HashMap<String, String>>,
              body: Bytes| async move {
            let name = params.get("name").map_or("", String::as_str);
            let second = params.get(segment).cloned();
            let one = move |k: &Kms, b: &Bearer, n: &str, m: &Map<String, Value>| {
                one(k, b, n, m, second.as_deref())
            };
            respond(answer(&s, b, name, &body, one).await)
        },
    )
}

fn respond(r: Result<Response, VaultError>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

/// The decoders of a Transit request on arbitrary bytes (see [`crate::fuzzing`]): the
/// body, its fields and batch items, the signing options for every algorithm, and the
/// `vault:` forms of ciphertexts and signatures.
pub(super) fn fuzz(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        for jws in [false, true] {
            if let Ok(a) = aunsorm_signature(s, jws) {
                let _ = a.parse::<aunsorm_kms::Versioned>();
            }
        }
    }
    let Ok(m) = object(&Bytes::copy_from_slice(data)) else {
        return;
    };
    let mut all = vec![m.clone()];
    if let Ok(Some(items)) = items(&m) {
        all.extend(items);
    }
    for m in &all {
        let _ = (
            aad(m),
            key_ref("k", m),
            number(m, "partial_failure_response_code"),
        );
        let _ = (base64_field(m, "input"), hmac_algorithm(m, None));
        for alg in Algorithm::ALL {
            let _ = signing(*alg, m, None);
        }
        for field in ["ciphertext", "signature", "hmac"] {
            if let Ok(Some(s)) = text(m, field) {
                let _ = from_vault(s).map(|a| a.parse::<aunsorm_kms::Versioned>());
            }
        }
    }
}
