//! The operations on keys. Each is a plain function (authorize, one KMS call, DTO out)
//! shared by its route and by [`super::batch`]; the routes run it inside
//! [`super::audited`].

use super::{audited, audited_private, bytes, key_ref, name, out, quick, versioned};
use crate::auth::{Bearer, Scope};
use crate::json::Json;
use crate::{ApiError, AppState};
use aunsorm_api::SecretBase64;
use aunsorm_api::kms as api;
use aunsorm_crypto::{EcdsaFormat, RsaPadding, SignOptions};
use aunsorm_kms::Kms;
use axum::extract::State;

/// Checks the token's `scope` on the key named `key`.
fn allow(b: &Bearer, scope: Scope, key: &aunsorm_kms::KeyName) -> Result<(), ApiError> {
    b.authorize(scope, Some(key.as_str())).map(drop)
}

/// The signing options of a request: its context, RSA padding and ECDSA encoding.
fn sign_options<'a>(
    context: Option<&'a aunsorm_api::Base64>,
    padding: Option<api::RsaPadding>,
    encoding: Option<api::EcdsaEncoding>,
) -> SignOptions<'a> {
    let mut o = SignOptions::new().context(bytes(context));
    if let Some(p) = padding {
        o = o.rsa_padding(match p {
            api::RsaPadding::Pss => RsaPadding::Pss,
            api::RsaPadding::Pkcs1v15 => RsaPadding::Pkcs1v15,
        });
    }
    if let Some(e) = encoding {
        o = o.ecdsa_format(match e {
            api::EcdsaEncoding::Der => EcdsaFormat::Der,
            api::EcdsaEncoding::P1363 => EcdsaFormat::Fixed,
        });
    }
    o
}

pub(crate) fn sign_op(k: &Kms, b: &Bearer, r: &api::Sign) -> Result<api::Versioned, ApiError> {
    let key = key_ref(&r.key)?;
    allow(b, Scope::KmsSign, &key.name)?;
    let opts = sign_options(r.context.as_ref(), r.rsa_padding, r.ecdsa_encoding);
    Ok(out(&k.sign_with_options(&key, &r.message.0, &opts)?))
}

pub(crate) fn verify_op(k: &Kms, b: &Bearer, r: &api::Verify) -> Result<api::Verified, ApiError> {
    let key = key_ref(&r.key)?;
    allow(b, Scope::KmsSign, &key.name)?;
    let sig = versioned(&r.signature, "signature")?;
    let opts = sign_options(r.context.as_ref(), r.rsa_padding, r.ecdsa_encoding);
    let valid = k.verify_with_options(&key, &r.message.0, &sig, &opts)?;
    Ok(api::Verified { valid })
}

pub(crate) fn encrypt_op(
    k: &Kms,
    b: &Bearer,
    r: &api::Encrypt,
) -> Result<api::Versioned, ApiError> {
    let key = key_ref(&r.key)?;
    allow(b, Scope::KmsEncrypt, &key.name)?;
    Ok(out(&k.encrypt(
        &key,
        &r.plaintext.0,
        bytes(r.aad.as_ref()),
    )?))
}

pub(crate) fn decrypt_op(k: &Kms, b: &Bearer, r: &api::Decrypt) -> Result<api::Secret, ApiError> {
    let n = name(&r.key)?;
    allow(b, Scope::KmsEncrypt, &n)?;
    let ct = versioned(&r.ciphertext, "ciphertext")?;
    let pt = k.decrypt(&n, &ct, bytes(r.aad.as_ref()))?;
    Ok(api::Secret {
        secret: SecretBase64::from(pt.expose()),
    })
}

pub(crate) fn rewrap_op(k: &Kms, b: &Bearer, r: &api::Decrypt) -> Result<api::Versioned, ApiError> {
    let n = name(&r.key)?;
    allow(b, Scope::KmsEncrypt, &n)?;
    let ct = versioned(&r.ciphertext, "ciphertext")?;
    Ok(out(&k.rewrap(&n, &ct, bytes(r.aad.as_ref()))?))
}

pub(crate) fn datakey_op(
    k: &Kms,
    b: &Bearer,
    r: &api::Datakey,
) -> Result<api::DatakeyOut, ApiError> {
    let key = key_ref(&r.key)?;
    allow(b, Scope::KmsEncrypt, &key.name)?;
    let (dk, ct) = k.datakey(&key, r.bytes.unwrap_or(32), bytes(r.aad.as_ref()))?;
    Ok(api::DatakeyOut {
        plaintext: (!r.wrapped_only).then(|| SecretBase64::from(dk.expose())),
        ciphertext: ct.to_text(),
        version: ct.version,
    })
}

