//! `aunsorm token create|attenuate|revoke`: capability tokens. `create` and `revoke` work
//! on the server with `--addr` (through `/v1/auth/tokens`), or on the local store (a
//! server loads revocations at start); `attenuate` needs nothing but the token.

use crate::io::read_all;
use crate::local::{self, StoreArgs};
use crate::{Failure, usage};
use aunsorm_server::auth::{Scope, TokenAuthority, TokenSpec, attenuate};
use clap::{Args, Subcommand};
use std::time::Duration;

#[derive(Subcommand)]
pub(crate) enum TokenCmd {
    /// Mint a token with the local store's token key; prints the token alone.
    Create(SpecArgs),
    /// Narrow a token offline (fewer scopes, a longer prefix, an earlier expiry);
    /// prints the new token alone.
    Attenuate {
        /// The token (or `-` / absent: read it from stdin, else AUNSORM_TOKEN).
        token: Option<String>,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Revoke a token id (and every attenuation of it) in the local store.
    Revoke {
        /// The token id.
        id: String,
    },
}

#[derive(Args)]
pub(crate) struct SpecArgs {
    /// A scope (repeat): kms:read, kms:sign, kms:encrypt, kms:wrap, kms:rotate,
    /// kms:admin, log:read.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Restrict to key names starting with this.
    #[arg(long, default_value = "")]
    prefix: String,
    /// Lifetime: seconds, or a number with s, m, h or d.
    #[arg(long)]
    ttl: Option<String>,
}

fn ttl(s: &str) -> Result<Duration, Failure> {
    let (n, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let n: u64 = n.parse().map_err(|_| usage(format!("bad --ttl {s:?}")))?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(usage(format!("bad --ttl unit in {s:?}"))),
    };
    n.checked_mul(mult)
        .map(Duration::from_secs)
        .ok_or_else(|| usage("--ttl too large"))
}

fn spec(a: &SpecArgs) -> Result<TokenSpec, Failure> {
    Ok(TokenSpec {
        scopes: a
            .scopes
            .iter()
            .map(|s| s.parse::<Scope>())
            .collect::<Result<_, _>>()
            .map_err(|e| usage(e.message))?,
        prefix: a.prefix.clone(),
        ttl: a.ttl.as_deref().map(ttl).transpose()?,
    })
}

fn api(e: aunsorm_server::ApiError) -> Failure {
    Failure::Error {
        code: e.code,
        message: e.message,
    }
}

pub(crate) fn token(st: &StoreArgs, c: TokenCmd) -> Result<(), Failure> {
    match c {
        TokenCmd::Create(a) => {
            let spec = spec(&a)?;
            let (token, id) = match crate::custody::remote(st)? {
                Some(r) => {
                    let req = aunsorm_api::auth::CreateToken {
                        scopes: spec.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
                        prefix: spec.prefix.clone(),
                        ttl_secs: spec.ttl.map(|t| t.as_secs()),
                    };
                    let t = r.run(async |c| c.create_token(&req).await)?;
                    (t.token, t.id)
                }
                None => {
                    let kms = local::unsealed(st)?;
                    let auth = TokenAuthority::from_kms(&kms).map_err(api)?;
                    auth.mint(&spec).map_err(api)?
                }
            };
            if st.format == "json" {
                println!("{}", serde_json::json!({"token": token, "id": id}));
            } else {
                println!("{token}");
                eprintln!("token id: {id}");
            }
            Ok(())
        }
        TokenCmd::Attenuate { token, spec: a } => {
            let token = match token.as_deref() {
                Some(t) if t != "-" => t.to_owned(),
                Some(_) => String::from_utf8(read_all(&None, "token")?)
                    .map_err(|_| usage("the token is not text"))?,
                None => match std::env::var("AUNSORM_TOKEN") {
                    Ok(t) => t,
                    Err(_) => String::from_utf8(read_all(&None, "token")?)
                        .map_err(|_| usage("the token is not text"))?,
                },
            };
            let narrowed = attenuate(token.trim(), &spec(&a)?).map_err(api)?;
            if st.format == "json" {
                println!("{}", serde_json::json!({"token": narrowed}));
            } else {
                println!("{narrowed}");
            }
            Ok(())
        }
        TokenCmd::Revoke { id } => {
            match crate::custody::remote(st)? {
                Some(r) => r.run(async |c| c.revoke_token(&id).await)?,
                None => local::unsealed(st)?.revoke_token(&id)?,
            }
            eprintln!("revoked token {id}");
            Ok(())
        }
    }
}
