#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    missing_docs
)] // tests may unwrap
//! The real `aunsorm` binary driven as a user would: exit codes, files, tampering.

mod common;
use common::no_panic;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aunsorm"))
}

fn run(dir: &Path, args: &[&str]) -> Output {
    no_panic(bin().current_dir(dir).args(args).output().unwrap())
}

fn ok(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn err(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert_eq!(out.status.code(), Some(2), "{args:?} should fail with 2");
    let e = String::from_utf8(out.stderr).unwrap();
    assert!(e.starts_with("error: "), "{e}");
    e
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().to_path_buf();
    (d, p)
}

#[test]
fn sign_verify_exit_codes() {
    let (_g, d) = tmp();
    for alg in [
        "ed25519",
        "ecdsa-p256",
        "ml-dsa-65",
        "slh-dsa-shake-128f",
        "ml-dsa-65+ed25519",
    ] {
        ok(&d, &["pkey", "gen", "--alg", alg, "--out", "k.pem"]);
        ok(&d, &["pkey", "pub", "--in", "k.pem", "--out", "p.pem"]);
        std::fs::write(d.join("m"), b"message").unwrap();
        std::fs::write(d.join("m2"), b"messagE").unwrap();
        let ctx: &[&str] = if alg.starts_with("ml-dsa") || alg.starts_with("slh") {
            &["--context", "app"]
        } else {
            &[]
        };
        ok(
            &d,
            &[
                &["pkey", "sign", "--key", "k.pem", "--in", "m", "--out", "s"],
                ctx,
            ]
            .concat(),
        );
        ok(
            &d,
            &[
                &[
                    "pkey", "verify", "--pub", "p.pem", "--in", "m", "--sig", "s",
                ],
                ctx,
            ]
            .concat(),
        );
        let bad = run(
            &d,
            &[
                &[
                    "pkey", "verify", "--pub", "p.pem", "--in", "m2", "--sig", "s",
                ],
                ctx,
            ]
            .concat(),
        );
        assert_eq!(bad.status.code(), Some(1), "{alg}");
        if !ctx.is_empty() {
            let wrong_ctx = run(
                &d,
                &[
                    "pkey",
                    "verify",
                    "--pub",
                    "p.pem",
                    "--in",
                    "m",
                    "--sig",
                    "s",
                    "--context",
                    "other",
                ],
            );
            assert_eq!(wrong_ctx.status.code(), Some(1), "{alg}");
        }
    }
}

#[test]
fn private_keys_are_owner_only_and_seeds_are_deterministic() {
    use std::os::unix::fs::PermissionsExt;
    let (_g, d) = tmp();
    let seed = "00".repeat(32);
    ok(
        &d,
        &[
            "pkey",
            "gen",
            "--alg",
            "ml-dsa-44",
            "--seed",
            &seed,
            "--out",
            "a.pem",
        ],
    );
    ok(
        &d,
        &[
            "pkey",
            "gen",
            "--alg",
            "ml-dsa-44",
            "--seed",
            &seed,
            "--out",
            "b.pem",
        ],
    );
    assert_eq!(
        std::fs::read(d.join("a.pem")).unwrap(),
        std::fs::read(d.join("b.pem")).unwrap()
    );
    let mode = std::fs::metadata(d.join("a.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let pem = String::from_utf8(std::fs::read(d.join("a.pem")).unwrap()).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let der = ok(
        &d,
        &[
            "pkey",
            "gen",
            "--alg",
            "ml-dsa-44",
            "--seed",
            &seed,
            "--der",
        ],
    );
    // PKCS#8 v1, ML-DSA-44 OID, seed-only [0] form (RFC 9881).
    assert_eq!(
        &der[..22],
        &hex::decode("3034020100300b060960864801650304031104228020").unwrap()[..]
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    let (_g, d) = tmp();
    std::fs::write(
        d.join("junk.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    assert!(err(&d, &["pkey", "pub", "--in", "junk.pem"]).contains("invalid_input"));
    std::fs::write(d.join("empty"), b"").unwrap();
    err(&d, &["pkey", "pub", "--in", "empty"]);
    err(&d, &["pkey", "gen", "--alg", "ml-kem-999"]);
    err(&d, &["pkey", "gen", "--alg", "rsa-2048", "--seed", "00"]);
    err(&d, &["pkey", "gen", "--alg", "aes-256-gcm"]);
    err(&d, &["pkey", "gen", "--alg", "ml-kem-768", "--seed", "zz"]);
    // An unknown OID (Ed448) named as such.
    std::fs::write(
        d.join("ed448.der"),
        [
            &hex::decode("3047020100300506032b6571043b0439").unwrap()[..],
            &[0u8; 57],
        ]
        .concat(),
    )
    .unwrap();
    assert!(err(&d, &["pkey", "pub", "--in", "ed448.der"]).contains("OID 1.3.101.113"));
    // A key of one algorithm used for another operation.
    ok(
        &d,
        &["pkey", "gen", "--alg", "ml-kem-768", "--out", "kem.pem"],
    );
    std::fs::write(d.join("m"), b"x").unwrap();
    assert!(
        err(&d, &["pkey", "sign", "--key", "kem.pem", "--in", "m"])
            .contains("does not support signing")
    );
    ok(&d, &["pkey", "gen", "--alg", "ed25519", "--out", "ed.pem"]);
    ok(&d, &["pkey", "pub", "--in", "ed.pem", "--out", "ed.pub"]);
    err(
        &d,
        &[
            "pkey",
            "encap",
            "--pub",
            "ed.pub",
            "--out-ciphertext",
            "c",
            "--out-secret",
            "s",
        ],
    );
    assert!(!d.join("s").exists());
    // Wrong-length ciphertext.
    std::fs::write(d.join("ct"), [0u8; 10]).unwrap();
    assert!(
        err(&d, &["pkey", "decap", "--key", "kem.pem", "--in", "ct"])
            .contains("expected 1088, got 10")
    );
    // A private key where a public key belongs.
    err(
        &d,
        &[
            "pkey", "verify", "--pub", "ed.pem", "--in", "m", "--sig", "m",
        ],
    );
}

#[test]
fn seal_open_round_trip_for_every_kem() {
    let (_g, d) = tmp();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(d.join("plain"), &data).unwrap();
    for alg in ["x25519", "ml-kem-768", "ml-kem-1024", "x-wing"] {
        ok(&d, &["pkey", "gen", "--alg", alg, "--out", "k.pem"]);
        ok(&d, &["pkey", "pub", "--in", "k.pem", "--out", "p.pem"]);
        for aead in ["aes-256-gcm", "chacha20-poly1305"] {
            ok(
                &d,
                &[
                    "seal",
                    "--to",
                    "p.pem",
                    "--in",
                    "plain",
                    "--out",
                    "f.aun",
                    "--aead",
                    aead,
                    "--chunk-log2",
                    "12",
                ],
            );
            ok(
                &d,
                &["open", "--key", "k.pem", "--in", "f.aun", "--out", "back"],
            );
            assert_eq!(std::fs::read(d.join("back")).unwrap(), data, "{alg} {aead}");
        }
    }
    // Empty input, through stdin and stdout.
    let out = bin()
        .current_dir(&d)
        .args(["seal", "--to", "p.pem"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(d.join("empty.aun"), &out.stdout).unwrap();
    assert!(ok(&d, &["open", "--key", "k.pem", "--in", "empty.aun"]).is_empty());
}

#[test]
fn tampered_sealed_files_are_rejected_and_leave_no_output() {
    let (_g, d) = tmp();
    let data = vec![42u8; 5 * 4096 + 100];
    std::fs::write(d.join("plain"), &data).unwrap();
    ok(&d, &["pkey", "gen", "--alg", "x-wing", "--out", "k.pem"]);
    ok(&d, &["pkey", "pub", "--in", "k.pem", "--out", "p.pem"]);
    ok(
        &d,
        &[
            "seal",
            "--to",
            "p.pem",
            "--in",
            "plain",
            "--out",
            "f.aun",
            "--chunk-log2",
            "12",
        ],
    );
    let sealed = std::fs::read(d.join("f.aun")).unwrap();
    let header = sealed.len() - (5 * (4096 + 16) + 100 + 16);
    let chunk = 4096 + 16;
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "truncated at a chunk boundary",
            sealed[..header + 3 * chunk].to_vec(),
        ),
        ("truncated mid-chunk", sealed[..sealed.len() - 7].to_vec()),
        ("header only", sealed[..header].to_vec()),
        ("cut inside the header", sealed[..20].to_vec()),
        ("appended bytes", [sealed.clone(), vec![0u8; 16]].concat()),
        (
            "appended chunk",
            [sealed.clone(), sealed[header..header + chunk].to_vec()].concat(),
        ),
    ];
    let mut flipped = sealed.clone();
    flipped[header + chunk + 100] ^= 1;
    cases.push(("modified payload byte", flipped));
    let mut hdr = sealed.clone();
    hdr[30] ^= 1;
    cases.push(("modified header byte", hdr));
    let mut swapped = sealed.clone();
    swapped[header..header + chunk].copy_from_slice(&sealed[header + chunk..header + 2 * chunk]);
    swapped[header + chunk..header + 2 * chunk].copy_from_slice(&sealed[header..header + chunk]);
    cases.push(("reordered chunks", swapped));
    for (what, bytes) in cases {
        std::fs::write(d.join("bad.aun"), &bytes).unwrap();
        let e = err(
            &d,
            &["open", "--key", "k.pem", "--in", "bad.aun", "--out", "out"],
        );
        assert!(!d.join("out").exists(), "{what}: output left behind");
        assert!(!e.contains("panic"), "{what}: {e}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".aunsorm-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    // The wrong key is named, not reported as corruption.
    ok(
        &d,
        &["pkey", "gen", "--alg", "x-wing", "--out", "other.pem"],
    );
    assert!(
        err(
            &d,
            &[
                "open",
                "--key",
                "other.pem",
                "--in",
                "f.aun",
                "--out",
                "out"
            ]
        )
        .contains("different key")
    );
    ok(
        &d,
        &["pkey", "gen", "--alg", "ml-kem-768", "--out", "kem.pem"],
    );
    assert!(
        err(
            &d,
            &["open", "--key", "kem.pem", "--in", "f.aun", "--out", "out"]
        )
        .contains("mismatch")
    );
    assert!(!d.join("out").exists());
}

#[test]
fn shell_completions_cover_the_command_set() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let script = String::from_utf8(ok(dir.path(), &["completions", shell])).unwrap();
        for word in ["operator", "unseal", "encrypt", "addr", "format"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let o = run(dir.path(), &["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
}