pub(crate) fn hmac_op(k: &Kms, b: &Bearer, r: &api::Hmac) -> Result<api::Versioned, ApiError> {
    let key = key_ref(&r.key)?;
    allow(b, Scope::KmsSign, &key.name)?;
    Ok(out(&k.hmac(&key, &r.message.0)?))
}

pub(crate) fn hmac_verify_op(
    k: &Kms,
    b: &Bearer,
    r: &api::HmacVerify,
) -> Result<api::Verified, ApiError> {
    let n = name(&r.key)?;
    allow(b, Scope::KmsSign, &n)?;
    let tag = versioned(&r.mac, "mac")?;
    Ok(api::Verified {
        valid: k.verify_hmac(&n, &r.message.0, &tag)?,
    })
}

pub(crate) fn encap_op(k: &Kms, b: &Bearer, r: &api::Encap) -> Result<api::Encapsulated, ApiError> {
    let key = key_ref(&r.key)?;
    allow(b, Scope::KmsWrap, &key.name)?;
    let (ss, ct) = k.encapsulate(&key)?;
    Ok(api::Encapsulated {
        shared_secret: SecretBase64::from(ss.expose()),
        ciphertext: ct.to_text(),
        version: ct.version,
    })
}

pub(crate) fn decap_op(k: &Kms, b: &Bearer, r: &api::Decap) -> Result<api::Secret, ApiError> {
    let n = name(&r.key)?;
    allow(b, Scope::KmsWrap, &n)?;
    let ct = versioned(&r.ciphertext, "ciphertext")?;
    let ss = k.decapsulate(&n, &ct)?;
    Ok(api::Secret {
        secret: SecretBase64::from(ss.expose()),
    })
}

pub(crate) fn wrap_op(k: &Kms, b: &Bearer, r: &api::Wrap) -> Result<api::Versioned, ApiError> {
    let key = key_ref(&r.key)?;
    allow(b, Scope::KmsWrap, &key.name)?;
    Ok(out(&k.wrap(&key, &r.secret.0, bytes(r.aad.as_ref()))?))
}

pub(crate) fn unwrap_op(k: &Kms, b: &Bearer, r: &api::Unwrap) -> Result<api::Secret, ApiError> {
    let n = name(&r.key)?;
    allow(b, Scope::KmsWrap, &n)?;
    let w = versioned(&r.wrapped, "wrapped")?;
    let secret = k.unwrap(&n, &w, bytes(r.aad.as_ref()))?;
    Ok(api::Secret {
        secret: SecretBase64::from(secret.expose()),
    })
}

