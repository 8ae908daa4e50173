//! Custody commands against a local store (`--store PATH`, `AUNSORM_STORE`), unsealed
//! with `AUNSORM_PASSPHRASE` or `AUNSORM_UNSEAL_SHARES`. The server issue points the
//! same commands at the HTTP API.

use crate::custody::{custody, key_ref, name, remote};
use crate::io::{read_all, write_all};
use crate::{Failure, usage};
use aunsorm_api::kms as api;
use aunsorm_api::sys;
use aunsorm_crypto::Algorithm;
use aunsorm_kms::{KeyOptions, Kms, RootMode};
use aunsorm_server::Node;
use aunsorm_server::node::{Init, Unseal};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Where the store lives and how to print.
#[derive(Args, Clone)]
pub(crate) struct StoreArgs {
    /// Store directory (holds aunsorm.db; default aunsorm-data).
    #[arg(long, global = true, env = "AUNSORM_STORE")]
    pub(crate) store: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_parser = ["table", "json"], default_value = "table")]
    pub(crate) format: String,
    /// Server to run the command on (http://HOST:PORT or https://...), instead of the
    /// local store.
    #[arg(long, global = true, env = "AUNSORM_ADDR")]
    pub(crate) addr: Option<String>,
    /// Capability token for the server.
    #[arg(
        long = "token",
        id = "auth_token",
        global = true,
        env = "AUNSORM_TOKEN",
        hide_env_values = true
    )]
    pub(crate) token: Option<String>,
    /// CA certificate(s), PEM, that an https server's certificate chains to.
    #[arg(long, global = true, env = "AUNSORM_CACERT")]
    pub(crate) cacert: Option<PathBuf>,
    /// Client certificate (PEM), for servers that require one.
    #[arg(
        long,
        global = true,
        env = "AUNSORM_CLIENT_CERT",
        requires = "client_key"
    )]
    pub(crate) client_cert: Option<PathBuf>,
    /// Client certificate's private key (PEM).
    #[arg(
        long,
        global = true,
        env = "AUNSORM_CLIENT_KEY",
        requires = "client_cert"
    )]
    pub(crate) client_key: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(crate) enum Operator {
    /// Create the root key: under unseal shares (--shares N --threshold K; the shares
    /// are printed once, one per line), or under the passphrase in AUNSORM_PASSPHRASE
    /// (or the variable named by --passphrase-env).
    Init {
        /// Environment variable holding the passphrase.
        #[arg(long, default_value = "AUNSORM_PASSPHRASE", conflicts_with = "shares")]
        passphrase_env: String,
        /// Number of unseal shares to make.
        #[arg(long, requires = "threshold")]
        shares: Option<u8>,
        /// Shares needed to unseal.
        #[arg(long, requires = "shares")]
        threshold: Option<u8>,
    },
    /// Whether the store is initialized, sealed, and how it is unsealed.
    Status,
    /// Submit an unseal share to the server (or, without SHARE, the passphrase in
    /// AUNSORM_PASSPHRASE). A local store is unsealed per command instead.
    Unseal {
        /// One unseal share.
        share: Option<String>,
    },
    /// Seal the server: the root key and every key are zeroized until the next unseal
    /// (needs an unattenuated kms:admin token).
    Seal,
}

