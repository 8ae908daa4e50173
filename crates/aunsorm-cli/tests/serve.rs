#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! `aunsorm serve` as a real process on a random loopback port, driven over HTTP/1.1
//! with a plain TCP client, and the `token` commands around it.

mod common;
use common::stop;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PASS: &str = "correct horse battery";

struct Server {
    child: Child,
    addr: String,
    token: Option<String>,
}

fn start(args: &[&str], store: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aunsorm"))
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .env("AUNSORM_STORE", store)
        .env("AUNSORM_PASSPHRASE", PASS)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = lines.next().unwrap().unwrap();
    let addr = addr
        .strip_prefix("AUNSORM_ADDR=http://")
        .unwrap_or_else(|| panic!("first line: {addr}"))
        .to_owned();
    let token = if args.contains(&"--dev") {
        let t = lines.next().unwrap().unwrap();
        Some(t.strip_prefix("AUNSORM_TOKEN=").unwrap().to_owned())
    } else {
        None
    };
    Server { child, addr, token }
}

/// One HTTP/1.1 request; returns the status and the JSON body (Null when empty).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let v = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap()
    };
    (status, v)
}

fn cli(store: &Path, args: &[&str], env_token: Option<&str>) -> (bool, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aunsorm"));
    c.args(args)
        .env("AUNSORM_STORE", store)
        .env("AUNSORM_PASSPHRASE", PASS)
        .env_remove("AUNSORM_TOKEN");
    if let Some(t) = env_token {
        c.env("AUNSORM_TOKEN", t);
    }
    let out = c.output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(101),
        "panic: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn dev_server_serves_signs_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(&["--dev"], dir.path());
    let root = s.token.clone().unwrap();
    let (st, v) = http(&s.addr, "GET", "/v1/sys/health", None, None);
    assert_eq!((st, v["sealed"].as_bool()), (200, Some(false)));
    let (st, _) = http(
        &s.addr,
        "POST",
        "/v1/kms/keys",
        Some(&root),
        Some(&json!({"name": "demo", "alg": "ml-dsa-65"})),
    );
    assert_eq!(st, 201);
    let msg = json!({"key": "demo", "message": "aGVsbG8="});
    let (st, sig) = http(&s.addr, "POST", "/v1/kms/sign", Some(&root), Some(&msg));
    assert_eq!(st, 200);
    let (st, v) = http(
        &s.addr,
        "POST",
        "/v1/kms/verify",
        Some(&root),
        Some(&json!({"key": "demo", "message": "aGVsbG8=", "signature": sig["value"]})),
    );
    assert_eq!((st, v["valid"].as_bool()), (200, Some(true)));
    let (st, v) = http(&s.addr, "POST", "/v1/kms/sign", None, Some(&msg));
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    // Attenuated offline by the CLI: read-only now.
    let (ok, ro) = cli(
        dir.path(),
        &["token", "attenuate", "--scope", "kms:read"],
        Some(&root),
    );
    assert!(ok);
    let ro = ro.trim();
    let (st, _) = http(&s.addr, "GET", "/v1/kms/keys/demo", Some(ro), None);
    assert_eq!(st, 200);
    let (st, _) = http(&s.addr, "POST", "/v1/kms/sign", Some(ro), Some(&msg));
    assert_eq!(st, 403);
    stop(s.child);
}

#[test]
fn store_server_keeps_keys_and_revocations_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(cli(&store, &["operator", "init"], None).0);
    // Tokens minted offline with the store's token key, before the server runs.
    let (ok, out) = cli(
        &store,
        &[
            "--format",
            "json",
            "token",
            "create",
            "--scope",
            "kms:admin",
            "--scope",
            "kms:sign",
            "--ttl",
            "1h",
        ],
        None,
    );
    assert!(ok);
    let admin: Value = serde_json::from_str(&out).unwrap();
    let admin_token = admin["token"].as_str().unwrap().to_owned();
    let (ok, signer) = cli(
        &store,
        &["token", "create", "--scope", "kms:sign", "--prefix", "app/"],
        None,
    );
    assert!(ok);
    let signer = signer.trim().to_owned();

    let s = start(&[], &store);
    let (st, _) = http(
        &s.addr,
        "POST",
        "/v1/kms/keys",
        Some(&admin_token),
        Some(&json!({"name": "app/sig", "alg": "ed25519"})),
    );
    assert_eq!(st, 201);
    let msg = json!({"key": "app/sig", "message": "aGVsbG8="});
    let (st, sig) = http(&s.addr, "POST", "/v1/kms/sign", Some(&signer), Some(&msg));
    assert_eq!(st, 200);
    stop(s.child);

    // Restarted: the key and both tokens still work; the old signature verifies.
    let s = start(&[], &store);
    let (st, v) = http(
        &s.addr,
        "POST",
        "/v1/kms/verify",
        Some(&signer),
        Some(&json!({"key": "app/sig", "message": "aGVsbG8=", "signature": sig["value"]})),
    );
    assert_eq!((st, v["valid"].as_bool()), (200, Some(true)));
    // Revoked through the running server: refused at once.
    let (st, t) = http(
        &s.addr,
        "POST",
        "/v1/auth/tokens",
        Some(&admin_token),
        Some(&json!({"scopes": ["kms:sign"], "prefix": "app/"})),
    );
    assert_eq!(st, 201);
    let (st, _) = http(
        &s.addr,
        "POST",
        "/v1/auth/tokens/revoke",
        Some(&admin_token),
        Some(&json!({"id": t["id"]})),
    );
    assert_eq!(st, 204);
    let (st, _) = http(
        &s.addr,
        "POST",
        "/v1/kms/sign",
        t["token"].as_str(),
        Some(&msg),
    );
    assert_eq!(st, 401);
    stop(s.child);

    // Revoked offline in the store while stopped: refused after the restart. The log
    // saw every operation and still verifies against the checkpoint kept beside it.
    let signer_id = {
        let (ok, out) = cli(
            &store,
            &["--format", "json", "token", "create", "--scope", "kms:sign"],
            None,
        );
        assert!(ok);
        let v: Value = serde_json::from_str(&out).unwrap();
        (
            v["token"].as_str().unwrap().to_owned(),
            v["id"].as_str().unwrap().to_owned(),
        )
    };
    assert!(cli(&store, &["token", "revoke", &signer_id.1], None).0);
    let s = start(&[], &store);
    let (st, _) = http(
        &s.addr,
        "POST",
        "/v1/kms/sign",
        Some(&signer_id.0),
        Some(&msg),
    );
    assert_eq!(st, 401);
    stop(s.child);
    let (ok, _) = cli(&store, &["log", "verify"], None);
    assert!(ok, "log verify after the server sessions");
}
