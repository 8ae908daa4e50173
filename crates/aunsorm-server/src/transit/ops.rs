//! Transit operations: encrypt, decrypt, rewrap, sign, verify, each single or with
//! `batch_input`, each item run by the `/v1/kms` operation it maps to and audited on
//! its own.

use super::keys::{flag, key_name, number, object, text};
use super::{VaultError, envelope, from_vault, to_vault};
use crate::auth::Bearer;
use crate::kms::{audited, ops as kms};
use crate::{ApiError, AppState};
use aunsorm_api::kms as api;
use aunsorm_api::{Base64, SecretBase64};
use aunsorm_kms::Kms;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use base64::Engine as _;
use serde_json::{Map, Value, json};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

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
/// item failed (or `partial_failure_response_code` when some succeeded).
async fn answer(
    s: &AppState,
    b: &Bearer,
    name: &str,
    body: &Bytes,
    one: Item,
) -> Result<Response, VaultError> {
    let m = object(body)?;
    let name = key_name(name)?.to_string();
    let batch = items(&m)?;
    let partial = number(&m, "partial_failure_response_code")?;
    let results = audited(s, b, |k| {
        Ok(match &batch {
            None => vec![one(k, b, &name, &m)],
            Some(items) => items.iter().map(|i| one(k, b, &name, i)).collect(),
        })
    })
    .await?;
    let Some(_) = batch else {
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
    };
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

/// Signing options Aunsorm does not map yet are refused, never ignored: ignoring
/// `prehashed` or a marshaling would hand back a signature over something else.
fn plain_signing(m: &Map<String, Value>, hash: Option<&str>) -> Result<(), VaultError> {
    if flag(m, "prehashed")? == Some(true) {
        return Err(VaultError::invalid("prehashed input is not supported yet"));
    }
    if text(m, "marshaling_algorithm")?.is_some_and(|a| a != "asn1") {
        return Err(VaultError::invalid(
            "only the asn1 marshaling is supported yet",
        ));
    }
    if text(m, "signature_algorithm")?.is_some() {
        return Err(VaultError::invalid(
            "signature_algorithm is not supported yet",
        ));
    }
    let hash = hash.or(text(m, "hash_algorithm")?);
    if hash.is_some_and(|h| h != "sha2-256" && h != "none") {
        return Err(VaultError::invalid(format!(
            "hash algorithm {} is not supported yet",
            hash.unwrap_or_default()
        )));
    }
    Ok(())
}

/// Whether the key's signatures are over the input as given (Ed25519, ML-DSA, SLH-DSA),
/// which is what Vault's defaults produce for those key types.
fn signs_input(k: &Kms, name: &str) -> Result<(), VaultError> {
    let n = key_name(name)?;
    let info = k.info(&n).map_err(|e| op_error(e.into()))?;
    let id = info.alg.id();
    if id == "ed25519" || id.starts_with("ml-dsa-") || id.starts_with("slh-dsa-") {
        Ok(())
    } else {
        Err(VaultError::invalid(format!(
            "signing with {id} keys is not supported on the Transit API yet"
        )))
    }
}

pub(super) fn sign_one(
    k: &Kms,
    b: &Bearer,
    name: &str,
    m: &Map<String, Value>,
) -> Result<Value, VaultError> {
    plain_signing(m, None)?;
    signs_input(k, name)?;
    let input = base64_field(m, "input")?.unwrap_or_default();
    let r = api::Sign {
        key: key_ref(name, m)?,
        message: Base64(input),
        context: None,
    };
    let out = kms::sign_op(k, b, &r).map_err(op_error)?;
    Ok(json!({ "signature": to_vault(&out.value), "key_version": out.version }))
}

pub(super) fn verify_one(
    k: &Kms,
    b: &Bearer,
    name: &str,
    m: &Map<String, Value>,
) -> Result<Value, VaultError> {
    plain_signing(m, None)?;
    signs_input(k, name)?;
    let sig = text(m, "signature")?.ok_or_else(|| VaultError::invalid("missing signature"))?;
    let input = base64_field(m, "input")?.unwrap_or_default();
    let r = api::Verify {
        key: name.to_owned(),
        message: Base64(input),
        signature: from_vault(sig)?,
        context: None,
    };
    let out = kms::verify_op(k, b, &r).map_err(op_error)?;
    Ok(json!({ "valid": out.valid }))
}

/// The route of a Transit operation: `POST .../{name}`.
pub(super) fn route(one: Item) -> MethodRouter<AppState> {
    post(
        move |State(s): State<AppState>,
              Extension(b): Extension<Bearer>,
              Path(n): Path<String>,
              body: Bytes| async move { respond(answer(&s, &b, &n, &body, one).await) },
    )
}

/// The route of a signing operation with the hash in its path: `POST
/// .../{name}/{hash}`.
pub(super) fn route_hash(one: Item) -> MethodRouter<AppState> {
    post(
        move |State(s): State<AppState>,
              Extension(b): Extension<Bearer>,
              Path((n, hash)): Path<(String, String)>,
              body: Bytes| async move {
            if let Err(e) = plain_signing(&Map::new(), Some(&hash)) {
                return e.into_response();
            }
            respond(answer(&s, &b, &n, &body, one).await)
        },
    )
}

fn respond(r: Result<Response, VaultError>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}
