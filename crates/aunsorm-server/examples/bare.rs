//! Benchmark baseline, not a product: a bare axum server doing the raw aunsorm-crypto
//! operation behind each measured route, with the same JSON shapes as the real API, and
//! no authentication, no KMS, no audit log. It is the limit of this HTTP stack for each
//! operation; `scripts/loadbench.sh` measures the real server against it.
//!
//! `cargo run --release -p aunsorm-server --example bare -- 127.0.0.1:0` prints
//! `AUNSORM_ADDR=http://...`. It serves with `axum::serve` on Tokio's multi-threaded
//! runtime; with `AUNSORM_BARE_PER_THREAD=1` it serves with the server's own accept loop
//! and threads instead (one single-threaded runtime per CPU, `aunsorm_server::Workers`),
//! the layout `aunsorm serve` uses, so that both layouts' limits can be measured.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark tool

use aunsorm_api::kms::{Encap, Encapsulated, Encrypt, Sign, Versioned};
use aunsorm_api::{SecretBase64, sys::Health};
use aunsorm_crypto::{AeadKey, Algorithm, PrivateKey, PublicKey, SignOptions};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

struct Keys {
    sign: HashMap<String, PrivateKey>,
    kem: HashMap<String, PublicKey>,
    aead: HashMap<String, AeadKey>,
}

type S = State<Arc<Keys>>;

/// The same allocator as the `aunsorm` binary, so that the two compare like for like.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn versioned(b: &[u8]) -> Json<Versioned> {
    Json(Versioned {
        value: format!("aunsorm:v1:{}", B64.encode(b)),
        version: 1,
    })
}

async fn sign(State(k): S, Json(r): Json<Sign>) -> Json<Versioned> {
    let key = &k.sign[&r.key];
    versioned(&key.sign(&r.message.0, &SignOptions::new()).unwrap())
}

async fn encrypt(State(k): S, Json(r): Json<Encrypt>) -> Json<Versioned> {
    let aad = r.aad.map(|a| a.0).unwrap_or_default();
    versioned(&k.aead[&r.key].encrypt(&aad, &r.plaintext.0).unwrap())
}

async fn encap(State(k): S, Json(r): Json<Encap>) -> Json<Encapsulated> {
    let (ct, ss) = k.kem[&r.key].encapsulate().unwrap();
    Json(Encapsulated {
        shared_secret: SecretBase64::from(ss.expose()),
        ciphertext: format!("aunsorm:v1:{}", B64.encode(ct)),
        version: 1,
    })
}

async fn health() -> Json<Health> {
    Json(Health {
        initialized: true,
        sealed: false,
        mode: None,
        threshold: None,
        shares: None,
        progress: 0,
        version: "bare".into(),
        standby: false,
        server_time_utc: 0,
    })
}

fn main() {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let mut signers = HashMap::new();
    for (name, alg) in [("ed", Algorithm::Ed25519), ("mldsa", Algorithm::MlDsa65)] {
        signers.insert(name.to_owned(), PrivateKey::generate(alg).unwrap());
    }
    let mut kem = HashMap::new();
    kem.insert(
        "mlkem".to_owned(),
        PrivateKey::generate(Algorithm::MlKem768)
            .unwrap()
            .public_key(),
    );
    let mut aead = HashMap::new();
    let bytes = AeadKey::generate_key_bytes(Algorithm::Aes256Gcm).unwrap();
    aead.insert(
        "aes".to_owned(),
        AeadKey::new(Algorithm::Aes256Gcm, bytes.expose()).unwrap(),
    );
    let keys = Arc::new(Keys {
        sign: signers,
        kem,
        aead,
    });
    let app = Router::new()
        .route("/v1/sys/health", get(health))
        .route("/v1/kms/sign", post(sign))
        .route("/v1/kms/encrypt", post(encrypt))
        .route("/v1/kms/encap", post(encap))
        .with_state(keys);
    if std::env::var_os("AUNSORM_BARE_PER_THREAD").is_some() {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let workers = aunsorm_server::Workers::start(threads - 1, |_| {}).unwrap();
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind(&listen).await.unwrap();
            println!("AUNSORM_ADDR=http://{}", l.local_addr().unwrap());
            std::io::stdout().flush().unwrap();
            let transport = aunsorm_server::Transport::default();
            aunsorm_server::serve_on(l, app, transport, &workers, std::future::pending())
                .await
                .unwrap();
        });
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind(&listen).await.unwrap();
        println!("AUNSORM_ADDR=http://{}", l.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        axum::serve(l, app).await.unwrap();
    });
}