/// Sign a message.
#[utoipa::path(post, path = "/v1/kms/sign", tag = "kms", request_body = api::Sign,
    responses((status = 200, body = api::Versioned), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn sign(
    State(s): State<AppState>,
    b: Bearer,
    Json(r): Json<api::Sign>,
) -> Result<Json<api::Versioned>, ApiError> {
    let quick = quick(&s, &r.key);
    audited_private(&s, b, quick, move |k, b| sign_op(k, b, &r))
        .await
        .map(Json)
}

/// Verify a signature.
#[utoipa::path(post, path = "/v1/kms/verify", tag = "kms", request_body = api::Verify,
    responses((status = 200, body = api::Verified), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn verify(
    State(s): State<AppState>,
    b: Bearer,
    Json(r): Json<api::Verify>,
) -> Result<Json<api::Verified>, ApiError> {
    audited(&s, &b, |k| verify_op(k, &b, &r)).await.map(Json)
}

/// Encrypt with an AEAD key.
#[utoipa::path(post, path = "/v1/kms/encrypt", tag = "kms", request_body = api::Encrypt,
    responses((status = 200, body = api::Versioned), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn encrypt(
    State(s): State<AppState>,
    b: Bearer,
    Json(r): Json<api::Encrypt>,
) -> Result<Json<api::Versioned>, ApiError> {
    audited(&s, &b, |k| encrypt_op(k, &b, &r)).await.map(Json)
}

/// Decrypt a ciphertext.
#[utoipa::path(post, path = "/v1/kms/decrypt", tag = "kms", request_body = api::Decrypt,
    responses((status = 200, body = api::Secret), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn decrypt(
    State(s): State<AppState>,
    b: Bearer,
    Json(r): Json<api::Decrypt>,
) -> Result<Json<api::Secret>, ApiError> {
    let quick = quick(&s, &r.key);
    audited_private(&s, b, quick, move |k, b| decrypt_op(k, b, &r))
        .await
        .map(Json)
}

/// Re-encrypt a ciphertext under the key's newest version.
#[utoipa::path(post, path = "/v1/kms/rewrap", tag = "kms", request_body = api::Decrypt,
    responses((status = 200, body = api::Versioned), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn rewrap(
    State(s): State<AppState>,
    b: Bearer,
    Json(r): Json<api::Decrypt>,
) -> Result<Json<api::Versioned>, ApiError> {
    audited(&s, &b, |k| rewrap_op(k, &b, &r)).await.map(Json)
}

/// A fresh data key, in the clear and wrapped under the key.
#[utoipa::path(post, path = "/v1/kms/datakey", tag = "kms", request_body = api::Datakey,
    responses((status = 200, body = api::DatakeyOut), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn datakey(
    State(s): State<AppState>,
    b: Bearer,
    Json(r): Json<api::Datakey>,
) -> Result<Json<api::DatakeyOut>, ApiError> {
    audited(&s, &b, |k| datakey_op(k, &b, &r)).await.map(Json)
}

/// An HMAC of a message.
#[utoipa::path(post, path = "/v1/kms/hmac", tag = "kms", request_body = api::Hmac,
    responses((status = 200, body = api::Versioned), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn hmac(
    State(s): State<AppState>,
    b: Bearer,
    Json(r): Json<api::Hmac>,
) -> Result<Json<api::Versioned>, ApiError> {
    audited(&s, &b, |k| hmac_op(k, &b, &r)).await.map(Json)
}

/// Check an HMAC (in constant time).
#[utoipa::path(post, path = "/v1/kms/hmac/verify", tag = "kms", request_body = api::HmacVerify,
    responses((status = 200, body = api::Verified), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn hmac_verify(
    State(s): State<AppState>,
    b: Bearer,
    Json(r): Json<api::HmacVerify>,
) -> Result<Json<api::Verified>, ApiError> {
    audited(&s, &b, |k| hmac_verify_op(k, &b, &r))
        .await
        .map(Json)
}

/// Encapsulate a shared secret to a KEM key.
#[utoipa::path(post, path = "/v1/kms/encap", tag = "kms", request_body = api::Encap,
    responses((status = 200, body = api::Encapsulated), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn encap(
    State(s): State<AppState>,
    b: Bearer,
    Json(r): Json<api::Encap>,
) -> Result<Json<api::Encapsulated>, ApiError> {
    audited(&s, &b, |k| encap_op(k, &b, &r)).await.map(Json)
}

/// Decapsulate a KEM ciphertext.
#[utoipa::path(post, path = "/v1/kms/decap", tag = "kms", request_body = api::Decap,
    responses((status = 200, body = api::Secret), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn decap(
    State(s): State<AppState>,
    b: Bearer,
    Json(r): Json<api::Decap>,
) -> Result<Json<api::Secret>, ApiError> {
    audited(&s, &b, |k| decap_op(k, &b, &r)).await.map(Json)
}

/// Wrap a secret (key material) under a key.
#[utoipa::path(post, path = "/v1/kms/wrap", tag = "kms", request_body = api::Wrap,
    responses((status = 200, body = api::Versioned), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn wrap(
    State(s): State<AppState>,
    b: Bearer,
    Json(r): Json<api::Wrap>,
) -> Result<Json<api::Versioned>, ApiError> {
    audited(&s, &b, |k| wrap_op(k, &b, &r)).await.map(Json)
}

/// Unwrap a wrapped secret.
#[utoipa::path(post, path = "/v1/kms/unwrap", tag = "kms", request_body = api::Unwrap,
    responses((status = 200, body = api::Secret), (status = "4XX", body = aunsorm_api::ErrorBody)))]
pub(crate) async fn unwrap(
    State(s): State<AppState>,
    b: Bearer,
    Json(r): Json<api::Unwrap>,
) -> Result<Json<api::Secret>, ApiError> {
    audited(&s, &b, |k| unwrap_op(k, &b, &r)).await.map(Json)
}
