//! `aunsorm pkey`: offline key tools in the spirit of `openssl pkey` / `pkeyutl`.

use crate::io::{read_all, write_all};
use crate::{Failure, usage};
use aunsorm_crypto::{Algorithm, PrivateKey, PublicKey, SignOptions};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use zeroize::Zeroizing;

#[derive(Subcommand)]
pub(crate) enum Pkey {
    /// Generate a private key (PKCS#8), randomly or from the algorithm's standard seed.
    Gen(GenArgs),
    /// Write the public key (SubjectPublicKeyInfo) of a private key.
    Pub(PubArgs),
    /// Sign a file; writes the raw signature bytes.
    Sign(SignArgs),
    /// Verify a signature: exit status 0 valid, 1 invalid, 2 error.
    Verify(VerifyArgs),
    /// Encapsulate a fresh shared secret to a KEM public key.
    Encap(EncapArgs),
    /// Decapsulate a KEM ciphertext with the private key.
    Decap(DecapArgs),
}

#[derive(Args)]
pub(crate) struct GenArgs {
    /// Algorithm identifier (see `aunsorm algorithms`).
    #[arg(long)]
    alg: String,
    /// The algorithm's standard seed in hex: 64 bytes d||z for ML-KEM, 32 for ML-DSA,
    /// Ed25519, X25519 and X-Wing, 3n bytes sk_seed||sk_prf||pk_seed for SLH-DSA.
    #[arg(long, env = "AUNSORM_SEED", hide_env_values = true)]
    seed: Option<String>,
    /// Output path (`-` or absent: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write DER instead of PEM.
    #[arg(long)]
    der: bool,
}

#[derive(Args)]
pub(crate) struct PubArgs {
    /// Private key (PKCS#8, PEM or DER; `-` or absent: stdin).
    #[arg(long = "in")]
    input: Option<PathBuf>,
    /// Output path (`-` or absent: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write DER instead of PEM.
    #[arg(long)]
    der: bool,
}

#[derive(Args)]
pub(crate) struct SignArgs {
    /// Private key (PKCS#8, PEM or DER).
    #[arg(long)]
    key: PathBuf,
    /// Context string (ML-DSA, SLH-DSA, composite).
    #[arg(long)]
    context: Option<String>,
    /// Message (`-` or absent: stdin).
    #[arg(long = "in")]
    input: Option<PathBuf>,
    /// Signature output (`-` or absent: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// Public key (SubjectPublicKeyInfo, PEM or DER).
    #[arg(long = "pub")]
    public: PathBuf,
    /// Context string used when signing.
    #[arg(long)]
    context: Option<String>,
    /// Message (`-` or absent: stdin).
    #[arg(long = "in")]
    input: Option<PathBuf>,
    /// Signature file (raw bytes).
    #[arg(long)]
    sig: PathBuf,
}

#[derive(Args)]
pub(crate) struct EncapArgs {
    /// Recipient public key (SubjectPublicKeyInfo, PEM or DER).
    #[arg(long = "pub")]
    public: PathBuf,
    /// Where to write the KEM ciphertext.
    #[arg(long)]
    out_ciphertext: PathBuf,
    /// Where to write the shared secret (created with mode 0600).
    #[arg(long)]
    out_secret: PathBuf,
}

#[derive(Args)]
pub(crate) struct DecapArgs {
    /// Private key (PKCS#8, PEM or DER).
    #[arg(long)]
    key: PathBuf,
    /// KEM ciphertext (`-` or absent: stdin).
    #[arg(long = "in")]
    input: Option<PathBuf>,
    /// Shared secret output (`-` or absent: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn run(cmd: Pkey) -> Result<(), Failure> {
    match cmd {
        Pkey::Gen(a) => {
            let alg: Algorithm = a.alg.parse()?;
            let key = match &a.seed {
                Some(hex_seed) => {
                    let seed = Zeroizing::new(
                        hex::decode(hex_seed.trim())
                            .map_err(|_| usage("--seed must be hexadecimal"))?,
                    );
                    PrivateKey::from_seed(alg, &seed)?
                }
                None => PrivateKey::generate(alg)?,
            };
            write_private(&a.out, &key, a.der)
        }
        Pkey::Pub(a) => {
            let key = load_private(&a.input)?;
            let pk = key.public_key();
            let bytes = if a.der {
                pk.to_spki_der()?
            } else {
                pk.to_spki_pem()?.into_bytes()
            };
            write_all(&a.out, &bytes, false)
        }
        Pkey::Sign(a) => {
            let key = load_private(&Some(a.key))?;
            let msg = read_all(&a.input, "message")?;
            let ctx = a.context.unwrap_or_default();
            let sig = key.sign(&msg, &SignOptions::new().context(ctx.as_bytes()))?;
            write_all(&a.out, &sig, false)
        }
        Pkey::Verify(a) => {
            let pk = load_public(&a.public)?;
            let sig = read_all(&Some(a.sig), "signature")?;
            let msg = read_all(&a.input, "message")?;
            let ctx = a.context.unwrap_or_default();
            match pk.verify(&msg, &sig, &SignOptions::new().context(ctx.as_bytes())) {
                Ok(()) => {
                    eprintln!("signature valid");
                    Ok(())
                }
                Err(aunsorm_crypto::Error::BadSignature) => {
                    Err(Failure::Invalid("signature invalid".into()))
                }
                Err(e) => Err(e.into()),
            }
        }
        Pkey::Encap(a) => {
            let pk = load_public(&a.public)?;
            let (ct, ss) = pk.encapsulate()?;
            write_all(&Some(a.out_ciphertext), &ct, false)?;
            write_all(&Some(a.out_secret), ss.expose(), true)
        }
        Pkey::Decap(a) => {
            let key = load_private(&Some(a.key))?;
            let ct = read_all(&a.input, "ciphertext")?;
            let ss = key.decapsulate(&ct)?;
            write_all(&a.out, ss.expose(), true)
        }
    }
}

pub(crate) fn load_private(p: &Option<PathBuf>) -> Result<PrivateKey, Failure> {
    let bytes = Zeroizing::new(read_all(p, "private key")?);
    Ok(PrivateKey::from_pkcs8(&bytes)?)
}

pub(crate) fn load_public(p: &std::path::Path) -> Result<PublicKey, Failure> {
    let bytes = read_all(&Some(p.to_path_buf()), "public key")?;
    Ok(PublicKey::from_spki(&bytes)?)
}

fn write_private(out: &Option<PathBuf>, key: &PrivateKey, der: bool) -> Result<(), Failure> {
    if der {
        let d = key.to_pkcs8_der()?;
        write_all(out, d.expose(), true)
    } else {
        let p = key.to_pkcs8_pem()?;
        write_all(out, p.as_bytes(), true)
    }
}
