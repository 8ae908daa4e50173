#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! Custody commands against a local SQLite store, through the real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(store: &std::path::Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aunsorm"))
        .args(args)
        .env("AUNSORM_STORE", store)
        .env("AUNSORM_PASSPHRASE", "correct horse battery")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = c.wait_with_output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(101),
        "panic: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ok(store: &std::path::Path, args: &[&str], stdin: &[u8]) -> String {
    let out = run(store, args, stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn code(store: &std::path::Path, args: &[&str], stdin: &[u8]) -> (i32, String) {
    let out = run(store, args, stdin);
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn local_store_session() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("store");
    assert_eq!(code(&st, &["key", "list"], b"").0, 2); // not initialized
    ok(&st, &["operator", "init"], b"");
    assert!(code(&st, &["operator", "init"], b"").1.contains("conflict"));
    ok(
        &st,
        &["key", "create", "acme/data", "--alg", "aes-256-gcm"],
        b"",
    );
    let c1 = ok(&st, &["encrypt", "acme/data"], b"first");
    assert!(c1.starts_with("aunsorm:v1:"));
    assert_eq!(
        ok(&st, &["key", "rotate", "acme/data"], b"").trim(),
        "acme/data#v2"
    );
    assert_eq!(ok(&st, &["decrypt", "acme/data"], c1.as_bytes()), "first");
    ok(
        &st,
        &["key", "create", "acme/sig", "--alg", "ml-dsa-44"],
        b"",
    );
    let sig = ok(&st, &["sign", "acme/sig", "--context", "c"], b"msg");
    assert_eq!(
        code(
            &st,
            &["verify", "acme/sig", "--sig", sig.trim(), "--context", "c"],
            b"msg"
        )
        .0,
        0
    );
    assert_eq!(
        code(
            &st,
            &["verify", "acme/sig", "--sig", sig.trim(), "--context", "c"],
            b"msX"
        )
        .0,
        1
    );
    ok(&st, &["key", "create", "acme/kem", "--alg", "x-wing"], b"");
    let enc = ok(&st, &["encap", "acme/kem"], b"");
    let (ss, ct) = enc.trim().split_once('\n').unwrap();
    assert_eq!(ok(&st, &["decap", "acme/kem"], ct.as_bytes()).trim(), ss);
    let json = ok(&st, &["key", "show", "acme/data", "--format", "json"], b"");
    assert!(
        json.contains("\"alg\":\"aes-256-gcm\"") && json.contains("\"version\":2"),
        "{json}"
    );
    assert_eq!(
        ok(&st, &["key", "list", "--prefix", "acme/"], b"")
            .lines()
            .count(),
        3
    );
    ok(
        &st,
        &[
            "key",
            "config",
            "acme/data",
            "--min-decryption-version",
            "2",
        ],
        b"",
    );
    assert!(
        code(&st, &["decrypt", "acme/data"], c1.as_bytes())
            .1
            .contains("policy_denied")
    );
    ok(
        &st,
        &[
            "key",
            "config",
            "acme/data",
            "--min-decryption-version",
            "1",
        ],
        b"",
    );
    ok(&st, &["key", "destroy", "acme/data#v1"], b"");
    assert!(
        code(&st, &["decrypt", "acme/data"], c1.as_bytes())
            .1
            .contains("destroyed")
    );
    // Import a key made offline, then delete it once allowed.
    let pem = ok(&st, &["pkey", "gen", "--alg", "ed25519"], b"");
    ok(&st, &["key", "import", "acme/imp"], pem.as_bytes());
    let pubkey = {
        let p = dir.path().join("k.pem");
        std::fs::write(&p, &pem).unwrap();
        ok(&st, &["pkey", "pub", "--in", p.to_str().unwrap()], b"")
    };
    assert!(pubkey.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert!(ok(&st, &["sign", "acme/imp"], b"m").starts_with("aunsorm:v1:"));
    assert!(
        code(&st, &["key", "delete", "acme/imp"], b"")
            .1
            .contains("policy_denied")
    );
    ok(
        &st,
        &["key", "config", "acme/imp", "--deletion-allowed", "true"],
        b"",
    );
    ok(&st, &["key", "delete", "acme/imp"], b"");
    assert!(
        code(&st, &["key", "show", "acme/imp"], b"")
            .1
            .contains("no_such_key")
    );

    // Bad input: each a typed error with exit 2.
    for (args, want) in [
        (&["encrypt", "acme/sig"][..], "policy_denied"),
        (&["encrypt", "nope"][..], "no_such_key"),
        (
            &["key", "create", "bad name", "--alg", "ed25519"][..],
            "invalid_input",
        ),
        (&["decrypt", "acme/data"][..], "invalid_input"),
        (&["key", "destroy", "acme/data"][..], "invalid_input"),
    ] {
        let (c, e) = code(&st, args, b"not a ciphertext");
        assert_eq!(c, 2, "{args:?}");
        assert!(e.contains(want), "{args:?}: {e}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_aunsorm"))
        .args(["key", "list"])
        .env("AUNSORM_STORE", &st)
        .env("AUNSORM_PASSPHRASE", "wrong passphrase")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unauthorized"));
}
