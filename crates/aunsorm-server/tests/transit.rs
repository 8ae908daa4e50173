#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! The Vault Transit API in-process (`oneshot`), on a real SQLite store with the
//! transparency log on: Vault's envelope and error shapes, `X-Vault-Token`, keys,
//! encrypt/decrypt/rewrap (single and batch), sign/verify, and ciphertexts crossing
//! between `/v1/transit` and `/v1/kms`.

use aunsorm_server::Limits;
use aunsorm_server::auth::{Scope, TokenSpec};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::{Value, json};

mod common;
use common::{call_with, fixture, send};

/// A request the way Vault clients send it: the token in `X-Vault-Token`.
async fn vault(
    app: &Router,
    token: &str,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut b = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(uri);
    if !token.is_empty() {
        b = b.header("x-vault-token", token);
    }
    let body = body.map_or_else(Body::empty, |v| Body::from(v.to_string()));
    let (s, h, v) = send(app, b.body(body).unwrap()).await;
    if !v.is_null() {
        assert_eq!(
            h.get("content-type").unwrap(),
            "application/json",
            "{method} {uri}"
        );
    }
    (s, v)
}

fn b64(b: &[u8]) -> String {
    B64.encode(b)
}

/// Vault's envelope around a 200 answer.
fn data(s: StatusCode, v: &Value) -> &Value {
    assert_eq!(s, StatusCode::OK, "{v}");
    for (field, want) in [
        ("lease_id", json!("")),
        ("renewable", json!(false)),
        ("lease_duration", json!(0)),
        ("warnings", Value::Null),
        ("auth", Value::Null),
    ] {
        assert_eq!(v[field], want, "{field} in {v}");
    }
    assert!(v["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    &v["data"]
}

/// Vault's error shape.
fn errors(v: &Value) -> String {
    let e = v["errors"].as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(e.len(), 1, "{v}");
    e[0].as_str().unwrap().to_owned()
}

/// POSTs `body` to `uri` and checks Vault's refusal: 400 and `{"errors": [message]}`;
/// returns the message.
async fn refused(app: &Router, token: &str, uri: &str, body: Option<Value>) -> String {
    let (s, v) = vault(app, token, "POST", uri, body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {v}");
    errors(&v)
}

#[tokio::test]
async fn keys_encrypt_decrypt_rewrap_and_batches() {
    let f = fixture(Limits::default());
    let (app, t) = (&f.app, f.root.as_str());

    // hvac's is_authenticated.
    let (s, v) = vault(app, t, "GET", "/v1/auth/token/lookup-self", None).await;
    assert_eq!(data(s, &v)["type"], "service");
    let (s, v) = vault(app, "", "GET", "/v1/auth/token/lookup-self", None).await;
    assert_eq!(
        (s, errors(&v).as_str()),
        (StatusCode::FORBIDDEN, "permission denied")
    );
    let (s, v) = vault(app, "not-a-token", "POST", "/v1/transit/keys/k", None).await;
    assert_eq!(
        (s, errors(&v).as_str()),
        (StatusCode::FORBIDDEN, "permission denied")
    );

    // Create (the default type is aes256-gcm96), read, list.
    let (s, v) = vault(app, t, "POST", "/v1/transit/keys/orders", None).await;
    let d = data(s, &v);
    assert_eq!(
        (d["type"].as_str(), d["latest_version"].as_u64()),
        (Some("aes256-gcm96"), Some(1))
    );
    assert_eq!(d["supports_encryption"], true);
    assert_eq!(d["supports_signing"], false);
    assert!(
        d["keys"]["1"].as_u64().is_some(),
        "symmetric: version -> creation time"
    );
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/keys/chacha",
        Some(json!({"type": "chacha20-poly1305", "deletion_allowed": true})),
    )
    .await;
    assert_eq!(data(s, &v)["type"], "chacha20-poly1305");
    let (s, v) = vault(app, t, "LIST", "/v1/transit/keys", None).await;
    assert_eq!(data(s, &v)["keys"], json!(["chacha", "orders"]));
    let (s, v) = vault(app, t, "GET", "/v1/transit/keys?list=true", None).await;
    assert_eq!(data(s, &v)["keys"], json!(["chacha", "orders"]));
    let (s, v) = vault(app, t, "GET", "/v1/transit/keys/missing", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    errors(&v);

    // Encrypt and decrypt, with associated data.
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/encrypt/orders",
        Some(json!({"plaintext": b64(b"hello"), "associated_data": b64(b"ctx")})),
    )
    .await;
    let d = data(s, &v);
    let ct = d["ciphertext"].as_str().unwrap().to_owned();
    assert!(ct.starts_with("vault:v1:"), "{ct}");
    assert_eq!(d["key_version"], 1);
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/decrypt/orders",
        Some(json!({"ciphertext": ct, "associated_data": b64(b"ctx")})),
    )
    .await;
    assert_eq!(data(s, &v)["plaintext"], b64(b"hello"));
    refused(
        app,
        t,
        "/v1/transit/decrypt/orders",
        Some(json!({"ciphertext": ct, "associated_data": b64(b"other")})),
    )
    .await;

    // The same ciphertext decrypts through /v1/kms, and the other way round.
    let aunsorm_ct = ct.replacen("vault:", "aunsorm:", 1);
    let (s, v) = call_with(
        app,
        t,
        Method::POST,
        "/v1/kms/decrypt",
        Some(json!({"key": "orders", "ciphertext": aunsorm_ct, "aad": b64(b"ctx")})),
    )
    .await;
    assert_eq!(
        (s, v["secret"].as_str()),
        (StatusCode::OK, Some(b64(b"hello").as_str())),
        "{v}"
    );
    let (_, v) = call_with(
        app,
        t,
        Method::POST,
        "/v1/kms/encrypt",
        Some(json!({"key": "orders", "plaintext": b64(b"from kms")})),
    )
    .await;
    let from_kms = v["value"].as_str().unwrap().to_owned();
    for form in [from_kms.clone(), from_kms.replacen("aunsorm:", "vault:", 1)] {
        let (s, v) = vault(
            app,
            t,
            "POST",
            "/v1/transit/decrypt/orders",
            Some(json!({"ciphertext": form})),
        )
        .await;
        assert_eq!(data(s, &v)["plaintext"], b64(b"from kms"));
    }

    // Rotate; min_decryption_version; rewrap to the newest version.
    let (s, v) = vault(app, t, "POST", "/v1/transit/keys/orders/rotate", None).await;
    assert_eq!(data(s, &v)["latest_version"], 2);
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/rewrap/orders",
        Some(json!({"ciphertext": ct, "associated_data": b64(b"ctx")})),
    )
    .await;
    let d = data(s, &v);
    let rewrapped = d["ciphertext"].as_str().unwrap().to_owned();
    assert!(rewrapped.starts_with("vault:v2:"));
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/keys/orders/config",
        Some(json!({"min_decryption_version": 2})),
    )
    .await;
    assert_eq!(data(s, &v)["min_decryption_version"], 2);
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/decrypt/orders",
        Some(json!({"ciphertext": ct, "associated_data": b64(b"ctx")})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "v1 is below min_decryption_version: {v}"
    );
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/decrypt/orders",
        Some(json!({"ciphertext": rewrapped, "associated_data": b64(b"ctx")})),
    )
    .await;
    assert_eq!(data(s, &v)["plaintext"], b64(b"hello"));

    // Batches: each item on its own; a failed item is reported in place, the answer
    // is 400 (or partial_failure_response_code when some succeeded).
    let (s, v) = vault(app, t, "POST", "/v1/transit/encrypt/orders", Some(json!({"plaintext": null, "batch_input": [{"plaintext": b64(b"a")}, {"plaintext": b64(b"b")}]}))).await;
    let r = data(s, &v)["batch_results"].as_array().unwrap().clone();
    assert_eq!(r.len(), 2);
    let batch: Vec<Value> = r
        .iter()
        .map(|x| json!({"ciphertext": x["ciphertext"]}))
        .collect();
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/decrypt/orders",
        Some(json!({"batch_input": batch})),
    )
    .await;
    let r = &data(s, &v)["batch_results"];
    assert_eq!(
        (r[0]["plaintext"].as_str(), r[1]["plaintext"].as_str()),
        (Some(b64(b"a").as_str()), Some(b64(b"b").as_str()))
    );
    let mixed = json!({"batch_input": [batch[0].clone(), {"ciphertext": "vault:v1:AAAA"}, {"ciphertext": "nope"}]});
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/decrypt/orders",
        Some(mixed.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let r = &v["data"]["batch_results"];
    assert_eq!(r[0]["plaintext"], b64(b"a"));
    assert!(
        r[1]["error"].as_str().is_some() && r[2]["error"].as_str().is_some(),
        "{v}"
    );
    let mut partial = mixed;
    partial["partial_failure_response_code"] = json!(207);
    let (s, _) = vault(app, t, "POST", "/v1/transit/decrypt/orders", Some(partial)).await;
    assert_eq!(s.as_u16(), 207);

    // Bad input: Vault's error shape, nothing changed.
    let before = f.kms.list("", None, 100).unwrap();
    for (uri, body) in [
        ("/v1/transit/keys/bad", json!({"type": "des"})),
        (
            "/v1/transit/keys/bad",
            json!({"type": "aes256-gcm96", "derived": true}),
        ),
        (
            "/v1/transit/encrypt/missing",
            json!({"plaintext": b64(b"x")}),
        ),
        (
            "/v1/transit/encrypt/orders",
            json!({"plaintext": "not base64!"}),
        ),
        (
            "/v1/transit/encrypt/orders",
            json!({"plaintext": b64(b"x"), "key_version": 9}),
        ),
        (
            "/v1/transit/decrypt/orders",
            json!({"ciphertext": "vault:vX:AAAA"}),
        ),
        ("/v1/transit/decrypt/orders", json!({})),
        ("/v1/transit/encrypt/orders", json!({"batch_input": "x"})),
    ] {
        refused(app, t, uri, Some(body)).await;
    }
    let (s, v) = vault(app, t, "POST", "/v1/transit/no/such/path", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    errors(&v);
    assert_eq!(f.kms.list("", None, 100).unwrap(), before);

    // Delete only when allowed.
    let (s, v) = vault(app, t, "DELETE", "/v1/transit/keys/orders", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    errors(&v);
    let (s, _) = vault(app, t, "DELETE", "/v1/transit/keys/chacha", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = vault(app, t, "GET", "/v1/transit/keys/chacha", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sign_and_verify_with_classical_and_post_quantum_keys() {
    let f = fixture(Limits::default());
    let (app, t) = (&f.app, f.root.as_str());
    for (name, body) in [
        ("ed", json!({"type": "ed25519"})),
        ("mldsa", json!({"type": "ml-dsa", "parameter_set": "44"})),
        (
            "slh",
            json!({"type": "slh-dsa", "parameter_set": "sha2-128f"}),
        ),
    ] {
        let (s, v) = vault(
            app,
            t,
            "POST",
            &format!("/v1/transit/keys/{name}"),
            Some(body),
        )
        .await;
        let d = data(s, &v);
        assert_eq!(d["supports_signing"], true);
        let pk = d["keys"]["1"]["public_key"].as_str().unwrap();
        if name == "ed" {
            assert_eq!(B64.decode(pk).unwrap().len(), 32, "Ed25519: the raw key");
        } else {
            assert!(pk.starts_with("-----BEGIN PUBLIC KEY-----"), "{pk}");
        }
        let input = b64(b"message");
        let (s, v) = vault(
            app,
            t,
            "POST",
            &format!("/v1/transit/sign/{name}"),
            Some(json!({"input": input})),
        )
        .await;
        let sig = data(s, &v)["signature"].as_str().unwrap().to_owned();
        assert!(sig.starts_with("vault:v1:"), "{sig}");
        // Unknown extra fields are ignored on verify, as Vault does.
        let (s, v) = vault(
            app,
            t,
            "POST",
            &format!("/v1/transit/verify/{name}"),
            Some(json!({"input": input, "signature": sig, "name": name})),
        )
        .await;
        assert_eq!(data(s, &v)["valid"], true);
        let (s, v) = vault(
            app,
            t,
            "POST",
            &format!("/v1/transit/verify/{name}/sha2-256"),
            Some(json!({"input": b64(b"other"), "signature": sig})),
        )
        .await;
        assert_eq!(data(s, &v)["valid"], false);
        // The signature verifies through /v1/kms too.
        let (s, v) = call_with(app, t, Method::POST, "/v1/kms/verify", Some(json!({"key": name, "message": input, "signature": sig.replacen("vault:", "aunsorm:", 1)}))).await;
        assert_eq!(
            (s, v["valid"].as_bool()),
            (StatusCode::OK, Some(true)),
            "{v}"
        );
    }
    // The Ed25519 signature checks against the public key Vault clients read.
    let (s, v) = vault(app, t, "GET", "/v1/transit/keys/ed", None).await;
    let pk = B64
        .decode(data(s, &v)["keys"]["1"]["public_key"].as_str().unwrap())
        .unwrap();
    let (_, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/sign/ed",
        Some(json!({"input": b64(b"m")})),
    )
    .await;
    let sig = v["data"]["signature"]
        .as_str()
        .unwrap()
        .trim_start_matches("vault:v1:")
        .to_owned();
    let pk = aunsorm_crypto::PublicKey::from_raw(aunsorm_crypto::Algorithm::Ed25519, &pk).unwrap();
    assert!(
        pk.verify(
            b"m",
            &B64.decode(sig).unwrap(),
            &aunsorm_crypto::SignOptions::default()
        )
        .is_ok()
    );

    // Ed25519 hashes internally: hash_algorithm and signature_algorithm do not apply
    // (Vault ignores them too); jws marshaling is base64url.
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/sign/ed/sha2-512",
        Some(json!({"input": b64(b"m"), "marshaling_algorithm": "jws"})),
    )
    .await;
    let jws = data(s, &v)["signature"].as_str().unwrap().to_owned();
    let raw = jws.strip_prefix("vault:v1:").unwrap();
    assert!(!raw.contains(['+', '/', '=']), "{raw}");
    assert_eq!(B64URL.decode(raw).unwrap().len(), 64);
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/verify/ed",
        Some(json!({"input": b64(b"m"), "signature": jws, "marshaling_algorithm": "jws"})),
    )
    .await;
    assert_eq!(data(s, &v)["valid"], true);

    // What would change what is signed is refused, never ignored.
    for (uri, body) in [
        (
            "/v1/transit/sign/ed",
            json!({"input": b64(b"m"), "prehashed": true}),
        ),
        (
            "/v1/transit/sign/ed",
            json!({"input": b64(b"m"), "marshaling_algorithm": "xml"}),
        ),
        ("/v1/transit/sign/nope", json!({"input": b64(b"m")})),
    ] {
        refused(app, t, uri, Some(body)).await;
    }
}

/// ECDSA (asn1 and jws marshaling) and RSA (PSS and PKCS#1 v1.5) through Transit, each
/// signature checked against the public key `GET keys/:name` hands out.
#[tokio::test]
async fn ecdsa_and_rsa_signatures_follow_vaults_options() {
    use aunsorm_crypto::{EcdsaFormat, PublicKey, RsaPadding, SignOptions};
    let f = fixture(Limits::default());
    let (app, t) = (&f.app, f.root.as_str());
    let input = b64(b"the message");
    let cases: [(&str, &str, Value, SignOptions<'_>); 5] = [
        ("p256", "ecdsa-p256", json!({}), SignOptions::new()),
        (
            "p256",
            "ecdsa-p256",
            json!({"marshaling_algorithm": "jws"}),
            SignOptions::new().ecdsa_format(EcdsaFormat::Fixed),
        ),
        (
            "p384",
            "ecdsa-p384",
            json!({"hash_algorithm": "sha2-384"}),
            SignOptions::new(),
        ),
        (
            "rsa",
            "rsa-2048",
            json!({"signature_algorithm": "pss"}),
            SignOptions::new(),
        ),
        (
            "rsa",
            "rsa-2048",
            json!({"signature_algorithm": "pkcs1v15"}),
            SignOptions::new().rsa_padding(RsaPadding::Pkcs1v15),
        ),
    ];
    for (name, kind, extra, opts) in cases {
        let (s, v) = vault(
            app,
            t,
            "POST",
            &format!("/v1/transit/keys/{name}"),
            Some(json!({ "type": kind })),
        )
        .await;
        let pem = data(s, &v)["keys"]["1"]["public_key"]
            .as_str()
            .unwrap()
            .to_owned();
        let pk = PublicKey::from_spki_pem(&pem).unwrap();
        let mut body = extra.clone();
        body["input"] = json!(input);
        let (s, v) = vault(
            app,
            t,
            "POST",
            &format!("/v1/transit/sign/{name}"),
            Some(body.clone()),
        )
        .await;
        let sig = data(s, &v)["signature"].as_str().unwrap().to_owned();
        let raw = sig.strip_prefix("vault:v1:").unwrap();
        let bytes = if extra["marshaling_algorithm"] == "jws" {
            B64URL.decode(raw).unwrap()
        } else {
            B64.decode(raw).unwrap()
        };
        assert!(
            pk.verify(b"the message", &bytes, &opts).is_ok(),
            "{name} {extra}"
        );
        body["signature"] = json!(sig);
        let (s, v) = vault(
            app,
            t,
            "POST",
            &format!("/v1/transit/verify/{name}"),
            Some(body.clone()),
        )
        .await;
        assert_eq!(data(s, &v)["valid"], true, "{name} {extra}");
        body["input"] = json!(b64(b"another message"));
        let (s, v) = vault(
            app,
            t,
            "POST",
            &format!("/v1/transit/verify/{name}"),
            Some(body),
        )
        .await;
        assert_eq!(data(s, &v)["valid"], false, "{name} {extra}");
    }
    // A hash other than the key's, an unknown padding or salt length: refused.
    for (uri, body) in [
        ("/v1/transit/sign/p256/sha2-512", json!({})),
        (
            "/v1/transit/sign/p384",
            json!({"hash_algorithm": "sha2-256"}),
        ),
        (
            "/v1/transit/sign/rsa",
            json!({"signature_algorithm": "oaep"}),
        ),
        ("/v1/transit/sign/rsa", json!({"salt_length": 20})),
    ] {
        let mut body = body;
        body["input"] = json!(input);
        refused(app, t, uri, Some(body)).await;
    }
}

#[tokio::test]
async fn scopes_and_key_prefixes_apply_as_on_kms() {
    let f = fixture(Limits::default());
    let (app, t) = (&f.app, f.root.as_str());
    vault(app, t, "POST", "/v1/transit/keys/a-enc", None).await;
    vault(app, t, "POST", "/v1/transit/keys/b-enc", None).await;
    let (narrow, _) = f
        .node
        .auth()
        .unwrap()
        .mint(&TokenSpec {
            scopes: vec![Scope::KmsEncrypt],
            prefix: "a-".into(),
            ..TokenSpec::default()
        })
        .unwrap();
    let (s, v) = vault(
        app,
        &narrow,
        "POST",
        "/v1/transit/encrypt/a-enc",
        Some(json!({"plaintext": b64(b"x")})),
    )
    .await;
    data(s, &v);
    for (method, uri) in [
        ("POST", "/v1/transit/encrypt/b-enc"),
        ("POST", "/v1/transit/keys/a-new"),
        ("POST", "/v1/transit/keys/a-enc/rotate"),
        ("DELETE", "/v1/transit/keys/a-enc"),
    ] {
        let (s, v) = vault(
            app,
            &narrow,
            method,
            uri,
            Some(json!({"plaintext": b64(b"x")})),
        )
        .await;
        assert_eq!(
            (s, errors(&v).as_str()),
            (StatusCode::FORBIDDEN, "permission denied"),
            "{method} {uri}"
        );
    }
    // Authorization: Bearer works here as well.
    let (s, v) = call_with(
        app,
        &narrow,
        Method::POST,
        "/v1/transit/encrypt/a-enc",
        Some(json!({"plaintext": b64(b"x")})),
    )
    .await;
    data(s, &v);
}

#[tokio::test]
async fn hmac_datakey_random_hash_and_sys() {
    let f = fixture(Limits::default());
    let (app, t) = (&f.app, f.root.as_str());
    vault(
        app,
        t,
        "POST",
        "/v1/transit/keys/mac",
        Some(json!({"type": "hmac"})),
    )
    .await;
    vault(app, t, "POST", "/v1/transit/keys/enc", None).await;

    // HMAC, checked against an HMAC-SHA-256 of the same input through /v1/kms.
    let input = b64(b"data");
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/hmac/mac/sha2-256",
        Some(json!({"input": input})),
    )
    .await;
    let tag = data(s, &v)["hmac"].as_str().unwrap().to_owned();
    assert!(tag.starts_with("vault:v1:"));
    let (s, v) = call_with(
        app,
        t,
        Method::POST,
        "/v1/kms/hmac",
        Some(json!({"key": "mac", "message": input})),
    )
    .await;
    assert_eq!(
        (s, v["value"].as_str().unwrap()),
        (
            StatusCode::OK,
            tag.replacen("vault:", "aunsorm:", 1).as_str()
        )
    );
    for (msg, valid) in [(b"data".as_slice(), true), (b"date".as_slice(), false)] {
        let (s, v) = vault(
            app,
            t,
            "POST",
            "/v1/transit/verify/mac",
            Some(json!({"input": b64(msg), "hmac": tag})),
        )
        .await;
        assert_eq!(data(s, &v)["valid"], valid);
    }
    refused(
        app,
        t,
        "/v1/transit/hmac/mac/sha2-512",
        Some(json!({"input": input})),
    )
    .await;
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/hmac/enc",
        Some(json!({"input": input})),
    )
    .await;
    assert!(s.is_client_error(), "an AEAD key makes no HMAC: {v}");
    errors(&v);

    // Data keys: the plaintext form decrypts to its plaintext; the wrapped form has none.
    for (bits, len) in [(None, 32), (Some(128), 16), (Some(512), 64)] {
        let (s, v) = vault(
            app,
            t,
            "POST",
            "/v1/transit/datakey/plaintext/enc",
            Some(json!({"bits": bits})),
        )
        .await;
        let d = data(s, &v);
        let pt = d["plaintext"].as_str().unwrap();
        assert_eq!(B64.decode(pt).unwrap().len(), len);
        let (s, v) = vault(
            app,
            t,
            "POST",
            "/v1/transit/decrypt/enc",
            Some(json!({"ciphertext": d["ciphertext"]})),
        )
        .await;
        assert_eq!(data(s, &v)["plaintext"], pt);
    }
    let (s, v) = vault(app, t, "POST", "/v1/transit/datakey/wrapped/enc", None).await;
    let d = data(s, &v);
    assert!(
        d.get("plaintext").is_none() && d["ciphertext"].as_str().unwrap().starts_with("vault:v1:")
    );
    for (uri, body) in [
        ("/v1/transit/datakey/plaintext/enc", json!({"bits": 100})),
        ("/v1/transit/datakey/other/enc", json!({})),
    ] {
        let (s, v) = vault(app, t, "POST", uri, Some(body)).await;
        assert!(s.is_client_error(), "{uri} {v}");
        errors(&v);
    }

    // Random bytes, by body or path, in base64 or hex.
    let (s, v) = vault(app, t, "POST", "/v1/transit/random", None).await;
    assert_eq!(
        B64.decode(data(s, &v)["random_bytes"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/random/platform/16",
        Some(json!({"format": "hex"})),
    )
    .await;
    assert_eq!(data(s, &v)["random_bytes"].as_str().unwrap().len(), 32);
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/random",
        Some(json!({"bytes": 7})),
    )
    .await;
    assert_eq!(
        B64.decode(data(s, &v)["random_bytes"].as_str().unwrap())
            .unwrap()
            .len(),
        7
    );
    for uri in [
        "/v1/transit/random/0",
        "/v1/transit/random/99999999",
        "/v1/transit/random/moon",
    ] {
        refused(app, t, uri, None).await;
    }

    // Hashes: FIPS 180-4's "abc" example.
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/hash",
        Some(json!({"input": b64(b"abc")})),
    )
    .await;
    assert_eq!(
        data(s, &v)["sum"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let (s, v) = vault(
        app,
        t,
        "POST",
        "/v1/transit/hash/sha3-224",
        Some(json!({"input": b64(b"abc"), "format": "base64"})),
    )
    .await;
    assert_eq!(
        B64.decode(data(s, &v)["sum"].as_str().unwrap())
            .unwrap()
            .len(),
        28
    );
    refused(
        app,
        t,
        "/v1/transit/hash/md5",
        Some(json!({"input": b64(b"abc")})),
    )
    .await;

    // What Vault clients read on their way in.
    let (s, v) = call_with(app, "", Method::GET, "/v1/sys/init", None).await;
    assert_eq!(
        (s, v["initialized"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let (s, v) = call_with(app, "", Method::GET, "/v1/sys/seal-status", None).await;
    assert_eq!((s, v["sealed"].as_bool()), (StatusCode::OK, Some(false)));
    let (s, v) = vault(app, t, "GET", "/v1/sys/mounts", None).await;
    assert_eq!(data(s, &v)["transit/"]["type"], "transit");
    assert_eq!(v["transit/"]["type"], "transit");
    let (s, v) = vault(app, "", "GET", "/v1/sys/mounts", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let message = refused(
        app,
        t,
        "/v1/sys/mounts/transit",
        Some(json!({"type": "transit"})),
    )
    .await;
    assert!(message.contains("already in use"), "{message}");
}
