//! Custody commands against a local store (`--store PATH`, `AUNSORM_STORE`), unsealed
//! with `AUNSORM_PASSPHRASE`. The server issue points the same commands at the HTTP API.

use crate::io::{read_all, write_all};
use crate::{Failure, usage};
use aunsorm_crypto::Algorithm;
use aunsorm_kms::{KeyInfo, KeyName, KeyRef, Kms, PassphraseParams, VersionState, Versioned};
use aunsorm_store::SqliteStore;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Where the store lives and how to print.
#[derive(Args, Clone)]
pub(crate) struct StoreArgs {
    /// Store directory (holds aunsorm.db).
    #[arg(
        long,
        global = true,
        env = "AUNSORM_STORE",
        default_value = "aunsorm-data"
    )]
    store: PathBuf,
    /// Output format.
    #[arg(long, global = true, value_parser = ["table", "json"], default_value = "table")]
    format: String,
}

#[derive(Subcommand)]
pub(crate) enum Operator {
    /// Create the root key, protected by the passphrase in AUNSORM_PASSPHRASE (or the
    /// variable named by --passphrase-env).
    Init {
        /// Environment variable holding the passphrase.
        #[arg(long, default_value = "AUNSORM_PASSPHRASE")]
        passphrase_env: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum KeyCmd {
    /// Create a key.
    Create {
        /// Key name (`name` or `tenant/name`).
        name: String,
        /// Algorithm identifier.
        #[arg(long)]
        alg: String,
        /// Expiry, Unix seconds.
        #[arg(long)]
        not_after: Option<u64>,
    },
    /// List key names.
    List {
        /// Only names starting with this.
        #[arg(long, default_value = "")]
        prefix: String,
    },
    /// Show a key's algorithm, policy, versions and public keys.
    Show {
        /// Key name.
        name: String,
    },
    /// Add a new version.
    Rotate {
        /// Key name.
        name: String,
    },
    /// Change a key's policy.
    Config {
        /// Key name.
        name: String,
        /// Lowest version allowed to decrypt or verify.
        #[arg(long)]
        min_decryption_version: Option<u32>,
        /// Whether `key delete` may delete the key.
        #[arg(long)]
        deletion_allowed: Option<bool>,
    },
    /// Import a private key (PKCS#8, PEM or DER) as a new key.
    Import {
        /// Key name.
        name: String,
        /// The key file (`-` or absent: stdin).
        #[arg(long = "in")]
        input: Option<PathBuf>,
    },
    /// Delete a key and all its versions (only if its policy allows deletion).
    Delete {
        /// Key name.
        name: String,
    },
    /// Destroy one version (NAME#vN): its material is zeroized, a tombstone remains.
    Destroy {
        /// Key and version, `name#vN`.
        key: String,
    },
}

#[derive(Args)]
pub(crate) struct DataArgs {
    /// Key name.
    name: String,
    /// Associated data, base64.
    #[arg(long)]
    aad: Option<String>,
    /// Input (`-` or absent: stdin).
    #[arg(long = "in")]
    input: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct SignArgs {
    /// Key name.
    name: String,
    /// Context string (ML-DSA, SLH-DSA, composite).
    #[arg(long)]
    context: Option<String>,
    /// Message (`-` or absent: stdin).
    #[arg(long = "in")]
    input: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// Key name (or `name#vN`).
    name: String,
    /// The signature as printed by `aunsorm sign` (aunsorm:vN:...).
    #[arg(long)]
    sig: String,
    /// Context string used when signing.
    #[arg(long)]
    context: Option<String>,
    /// Message (`-` or absent: stdin).
    #[arg(long = "in")]
    input: Option<PathBuf>,
}

fn kms(s: &StoreArgs) -> Result<Kms, Failure> {
    std::fs::create_dir_all(&s.store)?;
    let store = SqliteStore::open(&s.store.join("aunsorm.db")).map_err(|e| Failure::Error {
        code: "storage",
        message: e.to_string(),
    })?;
    Ok(Kms::new(Arc::new(store)))
}

fn unsealed(s: &StoreArgs) -> Result<Kms, Failure> {
    let k = kms(s)?;
    let pw = Zeroizing::new(
        std::env::var("AUNSORM_PASSPHRASE")
            .map_err(|_| usage("set AUNSORM_PASSPHRASE to unseal the local store"))?,
    );
    k.unseal_with_passphrase(pw.as_bytes())?;
    Ok(k)
}

fn name(s: &str) -> Result<KeyName, Failure> {
    Ok(s.parse()?)
}

/// Text `aunsorm:vN:<base64>`, surrounding white space ignored.
fn versioned(b: &[u8]) -> Result<Versioned, Failure> {
    let s = std::str::from_utf8(b)
        .map_err(|_| usage("expected text of the form aunsorm:vN:<base64>"))?;
    Ok(s.trim().parse()?)
}

fn aad(a: &Option<String>) -> Result<Vec<u8>, Failure> {
    match a {
        Some(a) => B64.decode(a).map_err(|_| usage("--aad must be base64")),
        None => Ok(vec![]),
    }
}

impl From<aunsorm_kms::Error> for Failure {
    fn from(e: aunsorm_kms::Error) -> Self {
        Failure::Error {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

pub(crate) fn operator(s: &StoreArgs, cmd: Operator) -> Result<(), Failure> {
    match cmd {
        Operator::Init { passphrase_env } => {
            let pw = Zeroizing::new(
                std::env::var(&passphrase_env)
                    .map_err(|_| usage(format!("set {passphrase_env} to the passphrase")))?,
            );
            if pw.len() < 8 {
                return Err(usage("the passphrase must be at least 8 characters"));
            }
            kms(s)?.init_with_passphrase(pw.as_bytes(), PassphraseParams::default())?;
            eprintln!("initialized {}", s.store.display());
            Ok(())
        }
    }
}

pub(crate) fn key(s: &StoreArgs, cmd: KeyCmd) -> Result<(), Failure> {
    let k = unsealed(s)?;
    match cmd {
        KeyCmd::Create {
            name: n,
            alg,
            not_after,
        } => {
            let alg: Algorithm = alg.parse()?;
            print_info(s, &k.create(&name(&n)?, alg, not_after)?);
        }
        KeyCmd::List { prefix } => {
            let mut all = vec![];
            let mut after: Option<String> = None;
            loop {
                let page = k.list(&prefix, after.as_deref(), 1000)?;
                let Some(last) = page.last().cloned() else {
                    break;
                };
                all.extend(page);
                after = Some(last);
            }
            if s.format == "json" {
                println!("{}", serde_json::json!(all));
            } else {
                for n in all {
                    println!("{n}");
                }
            }
        }
        KeyCmd::Show { name: n } => print_info(s, &k.info(&name(&n)?)?),
        KeyCmd::Rotate { name: n } => println!("{}#v{}", n, k.rotate(&name(&n)?)?),
        KeyCmd::Config {
            name: n,
            min_decryption_version,
            deletion_allowed,
        } => {
            let n = name(&n)?;
            if let Some(m) = min_decryption_version {
                k.set_min_decryption_version(&n, m)?;
            }
            if let Some(d) = deletion_allowed {
                k.set_deletion_allowed(&n, d)?;
            }
            print_info(s, &k.info(&n)?);
        }
        KeyCmd::Import { name: n, input } => {
            let pem = Zeroizing::new(read_all(&input, "private key")?);
            print_info(s, &k.import_private_key(&name(&n)?, &pem, None)?);
        }
        KeyCmd::Delete { name: n } => {
            k.delete(&name(&n)?)?;
            eprintln!("deleted {n}");
        }
        KeyCmd::Destroy { key } => {
            let r: KeyRef = key.parse()?;
            let v = r
                .version
                .ok_or_else(|| usage("name the version to destroy: NAME#vN"))?;
            k.destroy_version(&r.name, v)?;
            eprintln!("destroyed {r}");
        }
    }
    Ok(())
}

fn print_info(s: &StoreArgs, i: &KeyInfo) {
    let state = |st: VersionState| match st {
        VersionState::Active => "active",
        VersionState::DecryptOnly => "decrypt-only",
        VersionState::Disabled => "disabled",
        VersionState::Destroyed => "destroyed",
        _ => "unknown",
    };
    if s.format == "json" {
        let versions: Vec<_> = i
            .versions
            .iter()
            .map(|v| {
                serde_json::json!({"version": v.number, "state": state(v.state), "created_at": v.created_at,
                    "public_key": if v.public_key.is_empty() { serde_json::Value::Null } else { B64.encode(&v.public_key).into() }})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"name": i.name.as_str(), "alg": i.alg.id(), "purpose": format!("{:?}", i.policy.purpose).to_lowercase(),
                "min_decryption_version": i.policy.min_decryption_version, "exportable": i.policy.exportable,
                "deletion_allowed": i.policy.deletion_allowed, "created_at": i.created_at, "versions": versions})
        );
    } else {
        println!("name                    {}", i.name);
        println!("algorithm               {}", i.alg);
        println!("purpose                 {:?}", i.policy.purpose);
        println!(
            "min_decryption_version  {}",
            i.policy.min_decryption_version
        );
        for v in &i.versions {
            println!(
                "v{:<4} {:<13} created {}",
                v.number,
                state(v.state),
                v.created_at
            );
        }
    }
}

pub(crate) fn encrypt(s: &StoreArgs, a: DataArgs) -> Result<(), Failure> {
    let k = unsealed(s)?;
    let pt = Zeroizing::new(read_all(&a.input, "plaintext")?);
    println!("{}", k.encrypt(&name(&a.name)?, &pt, &aad(&a.aad)?)?);
    Ok(())
}

pub(crate) fn decrypt(s: &StoreArgs, a: DataArgs) -> Result<(), Failure> {
    let k = unsealed(s)?;
    let ct = read_all(&a.input, "ciphertext")?;
    let ct = versioned(&ct)?;
    let pt = k.decrypt(&name(&a.name)?, &ct, &aad(&a.aad)?)?;
    write_all(&None, pt.expose(), false)
}

pub(crate) fn sign(s: &StoreArgs, a: SignArgs) -> Result<(), Failure> {
    let k = unsealed(s)?;
    let msg = read_all(&a.input, "message")?;
    println!(
        "{}",
        k.sign(
            &name(&a.name)?,
            &msg,
            a.context.unwrap_or_default().as_bytes()
        )?
    );
    Ok(())
}

pub(crate) fn verify(s: &StoreArgs, a: VerifyArgs) -> Result<(), Failure> {
    let k = unsealed(s)?;
    let msg = read_all(&a.input, "message")?;
    let r: KeyRef = a.name.parse()?;
    let sig = versioned(a.sig.as_bytes())?;
    if k.verify(&r, &msg, &sig, a.context.unwrap_or_default().as_bytes())? {
        eprintln!("signature valid");
        Ok(())
    } else {
        Err(Failure::Invalid("signature invalid".into()))
    }
}

pub(crate) fn hmac(s: &StoreArgs, n: String, input: Option<PathBuf>) -> Result<(), Failure> {
    let k = unsealed(s)?;
    let msg = read_all(&input, "message")?;
    println!("{}", k.hmac(&name(&n)?, &msg)?);
    Ok(())
}

pub(crate) fn datakey(s: &StoreArgs, n: String, wrapped_only: bool) -> Result<(), Failure> {
    let k = unsealed(s)?;
    let (dk, wrapped) = k.datakey(&name(&n)?, b"")?;
    if wrapped_only {
        println!("{wrapped}");
    } else {
        println!("{}\n{wrapped}", B64.encode(dk.expose()));
    }
    Ok(())
}

pub(crate) fn encap(s: &StoreArgs, n: String) -> Result<(), Failure> {
    let k = unsealed(s)?;
    let (ss, ct) = k.encapsulate(&name(&n)?)?;
    println!("{}\n{ct}", B64.encode(ss.expose()));
    Ok(())
}

pub(crate) fn decap(s: &StoreArgs, n: String, input: Option<PathBuf>) -> Result<(), Failure> {
    let k = unsealed(s)?;
    let ct = versioned(&read_all(&input, "ciphertext")?)?;
    let ss = k.decapsulate(&name(&n)?, &ct)?;
    println!("{}", B64.encode(ss.expose()));
    Ok(())
}
