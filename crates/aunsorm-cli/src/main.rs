//! `aunsorm`: one binary for the server (later) and every command-line tool.
#![forbid(unsafe_code)]

mod io;
mod pkey;
mod seal;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Aunsorm: post-quantum-ready key management and cryptography.
#[derive(Parser)]
#[command(name = "aunsorm", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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

pub(crate) fn usage(message: impl Into<String>) -> Failure {
    Failure::Error {
        code: "invalid_input",
        message: message.into(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Pkey(p) => pkey::run(p),
        Command::Seal(a) => seal::seal(a),
        Command::Open(a) => seal::open(a),
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
