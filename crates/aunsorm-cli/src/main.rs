//! `aunsorm`: one binary for the server (`aunsorm serve`) and every command-line tool.
#![forbid(unsafe_code)]

mod custody;
mod io;
mod local;
mod logcmd;
mod pkey;
mod seal;
mod serve;
mod token;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Aunsorm: post-quantum-ready key management and cryptography.
#[derive(Parser)]
#[command(name = "aunsorm", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    store: local::StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API: over the local store (unsealed from AUNSORM_PASSPHRASE or
    /// AUNSORM_UNSEAL_SHARES), or in memory with --dev.
    Serve(serve::ServeArgs),
    /// Capability tokens: create, attenuate (offline), revoke.
    #[command(subcommand)]
    Token(token::TokenCmd),
    /// Offline key tools: generate, derive public keys, sign, verify, encapsulate.
    #[command(subcommand)]
    Pkey(pkey::Pkey),
    /// Encrypt a file to a recipient's KEM public key (x25519, ml-kem-768,
    /// ml-kem-1024, x-wing).
    Seal(seal::SealArgs),
    /// Decrypt a file made by `aunsorm seal`.
    Open(seal::OpenArgs),
    /// List the algorithm identifiers this build supports.
    Algorithms,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Initialize the local store's root key; show its status.
    #[command(subcommand)]
    Operator(local::Operator),
    /// Manage keys in the local store.
    #[command(subcommand)]
    Key(local::KeyCmd),
    /// The transparency log: checkpoint, keys, entries, prove, verify.
    #[command(subcommand)]
    Log(logcmd::LogCmd),
    /// Encrypt with a stored key; prints aunsorm:vN:...
    Encrypt(local::DataArgs),
    /// Decrypt an aunsorm:vN:... ciphertext; plaintext to stdout.
    Decrypt(local::DataArgs),
    /// Re-encrypt an aunsorm:vN:... ciphertext under the newest version.
    Rewrap(local::DataArgs),
    /// Wrap a secret under a stored AEAD or KEM key; prints aunsorm:vN:...
    Wrap(local::DataArgs),
    /// Unwrap what `aunsorm wrap` made; the secret to stdout.
    Unwrap(local::DataArgs),
    /// Sign with a stored key; prints aunsorm:vN:...
    Sign(local::SignArgs),
    /// Verify a signature made by `aunsorm sign`: exit 0 valid, 1 invalid, 2 error.
    Verify(local::VerifyArgs),
    /// HMAC-SHA-256 with a stored key.
    Hmac {
        /// Key name.
        name: String,
        /// Message (`-` or absent: stdin).
        #[arg(long = "in")]
        input: Option<std::path::PathBuf>,
    },
    /// A data key: base64 plaintext and the wrapped form, or the wrapped form only.
    Datakey {
        /// Key name.
        name: String,
        /// Print only the wrapped key.
        #[arg(long)]
        wrapped_only: bool,
        /// Data key size in bytes (16, 24, 32 or 64).
        #[arg(long, default_value_t = 32)]
        bytes: usize,
    },
    /// Encapsulate to a stored KEM key: prints the base64 secret and the ciphertext.
    Encap {
        /// Key name.
        name: String,
    },
    /// Decapsulate a ciphertext printed by `aunsorm encap`; prints the base64 secret.
    Decap {
        /// Key name.
        name: String,
        /// Ciphertext (`-` or absent: stdin).
        #[arg(long = "in")]
        input: Option<std::path::PathBuf>,
    },
}

/// How a command failed: the exit status says which (DESIGN.md "The command line").
pub(crate) enum Failure {
    /// A verification said "invalid": exit 1.
    Invalid(String),
    /// Any error: exit 2, with the error code on stderr.
    Error { code: &'static str, message: String },
}

impl From<aunsorm_crypto::Error> for Failure {
    fn from(e: aunsorm_crypto::Error) -> Self {
        Failure::Error {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Error {
            code: "io",
            message: e.to_string(),
        }
    }
}

/// The error codes the server may answer, as the static strings `Failure` carries;
/// anything else is reported as `error`.
pub(crate) fn static_code(c: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "invalid_input",
        "alg_unavailable",
        "decryption_failed",
        "bad_signature",
        "crypto",
        "unauthorized",
        "forbidden",
        "no_such_key",
        "not_found",
        "method_not_allowed",
        "conflict",
        "too_large",
        "unsupported_media_type",
        "policy_denied",
        "expired",
        "rate_limited",
        "sealed",
        "storage",
        "overloaded",
        "timeout",
        "rollback",
        "sealed_corrupt",
        "entropy",
        "internal",
        "unavailable",
        "protocol",
    ];
    KNOWN.iter().find(|k| **k == c).copied().unwrap_or("error")
}

pub(crate) fn usage(message: impl Into<String>) -> Failure {
    Failure::Error {
        code: "invalid_input",
        message: message.into(),
    }
}

/// mimalloc rather than the system allocator: the server allocates and frees small
/// buffers on every request from both runtime threads and the log's committer, and
/// glibc's arenas contend on those cross-thread frees (7-9% more Ed25519 signs per
/// second at 64 connections, BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let st = &cli.store;
    let result = match cli.command {
        Command::Serve(a) => serve::serve(st, &a),
        Command::Token(c) => token::token(st, c),
        Command::Operator(c) => local::operator(st, c),
        Command::Key(c) => local::key(st, c),
        Command::Log(c) => logcmd::log(st, c),
        Command::Encrypt(a) => local::encrypt(st, a),
        Command::Decrypt(a) => local::decrypt(st, a),
        Command::Sign(a) => local::sign(st, a),
        Command::Verify(a) => local::verify(st, a),
        Command::Hmac { name, input } => local::hmac(st, name, input),
        Command::Rewrap(a) => local::rewrap(st, a),
        Command::Wrap(a) => local::wrap(st, a),
        Command::Unwrap(a) => local::unwrap(st, a),
        Command::Datakey {
            name,
            wrapped_only,
            bytes,
        } => local::datakey(st, name, wrapped_only, bytes),
        Command::Encap { name } => local::encap(st, name),
        Command::Decap { name, input } => local::decap(st, name, input),
        Command::Pkey(p) => pkey::run(p),
        Command::Seal(a) => seal::seal(a),
        Command::Open(a) => seal::open(a),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            // Into memory first: a closed pipe is then an error, not a panic.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "aunsorm", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script).map_err(Failure::from)
        }
        Command::Algorithms => {
            for a in aunsorm_crypto::Algorithm::ALL {
                let mut notes = vec![];
                if a.is_draft() {
                    notes.push("draft");
                }
                if !a.is_available() {
                    notes.push("not in this build");
                }
                println!(
                    "{:<22} {:?}{}",
                    a.id(),
                    a.kind(),
                    if notes.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", notes.join(", "))
                    }
                );
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid(m)) => {
            eprintln!("{m}");
            ExitCode::from(1)
        }
        Err(Failure::Error { code, message }) => {
            eprintln!("error: {code}: {message}");
            ExitCode::from(2)
        }
    }
}
