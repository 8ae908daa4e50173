#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! Every route in-process (`oneshot`), on a real SQLite store with the transparency log
//! on: successes, and each kind of error answered in the API's shape.

use aunsorm_kms::Kms;
use aunsorm_server::Limits;
use aunsorm_server::auth::{ALL_SCOPES, Scope, TokenAuthority, TokenSpec, attenuate};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
use common::{Fixture, call_with, fixture, send};

thread_local! {
    /// The root token of the current test's fixture (tests run on a current-thread
    /// runtime or pass it explicitly).
    static ROOT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn use_root(f: &Fixture) {
    ROOT.with(|r| *r.borrow_mut() = f.root.clone());
}

async fn call(app: &Router, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let token = ROOT.with(|r| r.borrow().clone());
    call_with(app, &token, method, uri, body).await
}

async fn post(app: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    call(app, Method::POST, uri, Some(body)).await
}

fn b64(b: &[u8]) -> String {
    B64.encode(b)
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn every_operation_round_trips() {
    let f = fixture(Limits::default());
    use_root(&f);
    let app = &f.app;
    let (s, v) = call(app, Method::GET, "/v1/sys/health", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (v["initialized"].as_bool(), v["sealed"].as_bool()),
        (Some(true), Some(false))
    );

    for (name, alg) in [
        ("t/sig", "ed25519"),
        ("t/pq", "ml-dsa-65"),
        ("t/enc", "aes-256-gcm"),
        ("t/mac", "hmac-sha256"),
        ("t/kem", "ml-kem-768"),
    ] {
        let (s, v) = post(
            app,
            "/v1/kms/keys",
            json!({"name": name, "alg": alg, "deletion_allowed": name == "t/mac"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["name"], name);
        assert_eq!(v["alg"], alg);
        assert_eq!(v["latest_version"], 1);
    }
    // A name that exists already.
    let (s, v) = post(
        app,
        "/v1/kms/keys",
        json!({"name": "t/sig", "alg": "ed25519"}),
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"));

    // Sign and verify, classical and post-quantum, with a context.
    for key in ["t/sig", "t/pq"] {
        let ctx = if key == "t/pq" {
            Some(b64(b"ctx"))
        } else {
            None
        };
        let (s, sig) = post(
            app,
            "/v1/kms/sign",
            json!({"key": key, "message": b64(b"hello"), "context": ctx}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{sig}");
        let value = sig["value"].as_str().unwrap();
        assert!(value.starts_with("aunsorm:v1:"));
        let (s, v) = post(
            app,
            "/v1/kms/verify",
            json!({"key": key, "message": b64(b"hello"), "signature": value, "context": ctx}),
        )
        .await;
        assert_eq!((s, v["valid"].as_bool()), (StatusCode::OK, Some(true)));
        let (_, v) = post(
            app,
            "/v1/kms/verify",
            json!({"key": key, "message": b64(b"other"), "signature": value, "context": ctx}),
        )
        .await;
        assert_eq!(v["valid"].as_bool(), Some(false));
    }

    // Encrypt, rotate, decrypt the old ciphertext, rewrap it to v2.
    let (s, ct) = post(
        app,
        "/v1/kms/encrypt",
        json!({"key": "t/enc", "plaintext": b64(b"secret"), "aad": b64(b"a")}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let ct = ct["value"].as_str().unwrap().to_owned();
    let (s, v) = post(app, "/v1/kms/keys/t%2Fenc/rotate", json!({})).await;
    assert_eq!((s, v["version"].as_u64()), (StatusCode::OK, Some(2)));
    let (s, v) = post(
        app,
        "/v1/kms/decrypt",
        json!({"key": "t/enc", "ciphertext": ct, "aad": b64(b"a")}),
    )
    .await;
    assert_eq!(
        (s, v["secret"].as_str()),
        (StatusCode::OK, Some(b64(b"secret").as_str()))
    );
    let (s, v) = post(
        app,
        "/v1/kms/decrypt",
        json!({"key": "t/enc", "ciphertext": ct, "aad": b64(b"b")}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = post(
        app,
        "/v1/kms/rewrap",
        json!({"key": "t/enc", "ciphertext": ct, "aad": b64(b"a")}),
    )
    .await;
    assert_eq!((s, v["version"].as_u64()), (StatusCode::OK, Some(2)));
    let (_, back) = post(
        app,
        "/v1/kms/decrypt",
        json!({"key": "t/enc", "ciphertext": v["value"], "aad": b64(b"a")}),
    )
    .await;
    assert_eq!(back["secret"].as_str(), Some(b64(b"secret").as_str()));

    // Data keys: the wrapped one decrypts to the clear one.
    let (s, dk) = post(app, "/v1/kms/datakey", json!({"key": "t/enc"})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = post(
        app,
        "/v1/kms/decrypt",
        json!({"key": "t/enc", "ciphertext": dk["ciphertext"]}),
    )
    .await;
    assert_eq!(v["secret"], dk["plaintext"]);
    assert_eq!(
        B64.decode(dk["plaintext"].as_str().unwrap()).unwrap().len(),
        32
    );
    let (_, dk) = post(
        app,
        "/v1/kms/datakey",
        json!({"key": "t/enc", "bytes": 16, "wrapped_only": true}),
    )
    .await;
    assert!(dk.get("plaintext").is_none());
    let (s, v) = post(app, "/v1/kms/datakey", json!({"key": "t/enc", "bytes": 17})).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"));

    // HMAC.
    let (_, tag) = post(
        app,
        "/v1/kms/hmac",
        json!({"key": "t/mac", "message": b64(b"m")}),
    )
    .await;
    let (_, v) = post(
        app,
        "/v1/kms/hmac/verify",
        json!({"key": "t/mac", "message": b64(b"m"), "mac": tag["value"]}),
    )
    .await;
    assert_eq!(v["valid"].as_bool(), Some(true));
    let (_, v) = post(
        app,
        "/v1/kms/hmac/verify",
        json!({"key": "t/mac", "message": b64(b"n"), "mac": tag["value"]}),
    )
    .await;
    assert_eq!(v["valid"].as_bool(), Some(false));

    // KEM: both sides hold the same secret.
    let (s, e) = post(app, "/v1/kms/encap", json!({"key": "t/kem"})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, d) = post(
        app,
        "/v1/kms/decap",
        json!({"key": "t/kem", "ciphertext": e["ciphertext"]}),
    )
    .await;
    assert_eq!(d["secret"], e["shared_secret"]);

    // Wrap and unwrap.
    let (s, w) = post(
        app,
        "/v1/kms/wrap",
        json!({"key": "t/enc", "secret": b64(&[9u8; 32])}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    let (_, u) = post(
        app,
        "/v1/kms/unwrap",
        json!({"key": "t/enc", "wrapped": w["value"]}),
    )
    .await;
    assert_eq!(u["secret"].as_str(), Some(b64(&[9u8; 32]).as_str()));

    // Show, list (paged), configure.
    let (s, v) = call(app, Method::GET, "/v1/kms/keys/t%2Fsig", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["versions"][0]["public_key"]
            .as_str()
            .map(|p| B64.decode(p).unwrap().len()),
        Some(32)
    );
    let (_, v) = call(app, Method::GET, "/v1/kms/keys?prefix=t/&limit=2", None).await;
    assert_eq!(v["keys"], json!(["t/enc", "t/kem"]));
    let (_, v2) = call(
        app,
        Method::GET,
        &format!(
            "/v1/kms/keys?prefix=t/&limit=2&after={}",
            v["next"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(v2["keys"], json!(["t/mac", "t/pq"]));
    let (s, v) = post(
        app,
        "/v1/kms/keys/t%2Fenc/config",
        json!({"min_decryption_version": 2}),
    )
    .await;
    assert_eq!(
        (s, v["min_decryption_version"].as_u64()),
        (StatusCode::OK, Some(2))
    );
    let (s, v) = post(
        app,
        "/v1/kms/decrypt",
        json!({"key": "t/enc", "ciphertext": ct, "aad": b64(b"a")}),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "policy_denied")
    );

    // Delete: refused by policy, allowed where the policy says so, then gone.
    let (s, v) = call(app, Method::DELETE, "/v1/kms/keys/t%2Fsig", None).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "policy_denied")
    );
    let (s, _) = call(app, Method::DELETE, "/v1/kms/keys/t%2Fmac", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(app, Method::GET, "/v1/kms/keys/t%2Fmac", None).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "no_such_key"));

    // Every operation above is in the durable log.
    let log = f.kms.log().unwrap();
    assert!(log.sync().unwrap() > 30);
}

#[tokio::test]
async fn bad_input_is_a_json_error_and_changes_nothing() {
    let f = fixture(Limits {
        body: 4096,
        ..Limits::default()
    });
    use_root(&f);
    let app = &f.app;
    post(app, "/v1/kms/keys", json!({"name": "k", "alg": "ed25519"})).await;
    let before = f.kms.log().unwrap().sync().unwrap();
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        // Unknown field.
        (
            json_req(
                "/v1/kms/sign",
                &json!({"key": "k", "message": "", "extra": 1}),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        // Wrong type.
        (
            json_req("/v1/kms/sign", &json!({"key": 5, "message": ""})),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        // Bad base64.
        (
            json_req("/v1/kms/sign", &json!({"key": "k", "message": "%%"})),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        // Not JSON at all.
        (
            Request::post("/v1/kms/sign")
                .header("authorization", format!("Bearer {}", f.root))
                .header("content-type", "application/json")
                .body(Body::from("{"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        // No content type.
        (
            Request::post("/v1/kms/sign")
                .header("authorization", format!("Bearer {}", f.root))
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        // A content type that is not JSON.
        (
            Request::post("/v1/kms/sign")
                .header("authorization", format!("Bearer {}", f.root))
                .header("content-type", "text/json")
                .body(Body::from(r#"{"key": "k", "message": ""}"#))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        // Too large.
        (
            json_req(
                "/v1/kms/sign",
                &json!({"key": "k", "message": b64(&[0u8; 8192])}),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        // Unknown route and wrong method.
        (
            Request::get("/v1/nothing").body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Request::get("/v1/kms/sign").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        // Unknown key, bad key name, unknown algorithm, malformed ciphertext.
        (
            json_req("/v1/kms/sign", &json!({"key": "nope", "message": ""})),
            StatusCode::NOT_FOUND,
            "no_such_key",
        ),
        (
            json_req("/v1/kms/sign", &json!({"key": "bad name!", "message": ""})),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            json_req("/v1/kms/keys", &json!({"name": "x", "alg": "rot13"})),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            json_req(
                "/v1/kms/verify",
                &json!({"key": "k", "message": "", "signature": "vault:v1:AAAA"}),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        // Wrong purpose.
        (
            json_req("/v1/kms/encrypt", &json!({"key": "k", "plaintext": ""})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_denied",
        ),
    ];
    let mut logged_failures = 0;
    // A secret sent where a number belongs is not echoed in the error.
    let req = json_req(
        "/v1/kms/datakey",
        &json!({"key": "k", "bytes": "canary-secret-4711"}),
    );
    let (s, _, v) = send(app, req).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"));
    assert!(!v.to_string().contains("canary-secret-4711"), "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("bytes"),
        "{v}"
    );
    for (req, status, want) in cases {
        let uri = req.uri().to_string();
        let (s, h, v) = send(app, req).await;
        assert_eq!((s, code(&v)), (status, want), "{uri}: {v}");
        let id = h.get("x-request-id").unwrap().to_str().unwrap();
        assert_eq!(v["error"]["request_id"].as_str(), Some(id), "{uri}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
        if matches!(want, "no_such_key" | "policy_denied") {
            logged_failures += 1; // failed operations on keys are audited too
        }
    }
    // Nothing was created; the only new log entries are the audited failures.
    let (_, v) = call(app, Method::GET, "/v1/kms/keys", None).await;
    assert_eq!(v["keys"], json!(["k"]));
    assert_eq!(
        f.kms.log().unwrap().sync().unwrap(),
        before + logged_failures
    );
}

/// `material` sealed to the KMS's ML-KEM-768 wrapping key, as `aunsorm seal --to` does.
fn seal_to_wrapping_key(kms: &Kms, material: &[u8]) -> Vec<u8> {
    let to = kms
        .wrapping_key(aunsorm_kms::WrappingKeyAlg::MlKem768)
        .unwrap();
    aunsorm_crypto::envelope::seal_to_vec(&to, aunsorm_crypto::Algorithm::Aes256Gcm, 12, material)
        .unwrap()
}

#[tokio::test]
async fn import_export_destroy_and_attest() {
    use aunsorm_crypto::{Algorithm, PrivateKey, PublicKey, SignOptions};
    let f = fixture(Limits::default());
    use_root(&f);
    let app = &f.app;

    // The wrapping key as the API serves it is the one material is sealed to.
    let (s, w) = call(app, Method::GET, "/v1/kms/wrapping-key", None).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(w["alg"], "ml-kem-768");
    let served = PublicKey::from_spki_pem(w["public_key_pem"].as_str().unwrap()).unwrap();
    let to = f
        .kms
        .wrapping_key(aunsorm_kms::WrappingKeyAlg::MlKem768)
        .unwrap();
    assert_eq!(served.to_raw(), to.to_raw());
    let (s, w) = call(app, Method::GET, "/v1/kms/wrapping-key?alg=rsa-4096", None).await;
    assert_eq!((s, w["alg"].as_str()), (StatusCode::OK, Some("rsa-4096")));
    let (s, v) = call(app, Method::GET, "/v1/kms/wrapping-key?alg=des", None).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"));

    // An Ed25519 key made here, imported wrapped: the server's signatures verify under
    // our public key, and export gives the same PKCS#8 back.
    let mine = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let der = mine.to_pkcs8_der().unwrap();
    let body =
        json!({"wrapped": b64(&seal_to_wrapping_key(&f.kms, der.expose())), "exportable": true});
    let (s, v) = post(app, "/v1/kms/keys/imp%2Fed/import", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["alg"], "ed25519");
    let (_, sig) = post(
        app,
        "/v1/kms/sign",
        json!({"key": "imp/ed", "message": b64(b"hello")}),
    )
    .await;
    let raw = sig["value"].as_str().unwrap().rsplit(':').next().unwrap();
    mine.public_key()
        .verify(b"hello", &B64.decode(raw).unwrap(), &SignOptions::new())
        .unwrap();
    let (s, e) = call(app, Method::GET, "/v1/kms/keys/imp%2Fed/export", None).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(
        (e["format"].as_str(), e["version"].as_u64()),
        (Some("pkcs8"), Some(1))
    );
    let back =
        PrivateKey::from_pkcs8_der(&B64.decode(e["key"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(back.public_key().to_raw(), mine.public_key().to_raw());
    // The same name again is a conflict; a wrong declared algorithm, tampered or
    // truncated material are refused and leave no key behind.
    let (s, _) = post(app, "/v1/kms/keys/imp%2Fed/import", body).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let mut sealed = seal_to_wrapping_key(&f.kms, der.expose());
    let (s, v) = post(
        app,
        "/v1/kms/keys/imp%2Fwrongalg/import",
        json!({"alg": "ml-dsa-65", "wrapped": b64(&sealed)}),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "invalid_input"),
        "{v}"
    );
    let last = sealed.len() - 1;
    sealed[last] ^= 1;
    for bad in [sealed.clone(), sealed[..40].to_vec(), vec![]] {
        let (s, v) = post(
            app,
            "/v1/kms/keys/imp%2Fbad/import",
            json!({"wrapped": b64(&bad)}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    }
    let (s, _) = call(app, Method::GET, "/v1/kms/keys/imp%2Fbad", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Symmetric material: raw bytes, exported raw; a non-exportable key is refused.
    let aes = [0x42u8; 32];
    let (s, v) = post(
        app,
        "/v1/kms/keys/imp%2Faes/import",
        json!({"alg": "aes-256-gcm", "wrapped": b64(&seal_to_wrapping_key(&f.kms, &aes)), "exportable": true}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, e) = call(
        app,
        Method::GET,
        "/v1/kms/keys/imp%2Faes/export?version=1",
        None,
    )
    .await;
    assert_eq!(e["format"], "raw");
    assert_eq!(B64.decode(e["key"].as_str().unwrap()).unwrap(), aes);
    post(
        app,
        "/v1/kms/keys",
        json!({"name": "plain", "alg": "aes-256-gcm"}),
    )
    .await;
    let (s, v) = call(app, Method::GET, "/v1/kms/keys/plain/export", None).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "policy_denied")
    );

    // Destroy: never the newest; an older version's ciphertexts stop decrypting.
    let (_, ct) = post(
        app,
        "/v1/kms/encrypt",
        json!({"key": "plain", "plaintext": b64(b"p")}),
    )
    .await;
    let (s, v) = post(app, "/v1/kms/keys/plain/versions/1/destroy", json!(null)).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "policy_denied"),
        "{v}"
    );
    post(app, "/v1/kms/keys/plain/rotate", json!(null)).await;
    let (s, v) = post(app, "/v1/kms/keys/plain/versions/1/destroy", json!(null)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["versions"][0]["state"], "destroyed");
    let (s, _) = post(
        app,
        "/v1/kms/decrypt",
        json!({"key": "plain", "ciphertext": ct["value"]}),
    )
    .await;
    assert!(s.is_client_error());
    let (s, v) = post(app, "/v1/kms/keys/plain/versions/9/destroy", json!(null)).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "no_such_key"));
    // A path parameter of the wrong type is a JSON error like any other.
    let (s, v) = post(app, "/v1/kms/keys/plain/versions/-1/destroy", json!(null)).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "invalid_input"),
        "{v}"
    );

    // Attestation: signed by the attestation key the API serves, over a statement
    // naming the key and its fingerprint.
    let (s, a) = call(app, Method::GET, "/v1/kms/keys/imp%2Fed/attest", None).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let statement = a["statement"].as_str().unwrap();
    assert!(statement.contains("key: imp/ed\n"), "{statement}");
    let (_, k) = call(app, Method::GET, "/v1/kms/attestation-key", None).await;
    assert_eq!(k["alg"], "ml-dsa-65");
    assert_eq!(k["public_key_pem"], a["signer"]);
    let signer = PublicKey::from_spki_pem(k["public_key_pem"].as_str().unwrap()).unwrap();
    let sig = B64.decode(a["signature"].as_str().unwrap()).unwrap();
    let ctx = a["context"].as_str().unwrap().as_bytes();
    signer
        .verify(statement.as_bytes(), &sig, &SignOptions::new().context(ctx))
        .unwrap();
    assert!(
        signer
            .verify(b"another statement", &sig, &SignOptions::new().context(ctx))
            .is_err()
    );
    let (s, _) = call(app, Method::GET, "/v1/kms/keys/nope/attest", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn batch_runs_each_operation_on_its_own() {
    let f = fixture(Limits::default());
    use_root(&f);
    let app = &f.app;
    post(
        app,
        "/v1/kms/keys",
        json!({"name": "b/sig", "alg": "ed25519"}),
    )
    .await;
    post(
        app,
        "/v1/kms/keys",
        json!({"name": "b/enc", "alg": "aes-256-gcm"}),
    )
    .await;
    let (_, ct) = post(
        app,
        "/v1/kms/encrypt",
        json!({"key": "b/enc", "plaintext": b64(b"old")}),
    )
    .await;
    let log = f.kms.log().unwrap();
    let before = log.sync().unwrap();
    let ops = json!({"ops": [
        {"op": "sign", "key": "b/sig", "message": b64(b"m")},
        {"op": "encrypt", "key": "b/enc", "plaintext": b64(b"p")},
        {"op": "decrypt", "key": "b/enc", "ciphertext": ct["value"]},
        {"op": "decrypt", "key": "b/missing", "ciphertext": ct["value"]},
        {"op": "datakey", "key": "b/enc", "wrapped_only": true},
        {"op": "verify", "key": "b/sig", "message": b64(b"other"), "signature": "aunsorm:v1:AAAA"},
    ]});
    let req = Request::post("/v1/kms/batch")
        .header("authorization", format!("Bearer {}", f.root))
        .header("content-type", "application/json")
        .header("x-request-id", "batch-1")
        .body(Body::from(ops.to_string()))
        .unwrap();
    let (s, _, v) = send(app, req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = v["results"].as_array().unwrap();
    assert_eq!(r.len(), 6);
    let sig = r[0]["ok"]["value"].as_str().unwrap();
    let (_, ok) = post(
        app,
        "/v1/kms/verify",
        json!({"key": "b/sig", "message": b64(b"m"), "signature": sig}),
    )
    .await;
    assert_eq!(ok["valid"], true);
    let fresh = r[1]["ok"]["value"].as_str().unwrap();
    let (_, pt) = post(
        app,
        "/v1/kms/decrypt",
        json!({"key": "b/enc", "ciphertext": fresh}),
    )
    .await;
    assert_eq!(pt["secret"], b64(b"p"));
    assert_eq!(r[2]["ok"]["secret"], b64(b"old"));
    assert_eq!(r[3]["error"]["code"], "no_such_key");
    assert_eq!(r[3]["error"]["request_id"], "batch-1");
    assert!(r[3].get("ok").is_none());
    assert!(
        r[4]["ok"]["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with("aunsorm:v1:")
    );
    assert!(r[4]["ok"].get("plaintext").is_none());
    assert_eq!(r[5]["ok"]["valid"], false, "{}", r[5]);
    // Every operation that ran is in the audit log, under the batch's request id.
    let after = log.sync().unwrap();
    let entries: Vec<Value> = (before..after)
        .map(|i| serde_json::from_slice(&log.entry(i).unwrap()).unwrap())
        .collect();
    let ours: Vec<&str> = entries
        .iter()
        .filter(|e| e["request"] == "batch-1")
        .map(|e| e["op"].as_str().unwrap())
        .collect();
    for op in ["sign", "encrypt", "decrypt", "datakey"] {
        assert!(ours.contains(&op), "{op} not audited: {ours:?}");
    }

    // Each operation is authorized on its own: a kms:sign token signs, is refused the
    // encryption, and the batch still answers 200.
    let (signer, _) = f
        .auth
        .mint(&TokenSpec {
            scopes: vec![Scope::KmsSign],
            ..TokenSpec::default()
        })
        .unwrap();
    let (s, v) = call_with(
        app,
        &signer,
        Method::POST,
        "/v1/kms/batch",
        Some(json!({"ops": [
            {"op": "sign", "key": "b/sig", "message": b64(b"m")},
            {"op": "encrypt", "key": "b/enc", "plaintext": b64(b"p")},
        ]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["results"][0]["ok"].is_object());
    assert_eq!(v["results"][1]["error"]["code"], "forbidden");

    // Malformed batches are refused whole: an unknown op, an unknown field, too many.
    for bad in [
        json!({"ops": [{"op": "launch", "key": "b/sig"}]}),
        json!({"ops": [{"op": "sign", "key": "b/sig", "message": "", "extra": 1}]}),
        json!({"ops": [], "more": true}),
        json!({"ops": vec![json!({"op": "encap", "key": "b/kem"}); 1001]}),
    ] {
        let (s, v) = post(app, "/v1/kms/batch", bad).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_input"),
            "{v}"
        );
    }
    // The message names where in the body the fault is.
    let (s, v) = post(
        app,
        "/v1/kms/batch",
        json!({"ops": [{"op": "encap", "key": "b/kem"}, {"op": "sign", "key": 7}]}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("ops[1]"),
        "{v}"
    );
    let (s, v) = post(app, "/v1/kms/batch", json!({"ops": []})).await;
    assert_eq!(
        (s, v["results"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
}

fn json_req(uri: &str, v: &Value) -> Request<Body> {
    let token = ROOT.with(|r| r.borrow().clone());
    Request::post(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(v.to_string()))
        .unwrap()
}

#[tokio::test]
async fn request_ids_reach_the_audit_log_and_sealed_is_503() {
    let f = fixture(Limits::default());
    use_root(&f);
    let app = &f.app;
    post(app, "/v1/kms/keys", json!({"name": "k", "alg": "ed25519"})).await;
    let req = Request::post("/v1/kms/sign")
        .header("authorization", format!("Bearer {}", f.root))
        .header("content-type", "application/json")
        .header("x-request-id", "req-abc.1")
        .body(Body::from(json!({"key": "k", "message": ""}).to_string()))
        .unwrap();
    let (s, h, _) = send(app, req).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.get("x-request-id").unwrap(), "req-abc.1");
    let log = f.kms.log().unwrap();
    let last = log.entry(log.sync().unwrap() - 1).unwrap();
    let ev: Value = serde_json::from_slice(&last).unwrap();
    assert_eq!(ev["request"], "req-abc.1");
    assert_eq!(ev["token"].as_str().map(str::len), Some(16));
    assert_eq!(ev["op"], "sign");
    // A malformed incoming id is replaced.
    let req = Request::get("/v1/sys/health")
        .header("x-request-id", "bad id with spaces")
        .body(Body::empty())
        .unwrap();
    let (_, h, _) = send(app, req).await;
    assert_eq!(h.get("x-request-id").unwrap().len(), 32);

    f.kms.seal();
    // Health answers with Vault's statuses: 503 while sealed, unless asked otherwise;
    // HEAD answers the status alone.
    let (s, v) = call(app, Method::GET, "/v1/sys/health", None).await;
    assert_eq!(
        (s, v["sealed"].as_bool()),
        (StatusCode::SERVICE_UNAVAILABLE, Some(true))
    );
    let (s, v) = call(app, Method::GET, "/v1/sys/health?sealedcode=200", None).await;
    assert_eq!((s, v["sealed"].as_bool()), (StatusCode::OK, Some(true)));
    let (s, _) = call(app, Method::GET, "/v1/sys/health?sealedcode=99", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let req = Request::head("/v1/sys/health").body(Body::empty()).unwrap();
    let (s, _, _) = send(app, req).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let req = json_req("/v1/kms/sign", &json!({"key": "k", "message": ""}));
    let (s, h, v) = send(app, req).await;
    assert_eq!((s, code(&v)), (StatusCode::SERVICE_UNAVAILABLE, "sealed"));
    assert_eq!(h.get("retry-after").unwrap(), "1");
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let f = fixture(Limits::default());
    use_root(&f);
    let (s, v) = call(&f.app, Method::GET, "/v1/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    let paths = v["paths"].as_object().unwrap();
    for p in [
        "/v1/sys/health",
        "/v1/kms/keys",
        "/v1/kms/keys/{name}",
        "/v1/kms/keys/{name}/rotate",
        "/v1/kms/keys/{name}/config",
        "/v1/kms/sign",
        "/v1/kms/verify",
        "/v1/kms/encrypt",
        "/v1/kms/decrypt",
        "/v1/kms/rewrap",
        "/v1/kms/datakey",
        "/v1/kms/hmac",
        "/v1/kms/hmac/verify",
        "/v1/kms/encap",
        "/v1/kms/decap",
        "/v1/kms/wrap",
        "/v1/kms/unwrap",
        "/v1/kms/batch",
        "/v1/kms/keys/{name}/import",
        "/v1/kms/keys/{name}/export",
        "/v1/kms/keys/{name}/attest",
        "/v1/kms/keys/{name}/versions/{version}/destroy",
        "/v1/kms/wrapping-key",
        "/v1/kms/attestation-key",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert!(v["components"]["schemas"]["Sign"].is_object());
}

/// Every route against a token of each single scope, a token for another key prefix,
/// expired, revoked, forged, malformed and attenuated tokens: exactly 2xx, 401 or 403.
#[tokio::test]
async fn authorization_matrix() {
    let f = fixture(Limits::default());
    use_root(&f);
    let app = &f.app;
    for (name, alg) in [
        ("t/sig", "ed25519"),
        ("t/enc", "aes-256-gcm"),
        ("t/mac", "hmac-sha256"),
        ("t/kem", "ml-kem-768"),
        ("t/rot", "ed25519"),
    ] {
        let (s, _) = post(app, "/v1/kms/keys", json!({"name": name, "alg": alg})).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, _) = post(
        app,
        "/v1/kms/keys",
        json!({"name": "t/exp", "alg": "aes-256-gcm", "exportable": true}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let wrapped = b64(&seal_to_wrapping_key(&f.kms, &[7; 32]));
    let (_, sig) = post(
        app,
        "/v1/kms/sign",
        json!({"key": "t/sig", "message": b64(b"m")}),
    )
    .await;
    let (_, ct) = post(
        app,
        "/v1/kms/encrypt",
        json!({"key": "t/enc", "plaintext": b64(b"p")}),
    )
    .await;
    let (_, tag) = post(
        app,
        "/v1/kms/hmac",
        json!({"key": "t/mac", "message": b64(b"m")}),
    )
    .await;
    let (_, kem) = post(app, "/v1/kms/encap", json!({"key": "t/kem"})).await;
    let (_, w) = post(
        app,
        "/v1/kms/wrap",
        json!({"key": "t/enc", "secret": b64(&[1; 32])}),
    )
    .await;

    // (method, path, body, scope it needs); `{n}` becomes a fresh key name.
    let routes: Vec<(Method, String, Option<Value>, Scope)> = vec![
        (
            Method::POST,
            "/v1/kms/keys".into(),
            Some(json!({"name": "t/new{n}", "alg": "aes-256-gcm", "deletion_allowed": true})),
            Scope::KmsAdmin,
        ),
        (
            Method::GET,
            "/v1/kms/keys?prefix=t/".into(),
            None,
            Scope::KmsRead,
        ),
        (
            Method::GET,
            "/v1/kms/keys/t%2Fsig".into(),
            None,
            Scope::KmsRead,
        ),
        (
            Method::POST,
            "/v1/kms/keys/t%2Frot/rotate".into(),
            Some(json!({})),
            Scope::KmsRotate,
        ),
        (
            Method::POST,
            "/v1/kms/keys/t%2Fenc/config".into(),
            Some(json!({})),
            Scope::KmsAdmin,
        ),
        (
            Method::DELETE,
            "/v1/kms/keys/t%2Fdel{n}".into(),
            None,
            Scope::KmsAdmin,
        ),
        (
            Method::POST,
            "/v1/kms/sign".into(),
            Some(json!({"key": "t/sig", "message": b64(b"m")})),
            Scope::KmsSign,
        ),
        (
            Method::POST,
            "/v1/kms/verify".into(),
            Some(json!({"key": "t/sig", "message": b64(b"m"), "signature": sig["value"]})),
            Scope::KmsSign,
        ),
        (
            Method::POST,
            "/v1/kms/hmac".into(),
            Some(json!({"key": "t/mac", "message": b64(b"m")})),
            Scope::KmsSign,
        ),
        (
            Method::POST,
            "/v1/kms/hmac/verify".into(),
            Some(json!({"key": "t/mac", "message": b64(b"m"), "mac": tag["value"]})),
            Scope::KmsSign,
        ),
        (
            Method::POST,
            "/v1/kms/encrypt".into(),
            Some(json!({"key": "t/enc", "plaintext": b64(b"p")})),
            Scope::KmsEncrypt,
        ),
        (
            Method::POST,
            "/v1/kms/decrypt".into(),
            Some(json!({"key": "t/enc", "ciphertext": ct["value"]})),
            Scope::KmsEncrypt,
        ),
        (
            Method::POST,
            "/v1/kms/rewrap".into(),
            Some(json!({"key": "t/enc", "ciphertext": ct["value"]})),
            Scope::KmsEncrypt,
        ),
        (
            Method::POST,
            "/v1/kms/datakey".into(),
            Some(json!({"key": "t/enc"})),
            Scope::KmsEncrypt,
        ),
        (
            Method::POST,
            "/v1/kms/encap".into(),
            Some(json!({"key": "t/kem"})),
            Scope::KmsWrap,
        ),
        (
            Method::POST,
            "/v1/kms/decap".into(),
            Some(json!({"key": "t/kem", "ciphertext": kem["ciphertext"]})),
            Scope::KmsWrap,
        ),
        (
            Method::POST,
            "/v1/kms/wrap".into(),
            Some(json!({"key": "t/enc", "secret": b64(&[1; 32])})),
            Scope::KmsWrap,
        ),
        (
            Method::POST,
            "/v1/kms/unwrap".into(),
            Some(json!({"key": "t/enc", "wrapped": w["value"]})),
            Scope::KmsWrap,
        ),
        (
            Method::POST,
            "/v1/kms/keys/t%2Fimp{n}/import".into(),
            Some(json!({"alg": "aes-256-gcm", "wrapped": wrapped})),
            Scope::KmsAdmin,
        ),
        (
            Method::GET,
            "/v1/kms/keys/t%2Fexp/export".into(),
            None,
            Scope::KmsAdmin,
        ),
        (
            Method::POST,
            "/v1/kms/keys/t%2Fdst{n}/versions/1/destroy".into(),
            None,
            Scope::KmsAdmin,
        ),
        (
            Method::GET,
            "/v1/kms/keys/t%2Fsig/attest".into(),
            None,
            Scope::KmsRead,
        ),
    ];
    let mint = |scopes: Vec<Scope>, prefix: &str, ttl: Option<std::time::Duration>| {
        f.auth
            .mint(&TokenSpec {
                scopes,
                prefix: prefix.into(),
                ttl,
            })
            .unwrap()
    };
    let mut n = 0;
    let mut fresh = |path: &str, body: &Option<Value>| {
        n += 1;
        let path = path.replace("{n}", &n.to_string());
        let body = body
            .as_ref()
            .map(|b| serde_json::from_str(&b.to_string().replace("{n}", &n.to_string())).unwrap());
        (path, body, n)
    };
    let other = TokenAuthority::new(&[8u8; 32], []).unwrap();
    let (forged, _) = other
        .mint(&TokenSpec {
            scopes: ALL_SCOPES.to_vec(),
            ..TokenSpec::default()
        })
        .unwrap();
    let (revoked, revoked_id) = mint(ALL_SCOPES.to_vec(), "", None);
    f.auth.revoke(&revoked_id);
    let (expired, _) = mint(ALL_SCOPES.to_vec(), "", Some(std::time::Duration::ZERO));
    let (elsewhere, _) = mint(ALL_SCOPES.to_vec(), "u/", None);
    let narrowed = attenuate(
        &f.root,
        &TokenSpec {
            scopes: vec![Scope::KmsSign],
            prefix: "t/s".into(),
            ttl: None,
        },
    )
    .unwrap();
    let short_lived = attenuate(
        &f.root,
        &TokenSpec {
            ttl: Some(std::time::Duration::ZERO),
            ..TokenSpec::default()
        },
    )
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // past the expiries

    for (method, path, body, needed) in &routes {
        // Each single-scope token: allowed exactly for its own scope.
        for scope in ALL_SCOPES {
            let (p, b, i) = fresh(path, body);
            if p.contains("t%2Fdel") {
                post(app, "/v1/kms/keys", json!({"name": format!("t/del{i}"), "alg": "aes-256-gcm", "deletion_allowed": true})).await;
            }
            if p.contains("t%2Fdst") {
                let n: aunsorm_kms::KeyName = format!("t/dst{i}").parse().unwrap();
                let alg = "aes-256-gcm".parse().unwrap();
                f.kms.create(&n, alg, &Default::default()).unwrap();
                f.kms.rotate(&n).unwrap();
            }
            let (tok, _) = mint(vec![scope], "", None);
            let (s, v) = call_with(app, &tok, method.clone(), &p, b).await;
            if scope == *needed {
                assert!(
                    s.is_success(),
                    "{method} {p} with {}: {s} {v}",
                    scope.as_str()
                );
            } else {
                assert_eq!(
                    s,
                    StatusCode::FORBIDDEN,
                    "{method} {p} with {}: {v}",
                    scope.as_str()
                );
                assert_eq!(code(&v), "forbidden");
            }
        }
        // The right scope on a prefix the key is not under.
        let (p, b, _) = fresh(path, body);
        let (s, _) = call_with(app, &elsewhere, method.clone(), &p, b).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {p} with a u/ token");
        // Missing, malformed, forged, revoked and expired tokens: 401 before anything.
        for bad in [
            "",
            "garbage",
            forged.as_str(),
            revoked.as_str(),
            expired.as_str(),
        ] {
            let (p, b, _) = fresh(path, body);
            let (s, v) = call_with(app, bad, method.clone(), &p, b).await;
            assert_eq!(
                (s, code(&v)),
                (StatusCode::UNAUTHORIZED, "unauthorized"),
                "{method} {p}"
            );
        }
        // Attenuated offline to kms:sign under t/s: only signing routes on t/sig.
        let (p, b, _) = fresh(path, body);
        let (s, _) = call_with(app, &narrowed, method.clone(), &p, b).await;
        let sig_route =
            *needed == Scope::KmsSign && body.as_ref().is_some_and(|b| b["key"] == "t/sig");
        if sig_route {
            assert!(s.is_success(), "{method} {p} attenuated");
        } else {
            assert_eq!(s, StatusCode::FORBIDDEN, "{method} {p} attenuated");
        }
        // Attenuated with an expiry now past: refused.
        let (p, b, _) = fresh(path, body);
        let (s, _) = call_with(app, &short_lived, method.clone(), &p, b).await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "{method} {p} past an attenuated expiry"
        );
    }
    // An attenuated token cannot widen itself back: a second block asking for more
    // scopes still fails the first block's check.
    let widened = attenuate(
        &narrowed,
        &TokenSpec {
            scopes: ALL_SCOPES.to_vec(),
            ..TokenSpec::default()
        },
    )
    .unwrap();
    let (s, _) = call_with(
        app,
        &widened,
        Method::POST,
        "/v1/kms/encrypt",
        Some(json!({"key": "t/enc", "plaintext": b64(b"p")})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn tokens_are_minted_without_escalation_and_revoked_for_good() {
    let f = fixture(Limits::default());
    use_root(&f);
    let app = &f.app;
    post(
        app,
        "/v1/kms/keys",
        json!({"name": "t/sig", "alg": "ed25519"}),
    )
    .await;
    let sign = json!({"key": "t/sig", "message": b64(b"m")});

    let (s, t) = post(
        app,
        "/v1/auth/tokens",
        json!({"scopes": ["kms:sign"], "prefix": "t/", "ttl_secs": 600}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let signer = t["token"].as_str().unwrap().to_owned();
    let signer_id = t["id"].as_str().unwrap().to_owned();
    let (s, _) = call_with(
        app,
        &signer,
        Method::POST,
        "/v1/kms/sign",
        Some(sign.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call_with(
        app,
        &signer,
        Method::POST,
        "/v1/kms/encrypt",
        Some(json!({"key": "t/sig", "plaintext": ""})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A tenant admin cannot mint outside its prefix, nor scopes it lacks.
    let (_, t) = post(
        app,
        "/v1/auth/tokens",
        json!({"scopes": ["kms:admin", "kms:read"], "prefix": "t/"}),
    )
    .await;
    let tenant = t["token"].as_str().unwrap().to_owned();
    let (s, _) = call_with(
        app,
        &tenant,
        Method::POST,
        "/v1/auth/tokens",
        Some(json!({"scopes": ["kms:read"], "prefix": ""})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call_with(
        app,
        &tenant,
        Method::POST,
        "/v1/auth/tokens",
        Some(json!({"scopes": ["kms:sign"], "prefix": "t/a"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call_with(
        app,
        &tenant,
        Method::POST,
        "/v1/auth/tokens",
        Some(json!({"scopes": ["kms:read"], "prefix": "t/a"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // Nor can an attenuated token mint, or anyone without kms:admin.
    let narrowed = attenuate(
        &f.root,
        &TokenSpec {
            ttl: Some(std::time::Duration::from_secs(60)),
            ..TokenSpec::default()
        },
    )
    .unwrap();
    let (s, _) = call_with(
        app,
        &narrowed,
        Method::POST,
        "/v1/auth/tokens",
        Some(json!({"scopes": ["kms:read"]})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call_with(
        app,
        &signer,
        Method::POST,
        "/v1/auth/tokens",
        Some(json!({"scopes": ["kms:sign"], "prefix": "t/"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = post(
        app,
        "/v1/auth/tokens",
        json!({"scopes": ["kms:everything"]}),
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_input"));
    let (s, _) = post(app, "/v1/auth/tokens", json!({"scopes": []})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Revocation: the token and its attenuations stop at once, and it is stored.
    let child = attenuate(
        &signer,
        &TokenSpec {
            prefix: "t/s".into(),
            ..TokenSpec::default()
        },
    )
    .unwrap();
    let (s, _) = call_with(
        app,
        &child,
        Method::POST,
        "/v1/kms/sign",
        Some(sign.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = post(app, "/v1/auth/tokens/revoke", json!({"id": signer_id})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    for t in [&signer, &child] {
        let (s, v) = call_with(app, t, Method::POST, "/v1/kms/sign", Some(sign.clone())).await;
        assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    }
    assert_eq!(f.kms.revoked_tokens().unwrap(), vec![signer_id]);
    let (s, _) = post(app, "/v1/auth/tokens/revoke", json!({"id": "bad id"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

async fn get_raw(app: &Router, token: &str, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let req = Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

/// The log over HTTP: a checkpoint signed by the KMS's keys, tiles and entry bundles as
/// tlog-tiles lays them out, and proofs that verify against the checkpoint.
#[tokio::test]
async fn the_log_is_served_as_tiles_with_proofs() {
    let f = fixture(Limits::default());
    use_root(&f);
    let app = &f.app;
    post(app, "/v1/kms/keys", json!({"name": "k", "alg": "ed25519"})).await;
    for _ in 0..5 {
        post(app, "/v1/kms/sign", json!({"key": "k", "message": ""})).await;
    }
    let (s, h, note) = get_raw(app, &f.root, "/v1/log/checkpoint").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h.get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let verifiers = f.kms.log_signers("aunsorm.test/log").unwrap().verifiers();
    let cp = aunsorm_log::verified_checkpoint(&note, &verifiers, "aunsorm.test/log").unwrap();
    assert!(cp.size >= 6);
    let n = cp.size;

    let (s, h, bundle) = get_raw(app, &f.root, &format!("/v1/log/tile/entries/000.p/{n}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h.get("cache-control").unwrap(), "no-cache");
    let entries = aunsorm_log::tiles::decode_bundle(&bundle).unwrap();
    assert_eq!(entries.len() as u64, n);
    let (s, _, tile) = get_raw(app, &f.root, &format!("/v1/log/tile/0/000.p/{n}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(tile.len() as u64, n * 32);
    assert_eq!(
        &tile[..32],
        &aunsorm_log::merkle::leaf_hash(&entries[0])[..]
    );
    // Tiles the tree does not have, and paths that are not tiles: 404.
    for bad in [
        format!("/v1/log/tile/0/000.p/{}", n + 1),
        "/v1/log/tile/0/000".into(),
        "/v1/log/tile/9/000".into(),
        "/v1/log/tile/0/x1".into(),
    ] {
        let (s, _, body) = get_raw(app, &f.root, &bad).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(code(&v), "not_found");
    }

    // Inclusion of every entry verifies against the signed root.
    for (i, e) in entries.iter().enumerate() {
        let (s, p) = call(
            app,
            Method::GET,
            &format!("/v1/log/proof/inclusion?index={i}"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(p["size"].as_u64(), Some(n));
        let proof: Vec<[u8; 32]> = p["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
            .collect();
        aunsorm_log::merkle::verify_inclusion(
            i as u64,
            n,
            &aunsorm_log::merkle::leaf_hash(e),
            &proof,
            &cp.root,
        )
        .unwrap();
    }
    let (s, p) = call(
        app,
        Method::GET,
        &format!("/v1/log/proof/consistency?old=2&new={n}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!p["hashes"].as_array().unwrap().is_empty());
    for bad in [
        format!("/v1/log/proof/inclusion?index={n}"),
        format!("/v1/log/proof/consistency?old={}", n + 1),
        "/v1/log/proof/inclusion?index=-1".into(),
        "/v1/log/proof/consistency?old=0&new=99999".into(),
    ] {
        let (s, v) = call(app, Method::GET, &bad, None).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_input"),
            "{bad}: {v}"
        );
    }
    // log:read is needed; a signing token gets 403, no token 401.
    let (signer, _) = f
        .auth
        .mint(&TokenSpec {
            scopes: vec![Scope::KmsSign],
            ..TokenSpec::default()
        })
        .unwrap();
    assert_eq!(
        get_raw(app, &signer, "/v1/log/checkpoint").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_raw(app, "", "/v1/log/checkpoint").await.0,
        StatusCode::UNAUTHORIZED
    );
}
