#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // tests may unwrap
//! Custody commands against a local SQLite store, through the real binary.

mod common;
use common::aunsorm;
use std::process::{Command, Output};

fn run(store: &std::path::Path, args: &[&str], stdin: &[u8]) -> Output {
    aunsorm(
        Some(store),
        &[("AUNSORM_PASSPHRASE", "correct horse battery")],
        &[],
        args,
        stdin,
    )
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

fn run_with(store: &std::path::Path, env: &[(&str, &str)], args: &[&str], stdin: &[u8]) -> Output {
    aunsorm(Some(store), env, &["AUNSORM_PASSPHRASE"], args, stdin)
}

#[test]
fn shares_wrap_rewrap_attest_and_wrapped_import() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("store");
    let out = run_with(
        &st,
        &[],
        &["operator", "init", "--shares", "3", "--threshold", "2"],
        b"",
    );
    assert!(out.status.success());
    let mut shares: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    // Three shares, then the root token on the last line.
    assert_eq!(shares.len(), 4);
    let root = shares.pop().unwrap();
    assert!(!root.starts_with("aunsorm-share-v1:") && root.len() > 100);
    assert!(shares.iter().all(|s| s.starts_with("aunsorm-share-v1:")));
    let two = format!("{} {}", shares[2], shares[0]);
    let env = [("AUNSORM_UNSEAL_SHARES", two.as_str())];
    let ok = |args: &[&str], stdin: &[u8]| {
        let o = run_with(&st, &env, args, stdin);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    let status = ok(&["operator", "status", "--format", "json"], b"");
    assert!(
        status.contains("\"unseal\":\"shares (2 of 3)\""),
        "{status}"
    );
    // One share is not enough, and a passphrase does not open a share store.
    let one = run_with(
        &st,
        &[("AUNSORM_UNSEAL_SHARES", &shares[1])],
        &["key", "list"],
        b"",
    );
    assert_eq!(one.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&one.stderr).contains("invalid_input"));
    let pw = run_with(
        &st,
        &[("AUNSORM_PASSPHRASE", "whatever1")],
        &["key", "list"],
        b"",
    );
    assert_eq!(pw.status.code(), Some(2));

    // Encrypt, rotate, rewrap, raise the minimum: the old ciphertext is refused, the
    // rewrapped one decrypts.
    ok(&["key", "create", "data", "--alg", "aes-256-gcm"], b"");
    let c1 = ok(&["encrypt", "data"], b"payload");
    ok(&["key", "rotate", "data"], b"");
    let c2 = ok(&["rewrap", "data"], c1.as_bytes());
    assert!(c2.starts_with("aunsorm:v2:"));
    ok(
        &["key", "config", "data", "--min-decryption-version", "2"],
        b"",
    );
    let old = run_with(&st, &env, &["decrypt", "data"], c1.as_bytes());
    assert_eq!(old.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&old.stderr).contains("policy_denied"));
    assert_eq!(ok(&["decrypt", "data"], c2.as_bytes()), "payload");

    // Wrap and unwrap under a KEM key.
    ok(&["key", "create", "kek", "--alg", "x-wing"], b"");
    let w = ok(&["wrap", "kek", "--aad", "bGFiZWw="], b"caller secret");
    assert_eq!(
        ok(&["unwrap", "kek", "--aad", "bGFiZWw="], w.as_bytes()),
        "caller secret"
    );
    assert_eq!(
        run_with(&st, &env, &["unwrap", "kek"], w.as_bytes())
            .status
            .code(),
        Some(2)
    );

    // Wrapped import: seal a PKCS#8 key to the ML-KEM-768 wrapping key offline.
    let wk = dir.path().join("wk.pem");
    std::fs::write(&wk, ok(&["key", "wrapping-key"], b"")).unwrap();
    let sk = dir.path().join("sk.pem");
    ok(
        &[
            "pkey",
            "gen",
            "--alg",
            "ed25519",
            "--out",
            sk.to_str().unwrap(),
        ],
        b"",
    );
    let blob = dir.path().join("sk.aun");
    ok(
        &[
            "seal",
            "--to",
            wk.to_str().unwrap(),
            "--in",
            sk.to_str().unwrap(),
            "--out",
            blob.to_str().unwrap(),
        ],
        b"",
    );
    ok(
        &[
            "key",
            "import",
            "imported",
            "--wrapped",
            "--in",
            blob.to_str().unwrap(),
        ],
        b"",
    );
    let sig = ok(&["sign", "imported"], b"msg");
    let pk = dir.path().join("pk.pem");
    ok(
        &[
            "pkey",
            "pub",
            "--in",
            sk.to_str().unwrap(),
            "--out",
            pk.to_str().unwrap(),
        ],
        b"",
    );
    use base64::Engine;
    let raw_sig = base64::engine::general_purpose::STANDARD
        .decode(sig.trim().rsplit(':').next().unwrap())
        .unwrap();
    let sigf = dir.path().join("sig.bin");
    std::fs::write(&sigf, raw_sig).unwrap();
    let verified = run_with(
        &st,
        &[],
        &[
            "pkey",
            "verify",
            "--pub",
            pk.to_str().unwrap(),
            "--sig",
            sigf.to_str().unwrap(),
        ],
        b"msg",
    );
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // Attestation: stdout is exactly the signed statement; it verifies offline with the
    // attestation key and the documented context.
    let ak = dir.path().join("ak.pem");
    std::fs::write(&ak, ok(&["key", "attestation-key"], b"")).unwrap();
    let asig = dir.path().join("att.sig");
    let statement = ok(
        &[
            "key",
            "attest",
            "imported",
            "--sig-out",
            asig.to_str().unwrap(),
        ],
        b"",
    );
    assert!(statement.starts_with("aunsorm key attestation v1\nkey: imported\n"));
    let sigf = asig;
    let check = |stmt: &[u8]| {
        run_with(
            &st,
            &[],
            &[
                "pkey",
                "verify",
                "--pub",
                ak.to_str().unwrap(),
                "--sig",
                sigf.to_str().unwrap(),
                "--context",
                "aunsorm attestation v1",
            ],
            stmt,
        )
        .status
        .code()
    };
    assert_eq!(check(statement.as_bytes()), Some(0));
    assert_eq!(
        check(statement.replace("ed25519", "ml-dsa-65").as_bytes()),
        Some(1)
    );

    // Export only when exportable.
    assert_eq!(
        run_with(&st, &env, &["key", "export", "data"], b"")
            .status
            .code(),
        Some(2)
    );
    ok(
        &["key", "create", "ex", "--alg", "ml-dsa-44", "--exportable"],
        b"",
    );
    assert!(ok(&["key", "export", "ex"], b"").starts_with("-----BEGIN PRIVATE KEY-----"));
}