#[derive(Subcommand)]
pub(crate) enum KeyCmd {
    /// Create a key.
    Create {
        /// Key name (`name` or `tenant/name`).
        name: String,
        /// Algorithm identifier (`aunsorm algorithms`).
        #[arg(long)]
        alg: String,
        #[command(flatten)]
        opts: CreateOpts,
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
        /// Lowest version allowed for new output when a version is named (0: none).
        #[arg(long)]
        min_encryption_version: Option<u32>,
        /// Whether `key delete` may delete the key.
        #[arg(long)]
        deletion_allowed: Option<bool>,
        /// Make the key exportable (cannot be undone).
        #[arg(long)]
        exportable: bool,
        /// Rotate automatically after this many seconds (0: never).
        #[arg(long)]
        auto_rotate: Option<u64>,
        /// New expiry, Unix seconds (0: none).
        #[arg(long)]
        not_after: Option<u64>,
    },
    /// Import a key: PKCS#8 (PEM or DER), raw bytes for a symmetric --alg, or with
    /// --wrapped material encrypted to the store's wrapping key (`key wrapping-key`).
    Import {
        /// Key name.
        name: String,
        /// Algorithm (required for symmetric keys; checked against PKCS#8 otherwise).
        #[arg(long)]
        alg: Option<String>,
        /// The input is wrapped: a sealed file (`aunsorm seal --to` the ML-KEM-768
        /// wrapping key) or Vault's RSA-OAEP + AES-KWP form for the RSA-4096 one.
        #[arg(long)]
        wrapped: bool,
        /// The key file (`-` or absent: stdin).
        #[arg(long = "in")]
        input: Option<PathBuf>,
        #[command(flatten)]
        opts: CreateOpts,
    },
    /// Print the public key to wrap imported key material to (PEM).
    WrappingKey {
        /// ml-kem-768 (for `aunsorm seal --to`) or rsa-4096 (Vault's format).
        #[arg(long, default_value = "ml-kem-768", value_parser = ["ml-kem-768", "rsa-4096"])]
        alg: String,
    },
    /// A statement of a key's algorithm, fingerprint and policy, signed by the store's
    /// attestation key (ML-DSA-65, context "aunsorm attestation v1").
    Attest {
        /// Key name (or `name#vN`).
        name: String,
        /// Write the raw signature here; stdout then holds exactly the signed statement.
        #[arg(long)]
        sig_out: Option<PathBuf>,
    },
    /// Print the store's attestation public key (PEM).
    AttestationKey,
    /// Export a version's private key (PKCS#8 PEM; symmetric keys: base64), if the key
    /// is exportable.
    Export {
        /// Key name (or `name#vN`).
        name: String,
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

/// Policy of a new key.
#[derive(Args)]
pub(crate) struct CreateOpts {
    /// Allow exporting the private key.
    #[arg(long)]
    exportable: bool,
    /// Allow `key delete`.
    #[arg(long)]
    deletion_allowed: bool,
    /// Expiry, Unix seconds.
    #[arg(long)]
    not_after: Option<u64>,
    /// Rotate automatically after this many seconds.
    #[arg(long, default_value_t = 0)]
    auto_rotate: u64,
}

impl CreateOpts {
    fn request(&self, name: String, alg: String) -> api::CreateKey {
        api::CreateKey {
            name,
            alg,
            exportable: self.exportable,
            deletion_allowed: self.deletion_allowed,
            not_after: self.not_after,
            auto_rotate_secs: self.auto_rotate,
        }
    }

    fn options(&self) -> KeyOptions {
        KeyOptions {
            exportable: self.exportable,
            deletion_allowed: self.deletion_allowed,
            not_after: self.not_after,
            auto_rotate_secs: self.auto_rotate,
        }
    }
}

#[derive(Args)]
pub(crate) struct DataArgs {
    /// Key name (`name#vN` picks a version where that makes sense).
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
    /// Key name (or `name#vN`).
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

pub(crate) fn api_failure(e: aunsorm_server::ApiError) -> Failure {
    Failure::Error {
        code: e.code,
        message: e.message,
    }
}

/// The store's node, sealed.
pub(crate) fn node(s: &StoreArgs) -> Result<Node, Failure> {
    Node::open(&s.dir()).map_err(api_failure)
}

impl StoreArgs {
    /// The store directory (default `aunsorm-data`).
    pub(crate) fn dir(&self) -> PathBuf {
        self.store
            .clone()
            .unwrap_or_else(|| PathBuf::from(aunsorm_server::config::DEFAULT_STORE))
    }
}

/// An unsealed local node: the KMS with its transparency log attached (checked against
/// the checkpoint the previous command saved). When dropped, it saves the log's latest
/// checkpoint.
pub(crate) struct Local(Node);

impl std::ops::Deref for Local {
    type Target = Kms;
    fn deref(&self) -> &Kms {
        self.0.kms()
    }
}

/// Prints what unsealing found rolled back.
pub(crate) fn warn_rollback(findings: &[aunsorm_kms::RollbackFinding]) {
    for f in findings {
        eprintln!(
            "warning: rollback: key {} is at generation {} but the log recorded {}{}; it is refused until resolved",
            f.key,
            f.stored,
            f.logged,
            if f.deleted { " (deleted)" } else { "" }
        );
    }
}

/// The secret `unsealed` uses: AUNSORM_UNSEAL_SHARES (shares separated by white space
/// or commas) or AUNSORM_PASSPHRASE; `None` when neither is set.
pub(crate) fn unseal_from_env() -> Option<Unseal> {
    if let Ok(shares) = std::env::var("AUNSORM_UNSEAL_SHARES") {
        let shares = Zeroizing::new(shares);
        return Some(Unseal::Shares(
            shares
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|s| !s.is_empty())
                .map(|s| Zeroizing::new(s.to_owned()))
                .collect(),
        ));
    }
    std::env::var("AUNSORM_PASSPHRASE")
        .ok()
        .map(|p| Unseal::Passphrase(Zeroizing::new(p)))
}

/// The store's node, unsealed from the environment ([`unseal_from_env`]), with its log
/// opened and checked against the checkpoint the previous command saved.
pub(crate) fn unsealed(s: &StoreArgs) -> Result<Local, Failure> {
    let n = node(s)?;
    let how = unseal_from_env().ok_or_else(|| {
        usage("set AUNSORM_PASSPHRASE or AUNSORM_UNSEAL_SHARES to unseal the local store")
    })?;
    let (_, findings) = n.unseal(how).map_err(api_failure)?;
    warn_rollback(&findings);
    Ok(Local(n))
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

/// What init hands out once: the shares and a root token.
pub(crate) struct InitOut<'a> {
    shares: Vec<&'a str>,
    threshold: u8,
    root_token: &'a str,
    root_token_id: &'a str,
}

/// Prints what init hands out once: the shares (one per line) and then the root token
/// on the last line; or all of it as JSON.
fn print_init(format: &str, out: &InitOut<'_>) {
    if format == "json" {
        println!(
            "{}",
            serde_json::json!({
                "shares": out.shares,
                "threshold": out.threshold,
                "root_token": out.root_token,
                "root_token_id": out.root_token_id,
            })
        );
    } else {
        for sh in &out.shares {
            println!("{sh}");
        }
        println!("{}", out.root_token);
        if !out.shares.is_empty() {
            eprintln!(
                "{} of these {} shares unseal it; the last line is a root token; all are shown once: hand each to its holder",
                out.threshold,
                out.shares.len()
            );
        }
    }
}

fn print_status(format: &str, initialized: bool, sealed: bool, mode: &str, progress: usize) {
    if format == "json" {
        println!(
            "{}",
            serde_json::json!({"initialized": initialized, "sealed": sealed, "unseal": mode, "progress": progress})
        );
    } else {
        println!("initialized  {initialized}");
        println!("sealed       {sealed}");
        println!("unseal       {mode}");
        if progress > 0 {
            println!("progress     {progress} share(s) submitted");
        }
    }
}

fn passphrase(var: &str) -> Result<Zeroizing<String>, Failure> {
    Ok(Zeroizing::new(std::env::var(var).map_err(|_| {
        usage(format!("set {var} to the passphrase"))
    })?))
}

pub(crate) fn operator(s: &StoreArgs, cmd: Operator) -> Result<(), Failure> {
    if let Some(r) = remote(s)? {
        return remote_operator(s, &r, cmd);
    }
    match cmd {
        Operator::Init {
            shares,
            threshold,
            passphrase_env,
        } => {
            let how = match (shares, threshold) {
                (Some(shares), Some(threshold)) => Init::Shares { shares, threshold },
                _ => Init::Passphrase(passphrase(&passphrase_env)?),
            };
            let (out, findings) = node(s)?.init(how).map_err(api_failure)?;
            warn_rollback(&findings);
            print_init(
                &s.format,
                &InitOut {
                    shares: out.shares.iter().map(|s| s.as_str()).collect(),
                    threshold: out.threshold,
                    root_token: &out.root_token,
                    root_token_id: &out.root_token_id,
                },
            );
            eprintln!("initialized {}", s.dir().display());
            Ok(())
        }
        Operator::Status => {
            let st = node(s)?.kms().status()?;
            let mode = match st.mode {
                None => "none".to_string(),
                Some(RootMode::Passphrase) => "passphrase".to_string(),
                Some(RootMode::Shares { threshold, shares }) => {
                    format!("shares ({threshold} of {shares})")
                }
                Some(_) => "other".to_string(),
            };
            print_status(&s.format, st.initialized, st.sealed, &mode, st.progress);
            Ok(())
        }
        Operator::Unseal { .. } | Operator::Seal => Err(usage(
            "a local store is unsealed per command (AUNSORM_PASSPHRASE or AUNSORM_UNSEAL_SHARES); operator unseal and seal drive a server (--addr)",
        )),
    }
}

fn remote_operator(
    s: &StoreArgs,
    r: &crate::custody::Remote,
    cmd: Operator,
) -> Result<(), Failure> {
    match cmd {
        Operator::Init {
            shares,
            threshold,
            passphrase_env,
        } => {
            let req = match (shares, threshold) {
                (Some(_), Some(_)) => sys::Init {
                    shares,
                    threshold,
                    passphrase: None,
                },
                _ => sys::Init {
                    passphrase: Some(aunsorm_api::SecretText(passphrase(&passphrase_env)?)),
                    ..sys::Init::default()
                },
            };
            let out = r.run(async |c| c.init(&req).await)?;
            print_init(
                &s.format,
                &InitOut {
                    shares: out
                        .shares
                        .iter()
                        .map(aunsorm_api::SecretText::expose)
                        .collect(),
                    threshold: threshold.unwrap_or(0),
                    root_token: out.root_token.expose(),
                    root_token_id: &out.root_token_id,
                },
            );
            Ok(())
        }
        Operator::Status => {
            let h = r.run(async |c| c.health().await)?;
            let mode = match (h.mode.as_deref(), h.threshold, h.shares) {
                (Some("shares"), Some(t), Some(n)) => format!("shares ({t} of {n})"),
                (Some(m), _, _) => m.to_owned(),
                (None, _, _) => "none".to_owned(),
            };
            print_status(&s.format, h.initialized, h.sealed, &mode, h.progress);
            Ok(())
        }
        Operator::Unseal { share } => {
            let req = match share {
                Some(sh) => sys::Unseal {
                    share: Some(aunsorm_api::SecretText::from(sh.as_str())),
                    passphrase: None,
                },
                None => sys::Unseal {
                    share: None,
                    passphrase: Some(aunsorm_api::SecretText(passphrase("AUNSORM_PASSPHRASE")?)),
                },
            };
            let p = r.run(async |c| c.unseal(&req).await)?;
            if s.format == "json" {
                println!("{}", serde_json::to_string(&p).unwrap_or_default());
            } else if p.sealed {
                println!("sealed: {} of {} shares", p.progress, p.threshold);
            } else {
                println!("unsealed");
            }
            Ok(())
        }
        Operator::Seal => {
            r.run(async |c| c.seal().await)?;
            eprintln!("sealed");
            Ok(())
        }
    }
}

/// A local-only command's KMS, or a clear error against a server.
/// Imports material given in the clear (local store only).
fn import_clear(
    k: &Local,
    n: &str,
    alg: Option<&str>,
    bytes: &[u8],
    opts: &CreateOpts,
) -> Result<api::KeyInfo, Failure> {
    let alg: Option<Algorithm> = alg.map(str::parse).transpose()?;
    let n = name(n)?;
    let o = opts.options();
    let info = match alg {
        Some(a)
            if matches!(
                a.kind(),
                aunsorm_crypto::AlgorithmKind::Aead | aunsorm_crypto::AlgorithmKind::Mac
            ) =>
        {
            k.import_symmetric(&n, a, bytes, &o)?
        }
        _ => {
            let info = k.import_private_key(&n, bytes, &o)?;
            if let Some(a) = alg.filter(|a| *a != info.alg) {
                return Err(usage(format!(
                    "the file holds a {} key, not {a}; imported as {}",
                    info.alg, info.alg
                )));
            }
            info
        }
    };
    Ok(aunsorm_server::key_info(&info))
}

pub(crate) fn key(s: &StoreArgs, cmd: KeyCmd) -> Result<(), Failure> {
    let k = custody(s)?;
    match cmd {
        KeyCmd::Create { name: n, alg, opts } => {
            print_info(s, &k.create(&opts.request(n, alg))?);
        }
        KeyCmd::List { prefix } => {
            let all = k.list(&prefix)?;
            if s.format == "json" {
                println!("{}", serde_json::json!(all));
            } else {
                for n in all {
                    println!("{n}");
                }
            }
        }
        KeyCmd::Show { name: n } => print_info(s, &k.info(&n)?),
        KeyCmd::Rotate { name: n } => println!("{}#v{}", n, k.rotate(&n)?),
        KeyCmd::Config {
            name: n,
            min_decryption_version,
            min_encryption_version,
            deletion_allowed,
            exportable,
            auto_rotate,
            not_after,
        } => {
            let cfg = api::ConfigureKey {
                min_decryption_version,
                min_encryption_version,
                deletion_allowed,
                exportable: exportable.then_some(true),
                auto_rotate_secs: auto_rotate,
                not_after,
            };
            print_info(s, &k.configure(&n, &cfg)?);
        }
        KeyCmd::Import {
            name: n,
            alg,
            wrapped,
            input,
            opts,
        } => {
            let bytes = Zeroizing::new(read_all(&input, "key")?);
            let info = match k.local() {
                Some(l) if !wrapped => import_clear(l, &n, alg.as_deref(), &bytes, &opts)?,
                _ => {
                    // Over the API material never travels in the clear: unless it
                    // already is, it is sealed here to the server's ML-KEM-768
                    // wrapping key.
                    let wrapped = if wrapped {
                        bytes.to_vec()
                    } else {
                        let pem = k.wrapping_key(api::WrappingAlg::MlKem768)?;
                        let to = aunsorm_crypto::PublicKey::from_spki_pem(&pem)?;
                        aunsorm_crypto::envelope::seal_to_vec(
                            &to,
                            Algorithm::Aes256Gcm,
                            aunsorm_crypto::envelope::DEFAULT_CHUNK_LOG2,
                            &bytes,
                        )?
                    };
                    let o = opts.options();
                    k.import_wrapped(
                        &n,
                        &api::ImportKey {
                            alg,
                            wrapped: aunsorm_api::Base64(wrapped),
                            exportable: o.exportable,
                            deletion_allowed: o.deletion_allowed,
                            not_after: o.not_after,
                            auto_rotate_secs: o.auto_rotate_secs,
                        },
                    )?
                }
            };
            print_info(s, &info);
        }
        KeyCmd::WrappingKey { alg } => {
            let w = if alg == "rsa-4096" {
                api::WrappingAlg::Rsa4096
            } else {
                api::WrappingAlg::MlKem768
            };
            print!("{}", k.wrapping_key(w)?);
        }
        KeyCmd::Attest { name: n, sig_out } => {
            let a = k.attest(&n)?;
            if s.format == "json" {
                println!("{}", serde_json::to_string(&a).unwrap_or_default());
            } else {
                print!("{}", a.statement);
                match sig_out {
                    Some(p) => write_all(&Some(p), &a.signature.0, false)?,
                    None => println!("signature: {}", B64.encode(&a.signature.0)),
                }
            }
        }
        KeyCmd::AttestationKey => {
            print!("{}", k.attestation_key()?);
        }
        KeyCmd::Export { name: n } => {
            let e = k.export(&n)?;
            if s.format == "json" {
                println!(
                    "{}",
                    Zeroizing::new(serde_json::to_string(&e).unwrap_or_default()).as_str()
                );
            } else if e.format == "raw" {
                println!("{}", Zeroizing::new(B64.encode(&*e.key.0)).as_str());
            } else {
                let key = aunsorm_crypto::PrivateKey::from_pkcs8_der(&e.key.0)?;
                print!("{}", key.to_pkcs8_pem()?.as_str());
            }
        }
        KeyCmd::Delete { name: n } => {
            k.delete(&n)?;
            eprintln!("deleted {n}");
        }
        KeyCmd::Destroy { key } => {
            let r = key_ref(&key)?;
            let v = r
                .version
                .ok_or_else(|| usage("name the version to destroy: NAME#vN"))?;
            k.destroy(r.name.as_str(), v)?;
            eprintln!("destroyed {r}");
        }
    }
    Ok(())
}

fn print_info(s: &StoreArgs, i: &api::KeyInfo) {
    if s.format == "json" {
        println!("{}", serde_json::to_string(i).unwrap_or_default());
        return;
    }
    println!("name                    {}", i.name);
    println!("algorithm               {}", i.alg);
    println!("purpose                 {}", i.purpose);
    println!("min_decryption_version  {}", i.min_decryption_version);
    println!("min_encryption_version  {}", i.min_encryption_version);
    println!("exportable              {}", i.exportable);
    println!("deletion_allowed        {}", i.deletion_allowed);
    if i.auto_rotate_secs != 0 {
        println!("auto_rotate             {}s", i.auto_rotate_secs);
    }
    if let Some(t) = i.not_after {
        println!("not_after               {t}");
    }
    for v in &i.versions {
        println!("v{:<4} {:<13} created {}", v.version, v.state, v.created_at);
    }
}

/// Input text (a ciphertext, a signature): UTF-8, surrounding white space ignored.
fn text(b: &[u8]) -> Result<&str, Failure> {
    std::str::from_utf8(b)
        .map(str::trim)
        .map_err(|_| usage("expected text of the form aunsorm:vN:<base64>"))
}

pub(crate) fn encrypt(s: &StoreArgs, a: DataArgs) -> Result<(), Failure> {
    let k = custody(s)?;
    let pt = Zeroizing::new(read_all(&a.input, "plaintext")?);
    println!("{}", k.encrypt(&a.name, &pt, &aad(&a.aad)?)?);
    Ok(())
}

pub(crate) fn decrypt(s: &StoreArgs, a: DataArgs) -> Result<(), Failure> {
    let k = custody(s)?;
    let ct = read_all(&a.input, "ciphertext")?;
    let pt = k.decrypt(&a.name, text(&ct)?, &aad(&a.aad)?)?;
    write_all(&None, &pt, false)
}

pub(crate) fn rewrap(s: &StoreArgs, a: DataArgs) -> Result<(), Failure> {
    let k = custody(s)?;
    let ct = read_all(&a.input, "ciphertext")?;
    println!("{}", k.rewrap(&a.name, text(&ct)?, &aad(&a.aad)?)?);
    Ok(())
}

pub(crate) fn wrap(s: &StoreArgs, a: DataArgs) -> Result<(), Failure> {
    let k = custody(s)?;
    let secret = Zeroizing::new(read_all(&a.input, "secret")?);
    println!("{}", k.wrap(&a.name, &secret, &aad(&a.aad)?)?);
    Ok(())
}

pub(crate) fn unwrap(s: &StoreArgs, a: DataArgs) -> Result<(), Failure> {
    let k = custody(s)?;
    let w = read_all(&a.input, "wrapped secret")?;
    let secret = k.unwrap(&a.name, text(&w)?, &aad(&a.aad)?)?;
    write_all(&None, &secret, false)
}

pub(crate) fn sign(s: &StoreArgs, a: SignArgs) -> Result<(), Failure> {
    let k = custody(s)?;
    let msg = read_all(&a.input, "message")?;
    let ctx = a.context.unwrap_or_default();
    println!("{}", k.sign(&a.name, &msg, ctx.as_bytes())?);
    Ok(())
}

pub(crate) fn verify(s: &StoreArgs, a: VerifyArgs) -> Result<(), Failure> {
    let k = custody(s)?;
    let msg = read_all(&a.input, "message")?;
    let ctx = a.context.unwrap_or_default();
    if k.verify(&a.name, &msg, a.sig.trim(), ctx.as_bytes())? {
        eprintln!("signature valid");
        Ok(())
    } else {
        Err(Failure::Invalid("signature invalid".into()))
    }
}

pub(crate) fn hmac(s: &StoreArgs, n: String, input: Option<PathBuf>) -> Result<(), Failure> {
    let k = custody(s)?;
    let msg = read_all(&input, "message")?;
    println!("{}", k.hmac(&n, &msg)?);
    Ok(())
}

pub(crate) fn datakey(
    s: &StoreArgs,
    n: String,
    wrapped_only: bool,
    bytes: usize,
) -> Result<(), Failure> {
    let k = custody(s)?;
    let (dk, wrapped) = k.datakey(&n, bytes)?;
    if wrapped_only {
        println!("{wrapped}");
    } else {
        println!("{}\n{wrapped}", Zeroizing::new(B64.encode(&dk)).as_str());
    }
    Ok(())
}

pub(crate) fn encap(s: &StoreArgs, n: String) -> Result<(), Failure> {
    let k = custody(s)?;
    let (ss, ct) = k.encap(&n)?;
    println!("{}\n{ct}", Zeroizing::new(B64.encode(&ss)).as_str());
    Ok(())
}

pub(crate) fn decap(s: &StoreArgs, n: String, input: Option<PathBuf>) -> Result<(), Failure> {
    let k = custody(s)?;
    let ct = read_all(&input, "ciphertext")?;
    let ss = k.decap(&n, text(&ct)?)?;
    println!("{}", Zeroizing::new(B64.encode(&ss)).as_str());
    Ok(())
}
