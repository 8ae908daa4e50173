//! Transit's tools that use no key: `random` (bytes from the server's DRBG, as
//! `/v1/rng/bytes`) and `hash`.

use super::keys::{number, object, text};
use super::{VaultError, envelope};
use aunsorm_crypto::HashAlgorithm;
use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use zeroize::Zeroizing;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

/// Output in `format`: `base64` or `hex` (`default` when absent).
fn encode(b: &[u8], m: &Map<String, Value>, default: &str) -> Result<String, VaultError> {
    match text(m, "format")?.unwrap_or(default) {
        "base64" => Ok(B64.encode(b)),
        "hex" => Ok(hex(b)),
        other => Err(VaultError::invalid(format!(
            "unsupported format {other}: expected base64 or hex"
        ))),
    }
}

/// `POST /v1/transit/random[/{source}][/{bytes}]`: `bytes` (default 32, at most
/// 65,536) random bytes in `format` (base64 by default). Every `source` (`platform`,
/// `seal`, `all`) is the server's DRBG, seeded by the operating system.
pub(super) async fn random(
    segments: Option<Path<HashMap<String, String>>>,
    body: Bytes,
) -> Result<Response, VaultError> {
    let segments = segments.map(|p| p.0).unwrap_or_default();
    let m = object(&body)?;
    let mut n = number(&m, "bytes")?;
    let mut source = text(&m, "source")?.map(str::to_owned);
    for seg in ["a", "b"].iter().filter_map(|k| segments.get(*k)) {
        match seg.parse::<u64>() {
            Ok(v) => n = Some(v),
            Err(_) => source = Some(seg.clone()),
        }
    }
    if let Some(s) = source.as_deref()
        && !["platform", "seal", "all"].contains(&s)
    {
        return Err(VaultError::invalid(format!(
            "unsupported source {s}: expected platform, seal or all"
        )));
    }
    let n = usize::try_from(n.unwrap_or(32)).unwrap_or(usize::MAX);
    if n == 0 || n > crate::ids::MAX_RANDOM {
        return Err(VaultError::invalid(format!(
            "bytes must be 1 to {}",
            crate::ids::MAX_RANDOM
        )));
    }
    let mut b = Zeroizing::new(vec![0u8; n]);
    aunsorm_crypto::rng::fill(&mut b).map_err(|e| VaultError::from(crate::ApiError::from(e)))?;
    Ok(envelope(
        json!({ "random_bytes": encode(&b, &m, "base64")? }),
    ))
}

/// `POST /v1/transit/hash[/{algorithm}]`: the hash of `input` (base64) with
/// `algorithm` (`sha2-256` by default; sha2-224/384/512, sha3-224/256/384/512), in
/// `format` (hex by default).
pub(super) async fn hash(
    segments: Option<Path<HashMap<String, String>>>,
    body: Bytes,
) -> Result<Response, VaultError> {
    let segments = segments.map(|p| p.0).unwrap_or_default();
    let m = object(&body)?;
    let name = match segments.get("algorithm") {
        Some(a) => a.as_str(),
        None => text(&m, "algorithm")?.unwrap_or("sha2-256"),
    };
    let alg: HashAlgorithm = name
        .parse()
        .map_err(|_| VaultError::invalid(format!("unsupported hash algorithm {name}")))?;
    let input = match text(&m, "input")? {
        Some(s) => B64
            .decode(s)
            .map_err(|_| VaultError::invalid("input: invalid base64"))?,
        None => return Err(VaultError::invalid("missing input")),
    };
    Ok(envelope(
        json!({ "sum": encode(&alg.digest(&input), &m, "hex")? }),
    ))
}