fn copy_files(from: &std::path::Path, to: &std::path::Path, names: &[&str]) {
    std::fs::create_dir_all(to).unwrap();
    for n in names {
        let _ = std::fs::remove_file(to.join(n));
        if from.join(n).exists() {
            std::fs::copy(from.join(n), to.join(n)).unwrap();
        }
    }
}

#[test]
fn log_commands_witness_verify_tamper_and_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("store");
    ok(&st, &["operator", "init"], b"");
    ok(&st, &["key", "create", "k", "--alg", "ed25519"], b"");
    ok(&st, &["sign", "k"], b"hello");
    // A witness keeps the verifier keys and a checkpoint.
    let keys = dir.path().join("keys");
    std::fs::write(&keys, ok(&st, &["log", "keys"], b"")).unwrap();
    let cp1 = dir.path().join("cp1");
    std::fs::write(&cp1, ok(&st, &["log", "checkpoint"], b"")).unwrap();
    let cp1_text = std::fs::read_to_string(&cp1).unwrap();
    assert!(cp1_text.starts_with("aunsorm.local/log\n2\n"), "{cp1_text}");
    assert_eq!(
        cp1_text.matches('\u{2014}').count(),
        2,
        "Ed25519 and ML-DSA-44 signatures"
    );

    // A backup of the whole store directory at this point.
    let backup = dir.path().join("backup");
    let files = ["aunsorm.db", "aunsorm.db-wal", "log.db", "log.db-wal"];
    copy_files(&st, &backup, &files);

    ok(&st, &["key", "rotate", "k"], b"");
    ok(&st, &["sign", "k"], b"again");
    let entries = ok(&st, &["log", "entries"], b"");
    assert_eq!(entries.lines().count(), 4);
    let sign_event = entries.lines().nth(1).unwrap();
    assert!(sign_event.contains("\"op\":\"sign\"") && sign_event.contains("k#v1"));
    let ev = dir.path().join("event");
    std::fs::write(&ev, sign_event).unwrap();

    let keys_s = keys.to_str().unwrap();
    let out = ok(
        &st,
        &[
            "log",
            "verify",
            "--keys",
            keys_s,
            "--trusted",
            cp1.to_str().unwrap(),
            "--event",
            ev.to_str().unwrap(),
        ],
        b"",
    );
    assert!(out.starts_with("valid: 4 entries"), "{out}");
    let proof: serde_json::Value = serde_json::from_str(&ok(
        &st,
        &["log", "prove", "--event", ev.to_str().unwrap()],
        b"",
    ))
    .unwrap();
    assert_eq!(proof["index"], 1);
    assert_eq!(proof["size"], 4);

    // An event that never happened is not included: exit 1.
    std::fs::write(&ev, sign_event.replace("k#v1", "k#v2")).unwrap();
    let (c, _) = code(
        &st,
        &[
            "log",
            "verify",
            "--keys",
            keys_s,
            "--event",
            ev.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(c, 1);

    // An edited entry in the log file: verify says invalid (exit 1).
    let tampered = dir.path().join("tampered");
    copy_files(&st, &tampered, &files);
    let c = rusqlite::Connection::open(tampered.join("log.db")).unwrap();
    c.execute(
        "UPDATE entries SET data = CAST(replace(CAST(data AS TEXT), 'sign', 'sigN') AS BLOB) WHERE idx = 1",
        [],
    )
    .unwrap();
    drop(c);
    let (c, err) = code(&tampered, &["log", "verify", "--keys", keys_s], b"");
    assert_eq!(c, 1, "{err}");

    // The whole store restored from the backup (key database and log): the checkpoint
    // the previous command saved outside both catches it, and a witness's later
    // checkpoint does too.
    let cp2 = dir.path().join("cp2");
    std::fs::write(&cp2, ok(&st, &["log", "checkpoint"], b"")).unwrap();
    for f in ["aunsorm.db-shm", "log.db-shm"] {
        let _ = std::fs::remove_file(st.join(f));
    }
    copy_files(&backup, &st, &files);
    let (c, err) = code(&st, &["sign", "k"], b"x");
    assert_eq!(c, 2);
    assert!(err.contains("rollback"), "{err}");
    let (c, err) = code(
        &st,
        &[
            "log",
            "verify",
            "--keys",
            keys_s,
            "--trusted",
            cp2.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(c, 1, "{err}");
}
