//! Helpers shared by the in-process route tests.
#![allow(dead_code, clippy::unwrap_used)]

use aunsorm_kms::{Kms, PassphraseParams};
use aunsorm_server::auth::{ALL_SCOPES, TokenAuthority, TokenSpec};
use aunsorm_server::{AppState, Limits, Node, router};
use aunsorm_store::{LogStore, SqliteLogStore, SqliteStore};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

/// Sends one request; the answer's status, headers and JSON body (`Null` when empty).
pub(crate) async fn send(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let v = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or_else(|_| panic!("not JSON: {body:?}"))
    };
    (status, headers, v)
}

/// Sends `body` (JSON) with `token` as bearer.
pub(crate) async fn call_with(
    app: &Router,
    token: &str,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            b = b.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let (s, _, v) = send(app, b.body(body).unwrap()).await;
    (s, v)
}

/// A router on a real SQLite store with the transparency log on, unsealed, with a root
/// token (every scope).
pub(crate) struct Fixture {
    pub app: Router,
    pub kms: Arc<Kms>,
    pub node: Arc<Node>,
    pub auth: Arc<TokenAuthority>,
    pub root: String,
    _dir: tempfile::TempDir,
}

pub(crate) fn fixture(limits: Limits) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let kms = Arc::new(Kms::new(Arc::new(
        SqliteStore::open(&dir.path().join("aunsorm.db")).unwrap(),
    )));
    kms.init_with_passphrase(
        b"test",
        PassphraseParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        },
    )
    .unwrap();
    let log: Arc<dyn LogStore> =
        Arc::new(SqliteLogStore::open(&dir.path().join("log.db")).unwrap());
    kms.open_log(log, "aunsorm.test/log").unwrap();
    let node = Arc::new(Node::unsealed(Arc::clone(&kms)).unwrap());
    let auth = node.auth().unwrap();
    let (root, _) = auth
        .mint(&TokenSpec {
            scopes: ALL_SCOPES.to_vec(),
            ..TokenSpec::default()
        })
        .unwrap();
    let app = router(AppState::new(Arc::clone(&node), limits));
    Fixture {
        app,
        kms,
        node,
        auth,
        root,
        _dir: dir,
    }
}
