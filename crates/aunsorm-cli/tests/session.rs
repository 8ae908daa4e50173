#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! A whole session with the real binary: `aunsorm serve` on a store, started sealed and
//! uninitialized on a random loopback port, driven only by the CLI over HTTP (`--addr`):
//! init, keys of every algorithm, every operation, rotate, rewrap, seal, restart,
//! unseal share by share, old ciphertexts still decrypt, the log verifies. The server's
//! log lines and metrics are then scraped for the session's secrets: none may appear.

mod common;
use common::{aunsorm, stop};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Secrets the session uses; none may appear in logs or metrics.
const CANARY_PLAINTEXT: &str = "CANARY-PLAINTEXT-5b1e0c";
const CANARY_SECRET: &str = "CANARY-WRAPPED-SECRET-93ad";

struct Server {
    child: Child,
    addr: String,
}

fn start(store: &Path, log: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aunsorm"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log-level", "info"])
        .env("AUNSORM_STORE", store)
        .env_remove("AUNSORM_PASSPHRASE")
        .env_remove("AUNSORM_UNSEAL_SHARES")
        .stdout(Stdio::piped())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        )
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = lines.next().unwrap().unwrap();
    let addr = addr.strip_prefix("AUNSORM_ADDR=").unwrap().to_owned();
    Server { child, addr }
}

/// Runs the CLI against the server.
fn cli(addr: &str, token: &str, args: &[&str], stdin: &[u8]) -> Output {
    aunsorm(
        Some(Path::new("/nonexistent/never-used")),
        &[("AUNSORM_ADDR", addr), ("AUNSORM_TOKEN", token)],
        &["AUNSORM_PASSPHRASE"],
        args,
        stdin,
    )
}

fn ok(addr: &str, token: &str, args: &[&str], stdin: &[u8]) -> String {
    let o = cli(addr, token, args, stdin);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn algorithms() -> Vec<(String, String)> {
    let o = Command::new(env!("CARGO_BIN_EXE_aunsorm"))
        .arg("algorithms")
        .output()
        .unwrap();
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("not in this build"))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_owned(), w.next()?.to_owned()))
        })
        .collect()
}

