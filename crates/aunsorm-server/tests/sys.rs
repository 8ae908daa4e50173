#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! `/v1/sys` (init, unseal, seal on a real store directory), `/v1/rng`, `/v1/id`,
//! `/metrics`, and the protection layers: in-flight bound (503), timeout (504), rate
//! limit (429).

use aunsorm_server::auth::{ALL_SCOPES, Scope, TokenSpec};
use aunsorm_server::{AppState, Limits, Node, router};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::{call_with, send};

/// A token with `scopes`, minted by `node`'s authority.
fn token(node: &Node, scopes: Vec<Scope>) -> String {
    node.auth()
        .unwrap()
        .mint(&TokenSpec {
            scopes,
            ..TokenSpec::default()
        })
        .unwrap()
        .0
}

fn app_over(node: Arc<Node>, limits: Limits) -> Router {
    router(AppState::new(node, limits))
}

async fn open_post(app: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (s, _, v) = send(app, req).await;
    (s, v)
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn init_unseal_seal_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(Node::open(dir.path()).unwrap());
    let app = &app_over(Arc::clone(&node), Limits::default());
    let (s, v) = call_with(app, "", Method::GET, "/v1/sys/health", None).await;
    assert_eq!(s, StatusCode::NOT_IMPLEMENTED, "Vault's status before init");
    assert_eq!(
        (v["initialized"].as_bool(), v["sealed"].as_bool()),
        (Some(false), Some(true))
    );
    // Before init nothing works: the token routes answer sealed.
    let (s, v) = call_with(app, "x", Method::GET, "/v1/kms/keys", None).await;
    assert_eq!((s, code(&v)), (StatusCode::SERVICE_UNAVAILABLE, "sealed"));
    // Ill-formed init requests change nothing.
    for bad in [
        json!({}),
        json!({"shares": 3}),
        json!({"shares": 3, "threshold": 2, "passphrase": "long enough"}),
        json!({"shares": 2, "threshold": 3}),
        json!({"passphrase": "short"}),
        json!({"shares": 3, "threshold": 2, "extra": 1}),
    ] {
        let (s, v) = open_post(app, "/v1/sys/init", bad.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_input"),
            "{bad}"
        );
    }
    assert!(!node.kms().status().unwrap().initialized);

    let (s, v) = open_post(app, "/v1/sys/init", json!({"shares": 3, "threshold": 2})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let shares: Vec<String> = v["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shares.len(), 3);
    let root = v["root_token"].as_str().unwrap().to_owned();
    let (s, v) = open_post(app, "/v1/sys/init", json!({"shares": 3, "threshold": 2})).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"));

    let (s, _) = call_with(
        app,
        &root,
        Method::POST,
        "/v1/kms/keys",
        Some(json!({"name": "k", "alg": "aes-256-gcm"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = call_with(
        app,
        &root,
        Method::POST,
        "/v1/kms/encrypt",
        Some(json!({"key": "k", "plaintext": "aGVsbG8="})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let ct = v["value"].as_str().unwrap().to_owned();

    // Seal needs an unattenuated kms:admin token.
    let reader = token(&node, vec![Scope::KmsRead]);
    let (s, _) = call_with(app, &reader, Method::POST, "/v1/sys/seal", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call_with(app, "", Method::POST, "/v1/sys/seal", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call_with(app, &root, Method::POST, "/v1/sys/seal", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(node.kms().is_sealed());
    assert!(dir.path().join("log-checkpoint").exists());
    let (s, v) = call_with(app, &root, Method::GET, "/v1/kms/keys", None).await;
    assert_eq!((s, code(&v)), (StatusCode::SERVICE_UNAVAILABLE, "sealed"));

    // Unseal share by share; a malformed share and a passphrase are refused and keep
    // the progress.
    let (s, v) = open_post(app, "/v1/sys/unseal", json!({"share": shares[1]})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            v["sealed"].as_bool(),
            v["progress"].as_u64(),
            v["threshold"].as_u64()
        ),
        (Some(true), Some(1), Some(2))
    );
    let (s, _) = open_post(app, "/v1/sys/unseal", json!({"share": "nonsense"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = open_post(app, "/v1/sys/unseal", json!({"passphrase": "whatever1"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, v) = call_with(app, "", Method::GET, "/v1/sys/health", None).await;
    assert_eq!(
        (v["mode"].as_str(), v["progress"].as_u64()),
        (Some("shares"), Some(1))
    );
    let (s, v) = open_post(app, "/v1/sys/unseal", json!({"share": shares[2]})).await;
    assert_eq!((s, v["sealed"].as_bool()), (StatusCode::OK, Some(false)));

    // The same root token works again (the token key lives in the store), and the old
    // ciphertext decrypts.
    let (s, v) = call_with(
        app,
        &root,
        Method::POST,
        "/v1/kms/decrypt",
        Some(json!({"key": "k", "ciphertext": ct})),
    )
    .await;
    assert_eq!(
        (s, v["secret"].as_str()),
        (StatusCode::OK, Some("aGVsbG8="))
    );
    // The log kept going: the checkpoint file still matches (it is checked at unseal).
    assert!(node.kms().log().unwrap().sync().unwrap() >= 3);
}

#[tokio::test]
async fn random_bytes_and_ids() {
    let node = Arc::new(Node::dev().unwrap());
    let app = &app_over(Arc::clone(&node), Limits::default());
    let root = token(&node, vec![Scope::KmsRead]);
    let get = |uri: &'static str| call_with(app, &root, Method::GET, uri, None);
    let (s, v) = get("/v1/rng/bytes?bytes=48").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["random"].as_str().map(str::len), Some(64));
    let (_, w) = get("/v1/rng/bytes").await;
    assert_eq!(w["random"].as_str().map(str::len), Some(44));
    assert_ne!(v["random"], w["random"]);
    for bad in [
        "/v1/rng/bytes?bytes=0",
        "/v1/rng/bytes?bytes=65537",
        "/v1/rng/bytes?n=1",
    ] {
        let (s, v) = get(bad).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::BAD_REQUEST, "invalid_input"),
            "{bad}"
        );
    }
    let (s, _) = call_with(app, "", Method::GET, "/v1/rng/bytes", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let (s, v) = get("/v1/id?count=100").await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<&str> = v["ids"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(ids.len(), 100);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
    assert!(ids.iter().all(|i| i.len() == 36 && &i[14..15] == "7"));
    let (_, v) = get("/v1/id?kind=ulid&count=3").await;
    let ids: Vec<&str> = v["ids"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(ids.iter().all(|i| i.len() == 26));
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    for bad in ["/v1/id?kind=uuidv4", "/v1/id?count=0", "/v1/id?count=1001"] {
        let (s, _) = get(bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn metrics_count_requests_without_names_or_secrets() {
    aunsorm_server::obs::init_metrics();
    let node = Arc::new(Node::dev().unwrap());
    let app = &app_over(Arc::clone(&node), Limits::default());
    let root = token(&node, ALL_SCOPES.to_vec());
    let (s, _) = call_with(
        app,
        &root,
        Method::POST,
        "/v1/kms/keys",
        Some(json!({"name": "canary-key-name", "alg": "ed25519"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // Three signs: the route's counter handle is kept after the first, and counts on.
    for _ in 0..3 {
        let (s, _) = call_with(
            app,
            &root,
            Method::POST,
            "/v1/kms/sign",
            Some(json!({"key": "canary-key-name", "message": "Y2FuYXJ5LXBsYWludGV4dA=="})),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    // A made-up method is counted as "other": clients cannot grow the label set.
    let (s, _) = call_with(
        app,
        &root,
        Method::from_bytes(b"CANARYMETHOD").unwrap(),
        "/v1/kms/sign",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    // A path no route has is counted as "unmatched", not by its path.
    let (s, _) = call_with(app, &root, Method::GET, "/v1/canary-no-such-route", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let res = tower::ServiceExt::oneshot(
        app.clone(),
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    // Every sign counted, by the handles the KMS keeps once the recorder is installed.
    assert!(text.contains("kms_ops_total{op=\"sign\"} 3\n"), "{text}");
    assert!(
        text.contains(
            "http_requests_total{method=\"POST\",route=\"/v1/kms/sign\",status=\"200\"} 3"
        ),
        "{text}"
    );
    // The wrong method is counted on the route it tried, with the three signs' time.
    assert!(
        text.contains("http_request_duration_seconds_count{route=\"/v1/kms/sign\"} 4"),
        "{text}"
    );
    assert!(
        text.contains(
            "http_requests_total{method=\"other\",route=\"/v1/kms/sign\",status=\"405\"} 1"
        ),
        "{text}"
    );
    assert!(!text.contains("CANARYMETHOD"), "{text}");
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"),
        "{text}"
    );
    assert!(!text.contains("canary-no-such-route"), "{text}");
    assert!(text.contains("kms_op_latency_seconds_bucket{op=\"sign\""));
    assert!(text.contains("kms_keys_total"));
    // The log's group commits (other tests of this process commit too: presence only;
    // aunsorm-log's own test checks the values), with the batch histogram's buckets.
    for name in [
        "aunsorm_log_batch_entries_count ",
        "aunsorm_log_batch_entries_sum ",
        "aunsorm_log_tree_size ",
        "aunsorm_log_commit_seconds_bucket{le=\"0.001\"}",
        "aunsorm_log_batch_entries_bucket{le=\"1\"}",
        "aunsorm_log_batch_entries_bucket{le=\"8192\"}",
    ] {
        assert!(text.contains(name), "{name}: {text}");
    }
    for secret in ["canary-key-name", "Y2FuYXJ5", "canary-plaintext", &root] {
        assert!(!text.contains(secret), "metrics leak {secret}");
    }
}

#[tokio::test]
async fn rate_limits_are_per_token() {
    let node = Arc::new(Node::dev().unwrap());
    let limits = Limits {
        rate: 0.5,
        burst: 3.0,
        ..Limits::default()
    };
    let app = &app_over(Arc::clone(&node), limits);
    let mint = || token(&node, vec![Scope::KmsRead]);
    let (a, b) = (mint(), mint());
    for _ in 0..3 {
        let (s, _) = call_with(app, &a, Method::GET, "/v1/kms/keys", None).await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, v) = call_with(app, &a, Method::GET, "/v1/kms/keys", None).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    // An attenuation shares its parent's bucket; another token has its own.
    let narrowed = aunsorm_server::auth::attenuate(
        &a,
        &TokenSpec {
            scopes: vec![Scope::KmsRead],
            prefix: "t/".into(),
            ttl: None,
        },
    )
    .unwrap();
    let (s, _) = call_with(app, &narrowed, Method::GET, "/v1/kms/keys?prefix=t/", None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let (s, _) = call_with(app, &b, Method::GET, "/v1/kms/keys", None).await;
    assert_eq!(s, StatusCode::OK);
}

/// A request whose body never finishes: holds its slot until dropped.
fn stalled(
    token: &str,
) -> (
    Request<Body>,
    tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let stream = futures_stream(rx);
    let req = Request::post("/v1/kms/sign")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap();
    (req, tx)
}

fn futures_stream(
    rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    struct S(tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>);
    impl futures_core::Stream for S {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            self.0.poll_recv(cx)
        }
    }
    S(rx)
}

#[tokio::test]
async fn overload_is_503_and_slow_requests_time_out() {
    let node = Arc::new(Node::dev().unwrap());
    let limits = Limits {
        concurrency: 1,
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let app = app_over(Arc::clone(&node), limits);
    let root = token(&node, ALL_SCOPES.to_vec());
    // One request holds the only slot, sending its body slowly.
    let (req, tx) = stalled(&root);
    let held = tokio::spawn({
        let app = app.clone();
        async move { send(&app, req).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (s, h, v) = send(
        &app,
        Request::get("/v1/kms/keys")
            .header("authorization", format!("Bearer {root}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::SERVICE_UNAVAILABLE, "overloaded")
    );
    // Refused by the limits, still inside the request's context: the error names the
    // request id the response header carries.
    let id = h.get("x-request-id").unwrap().to_str().unwrap();
    assert_eq!(v["error"]["request_id"].as_str(), Some(id));
    assert_eq!(h.get("retry-after").unwrap(), "1");
    // The slow one is cut off at the timeout with 504, and frees its slot.
    let (s, h, v) = held.await.unwrap();
    assert_eq!((s, code(&v)), (StatusCode::GATEWAY_TIMEOUT, "timeout"));
    let id = h.get("x-request-id").unwrap().to_str().unwrap();
    assert_eq!(v["error"]["request_id"].as_str(), Some(id));
    drop(tx);
    let (s, _) = call_with(&app, &root, Method::GET, "/v1/kms/keys", None).await;
    assert_eq!(s, StatusCode::OK);
}