#[test]
fn cli_session_against_the_server_and_no_secret_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let log = dir.path().join("server.log");
    let s = start(&store, &log);
    let a = s.addr.clone();

    // Sealed and uninitialized: init over HTTP prints the shares and a root token.
    let st = ok(&a, "", &["--format", "json", "operator", "status"], b"");
    assert!(st.contains("\"initialized\":false"), "{st}");
    let out = ok(
        &a,
        "",
        &["operator", "init", "--shares", "3", "--threshold", "2"],
        b"",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    let shares: Vec<String> = lines[..3].iter().map(|s| (*s).to_owned()).collect();
    let root = lines[3].to_owned();
    let t = root.as_str();

    // A key of every algorithm, and every operation it supports.
    let mut ciphertexts = vec![];
    let mut signatures = vec![];
    for (alg, kind) in algorithms() {
        let name = format!("app/{}", alg.replace('+', "-"));
        let info = ok(
            &a,
            t,
            &["--format", "json", "key", "create", &name, "--alg", &alg],
            b"",
        );
        assert!(info.contains(&format!("\"alg\":\"{alg}\"")), "{info}");
        match kind.as_str() {
            "Aead" => {
                let ct = ok(&a, t, &["encrypt", &name], CANARY_PLAINTEXT.as_bytes());
                let pt = ok(&a, t, &["decrypt", &name], ct.as_bytes());
                assert_eq!(pt, CANARY_PLAINTEXT);
                let w = ok(&a, t, &["wrap", &name], CANARY_SECRET.as_bytes());
                assert_eq!(ok(&a, t, &["unwrap", &name], w.as_bytes()), CANARY_SECRET);
                let dk = ok(&a, t, &["datakey", &name], b"");
                let wrapped = dk.lines().nth(1).unwrap();
                assert!(wrapped.starts_with("aunsorm:v1:"));
                ciphertexts.push((name, ct));
            }
            "Mac" => {
                let mac = ok(&a, t, &["hmac", &name], b"message");
                assert!(mac.starts_with("aunsorm:v1:"));
            }
            "Kem" => {
                let e = ok(&a, t, &["encap", &name], b"");
                let mut l = e.lines();
                let (ss, ct) = (l.next().unwrap(), l.next().unwrap());
                assert_eq!(ok(&a, t, &["decap", &name], ct.as_bytes()).trim(), ss);
                let w = ok(&a, t, &["wrap", &name], CANARY_SECRET.as_bytes());
                assert_eq!(ok(&a, t, &["unwrap", &name], w.as_bytes()), CANARY_SECRET);
            }
            _ => {
                let sig = ok(&a, t, &["sign", &name], CANARY_PLAINTEXT.as_bytes());
                let sig = sig.trim().to_owned();
                ok(
                    &a,
                    t,
                    &["verify", &name, "--sig", &sig],
                    CANARY_PLAINTEXT.as_bytes(),
                );
                // A tampered message is "invalid": exit 1.
                let bad = cli(&a, t, &["verify", &name, "--sig", &sig], b"other");
                assert_eq!(bad.status.code(), Some(1), "{alg}");
                signatures.push((name, sig));
            }
        }
    }
    assert!(ciphertexts.len() >= 3 && signatures.len() >= 10);

    // A witness pins the log's verifier keys and keeps a checkpoint.
    let keys_file = dir.path().join("log-keys");
    let trusted_file = dir.path().join("trusted-checkpoint");
    std::fs::write(&keys_file, ok(&a, t, &["log", "keys"], b"")).unwrap();
    std::fs::write(&trusted_file, ok(&a, t, &["log", "checkpoint"], b"")).unwrap();

    // Rotate, then rewrap an old ciphertext to the new version.
    let (aes, old_ct) = ciphertexts[0].clone();
    assert_eq!(
        ok(&a, t, &["key", "rotate", &aes], b"").trim(),
        format!("{aes}#v2")
    );
    let new_ct = ok(&a, t, &["rewrap", &aes], old_ct.as_bytes());
    assert!(new_ct.starts_with("aunsorm:v2:"), "{new_ct}");
    let listed = ok(&a, t, &["key", "list", "--prefix", "app/"], b"");
    assert_eq!(listed.lines().count(), algorithms().len());

    // Import (sealed here to the server's wrapping key), export, attest, destroy.
    let pem = ok(&a, t, &["pkey", "gen", "--alg", "ed25519"], b"");
    ok(
        &a,
        t,
        &["key", "import", "imp/ed", "--exportable", "--in", "-"],
        pem.as_bytes(),
    );
    assert_eq!(ok(&a, t, &["key", "export", "imp/ed"], b""), pem);
    let wk = ok(&a, t, &["key", "wrapping-key"], b"");
    assert!(wk.starts_with("-----BEGIN PUBLIC KEY-----"), "{wk}");
    let att = ok(&a, t, &["key", "attest", "imp/ed"], b"");
    assert!(
        att.contains("key: imp/ed\n") && att.contains("signature: "),
        "{att}"
    );
    let att_key = ok(&a, t, &["key", "attestation-key"], b"");
    let statement = dir.path().join("statement");
    let sig_file = dir.path().join("statement.sig");
    let key_file = dir.path().join("attestation.pem");
    std::fs::write(&key_file, &att_key).unwrap();
    let sig_path = sig_file.to_str().unwrap();
    std::fs::write(
        &statement,
        ok(
            &a,
            t,
            &["key", "attest", "imp/ed", "--sig-out", sig_path],
            b"",
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_aunsorm"))
        .args(["pkey", "verify", "--pub"])
        .arg(&key_file)
        .args([
            "--context",
            "aunsorm attestation v1",
            "--sig",
            sig_path,
            "--in",
        ])
        .arg(&statement)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ok(
        &a,
        t,
        &["key", "create", "app/old", "--alg", "aes-256-gcm"],
        b"",
    );
    let doomed = ok(&a, t, &["encrypt", "app/old"], b"x");
    ok(&a, t, &["key", "rotate", "app/old"], b"");
    ok(&a, t, &["key", "destroy", "app/old#v1"], b"");
    let o = cli(&a, t, &["decrypt", "app/old"], doomed.as_bytes());
    assert_eq!(o.status.code(), Some(2));

    // Errors come back with their code and exit 2; a narrower token is refused.
    let o = cli(&a, t, &["decrypt", "app/missing"], old_ct.as_bytes());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no_such_key"));
    let reader = ok(
        &a,
        t,
        &["token", "create", "--scope", "kms:read", "--prefix", "app/"],
        b"",
    );
    let o = cli(&a, reader.trim(), &["sign", &signatures[0].0], b"x");
    assert!(String::from_utf8_lossy(&o.stderr).contains("forbidden"));
    ok(&a, reader.trim(), &["key", "show", &aes], b"");

    // Seal, restart, unseal share by share: old data still works.
    let o = cli(&a, reader.trim(), &["operator", "seal"], b"");
    assert_eq!(o.status.code(), Some(2));
    ok(&a, t, &["operator", "seal"], b"");
    let o = cli(&a, t, &["decrypt", &aes], new_ct.as_bytes());
    assert!(String::from_utf8_lossy(&o.stderr).contains("sealed"));
    stop(s.child);
    let s = start(&store, &log);
    let a = s.addr.clone();
    let p = ok(&a, "", &["operator", "unseal", &shares[2]], b"");
    assert!(p.contains("sealed: 1 of 2"), "{p}");
    assert_eq!(
        ok(&a, "", &["operator", "unseal", &shares[0]], b"").trim(),
        "unsealed"
    );
    assert_eq!(
        ok(&a, t, &["decrypt", &aes], old_ct.as_bytes()),
        CANARY_PLAINTEXT
    );
    assert_eq!(
        ok(&a, t, &["decrypt", &aes], new_ct.as_bytes()),
        CANARY_PLAINTEXT
    );
    for (name, sig) in &signatures {
        ok(
            &a,
            t,
            &["verify", name, "--sig", sig],
            CANARY_PLAINTEXT.as_bytes(),
        );
    }
    let metrics = {
        let mut c = std::net::TcpStream::connect(a.trim_start_matches("http://")).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            c,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut s = String::new();
        std::io::Read::read_to_string(&mut c, &mut s).unwrap();
        s
    };
    assert!(
        metrics.contains("kms_ops_total{op=\"decrypt\"}"),
        "{metrics}"
    );

    // The witness checks the served log (tlog-tiles) against its pinned keys and the
    // checkpoint it kept before the restart, proves an entry, and reads entries.
    let (kf, tf) = (keys_file.to_str().unwrap(), trusted_file.to_str().unwrap());
    let v = ok(
        &a,
        t,
        &["log", "verify", "--keys", kf, "--trusted", tf],
        b"",
    );
    assert!(v.contains("consistent with the trusted checkpoint"), "{v}");
    let entries = ok(
        &a,
        t,
        &["log", "entries", "--start", "2", "--limit", "3"],
        b"",
    );
    assert_eq!(entries.lines().count(), 3, "{entries}");
    let event = dir.path().join("event.json");
    std::fs::write(&event, entries.lines().nth(1).unwrap()).unwrap();
    let ev = event.to_str().unwrap();
    let proof: serde_json::Value =
        serde_json::from_str(&ok(&a, t, &["log", "prove", "--event", ev], b"")).unwrap();
    assert_eq!(proof["index"], 3);
    let v = ok(&a, t, &["log", "verify", "--keys", kf, "--event", ev], b"");
    assert!(v.starts_with("valid: "), "{v}");
    // Another server's keys do not verify this log: exit 1.
    let other = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_aunsorm"))
        .args(["--store"])
        .arg(other.path())
        .args(["operator", "init", "--passphrase-env", "P"])
        .env("P", "another store")
        .env_remove("AUNSORM_ADDR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(env!("CARGO_BIN_EXE_aunsorm"))
        .args(["--store"])
        .arg(other.path())
        .args(["log", "keys"])
        .env("AUNSORM_PASSPHRASE", "another store")
        .env_remove("AUNSORM_ADDR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let other_keys = dir.path().join("other-keys");
    std::fs::write(&other_keys, &o.stdout).unwrap();
    let o = cli(
        &a,
        t,
        &["log", "verify", "--keys", other_keys.to_str().unwrap()],
        b"",
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stop(s.child);

    // The log on disk verifies against its signed checkpoint (local command, sealed
    // server stopped).
    let o = Command::new(env!("CARGO_BIN_EXE_aunsorm"))
        .args(["log", "verify"])
        .env("AUNSORM_STORE", &store)
        .env(
            "AUNSORM_UNSEAL_SHARES",
            format!("{} {}", shares[0], shares[1]),
        )
        .env_remove("AUNSORM_ADDR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // The server's log lines: one JSON object per line, with request ids and token ids,
    // and none of the session's secrets.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut requests = 0;
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if v["msg"] == "request" {
            requests += 1;
            assert!(v["request_id"].as_str().is_some_and(|r| r.len() == 32));
        }
    }
    assert!(requests > 50, "{requests} request lines");
    assert!(text.contains("\"token_id\":"));
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let mut secrets = vec![
        CANARY_PLAINTEXT.to_owned(),
        CANARY_SECRET.to_owned(),
        b64(CANARY_PLAINTEXT),
        b64(CANARY_SECRET),
        root.clone(),
        reader.trim().to_owned(),
    ];
    secrets.extend(shares.iter().cloned());
    for s in &secrets {
        // Long secrets: any 24-character piece would be a leak.
        let probe = &s[..s.len().min(24)];
        assert!(!text.contains(probe), "server log leaks {probe}");
        assert!(!metrics.contains(probe), "metrics leak {probe}");
    }
}
