//! JSON Web Keys (RFC 7517/7518/8037) for the key types JOSE defines: OKP (Ed25519,
//! X25519), EC (P-256, P-384), RSA (public keys), and AKP for ML-DSA
//! (draft-ietf-cose-dilithium: `pub` is the public key, `priv` the 32-byte seed).

use crate::{Algorithm, Error, PrivateKey, PublicKey, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

/// JWK conversions.
pub struct Jwk;

impl Jwk {
    /// The public JWK of `key`, as a JSON string.
    ///
    /// # Errors
    /// [`Error::UnsupportedOperation`] for algorithms JOSE does not define.
    pub fn from_public(key: &PublicKey) -> Result<String> {
        Ok(public_value(key)?.to_string())
    }

    /// The private JWK of `key` (public members plus `d` or `priv`).
    ///
    /// # Security
    /// The result holds the private key; it is zeroized on drop.
    ///
    /// # Errors
    /// [`Error::UnsupportedOperation`] for algorithms JOSE does not define and for RSA
    /// private keys (use PKCS#8).
    pub fn from_private(key: &PrivateKey) -> Result<Zeroizing<String>> {
        let mut v = public_value(&key.public_key())?;
        let seed = key
            .seed()
            .ok_or(Error::unsupported(key.algorithm(), "private JWK export"))?;
        let member = match key.algorithm() {
            Algorithm::MlDsa44 | Algorithm::MlDsa65 | Algorithm::MlDsa87 => "priv",
            Algorithm::Ed25519
            | Algorithm::X25519
            | Algorithm::EcdsaP256
            | Algorithm::EcdsaP384 => "d",
            other => return Err(Error::unsupported(other, "private JWK export")),
        };
        if let Value::Object(m) = &mut v {
            m.insert(member.into(), Value::String(B64.encode(seed.expose())));
        }
        let s = Zeroizing::new(v.to_string());
        zeroize_value(v);
        Ok(s)
    }

    /// Parses a public JWK (private members, if present, are ignored).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for malformed JSON or members, then as
    /// [`PublicKey::from_raw`].
    pub fn to_public(jwk: &str) -> Result<PublicKey> {
        let m = parse(jwk)?;
        let alg = jwk_alg(&m)?;
        let raw = match alg {
            Algorithm::Ed25519 | Algorithm::X25519 => b64(&m, "x")?,
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
                let n = crate::keys::ec_scalar_len(alg);
                let (x, y) = (b64(&m, "x")?, b64(&m, "y")?);
                if x.len() != n || y.len() != n {
                    return Err(Error::invalid(
                        "JWK",
                        "EC coordinates have the wrong length",
                    ));
                }
                let mut p = vec![4u8];
                p.extend_from_slice(&x);
                p.extend_from_slice(&y);
                p
            }
            Algorithm::Rsa2048 => {
                let pkcs1 = rsa_pkcs1(&b64(&m, "n")?, &b64(&m, "e")?)?;
                let spki = crate::encoding::rsa_spki(&pkcs1)?;
                return PublicKey::from_spki_der(&spki);
            }
            _ => b64(&m, "pub")?,
        };
        PublicKey::from_raw(alg, &raw)
    }

    /// Parses a private JWK.
    ///
    /// # Errors
    /// As [`Jwk::to_public`], plus [`Error::InconsistentKey`] when the private and public
    /// members disagree.
    pub fn to_private(jwk: &str) -> Result<PrivateKey> {
        let m = parse(jwk)?;
        let alg = jwk_alg(&m)?;
        let member = if matches!(
            alg,
            Algorithm::MlDsa44 | Algorithm::MlDsa65 | Algorithm::MlDsa87
        ) {
            "priv"
        } else {
            "d"
        };
        if alg == Algorithm::Rsa2048 {
            return Err(Error::unsupported(alg, "private JWK import"));
        }
        let seed = Zeroizing::new(b64(&m, member)?);
        let key = PrivateKey::from_seed(alg, &seed)?;
        if key.public_key() != Self::to_public(jwk)? {
            return Err(Error::InconsistentKey(
                "JWK public members do not match the private key",
            ));
        }
        Ok(key)
    }
}

fn public_value(key: &PublicKey) -> Result<Value> {
    let raw = key.to_raw();
    Ok(match key.algorithm() {
        Algorithm::Ed25519 => json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(&raw)}),
        Algorithm::X25519 => json!({"kty": "OKP", "crv": "X25519", "x": B64.encode(&raw)}),
        a @ (Algorithm::EcdsaP256 | Algorithm::EcdsaP384) => {
            let n = crate::keys::ec_scalar_len(a);
            let crv = if a == Algorithm::EcdsaP256 {
                "P-256"
            } else {
                "P-384"
            };
            json!({"kty": "EC", "crv": crv, "x": B64.encode(&raw[1..=n]), "y": B64.encode(&raw[1 + n..])})
        }
        Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 => {
            let (n, e) = rsa_components(&raw)?;
            json!({"kty": "RSA", "n": B64.encode(n), "e": B64.encode(e)})
        }
        a @ (Algorithm::MlDsa44 | Algorithm::MlDsa65 | Algorithm::MlDsa87) => {
            let name = match a {
                Algorithm::MlDsa44 => "ML-DSA-44",
                Algorithm::MlDsa65 => "ML-DSA-65",
                _ => "ML-DSA-87",
            };
            json!({"kty": "AKP", "alg": name, "pub": B64.encode(&raw)})
        }
        other => return Err(Error::unsupported(other, "JWK")),
    })
}

fn parse(s: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::invalid("JWK", "not a JSON object")),
        Err(e) => Err(Error::invalid(
            "JWK",
            format!("JSON error at line {} column {}", e.line(), e.column()),
        )),
    }
}

fn str_member<'a>(m: &'a Map<String, Value>, k: &'static str) -> Result<&'a str> {
    m.get(k).and_then(Value::as_str).ok_or(Error::invalid(
        "JWK",
        format!("missing or non-string member `{k}`"),
    ))
}

fn b64(m: &Map<String, Value>, k: &'static str) -> Result<Vec<u8>> {
    B64.decode(str_member(m, k)?)
        .map_err(|_| Error::invalid("JWK", format!("member `{k}` is not base64url")))
}

fn jwk_alg(m: &Map<String, Value>) -> Result<Algorithm> {
    match (
        str_member(m, "kty")?,
        m.get("crv").and_then(Value::as_str),
        m.get("alg").and_then(Value::as_str),
    ) {
        ("OKP", Some("Ed25519"), _) => Ok(Algorithm::Ed25519),
        ("OKP", Some("X25519"), _) => Ok(Algorithm::X25519),
        ("EC", Some("P-256"), _) => Ok(Algorithm::EcdsaP256),
        ("EC", Some("P-384"), _) => Ok(Algorithm::EcdsaP384),
        ("RSA", _, _) => Ok(Algorithm::Rsa2048),
        ("AKP", _, Some("ML-DSA-44")) => Ok(Algorithm::MlDsa44),
        ("AKP", _, Some("ML-DSA-65")) => Ok(Algorithm::MlDsa65),
        ("AKP", _, Some("ML-DSA-87")) => Ok(Algorithm::MlDsa87),
        (kty, crv, alg) => Err(Error::invalid(
            "JWK",
            format!(
                "unsupported key type {kty} / {} / {}",
                crv.unwrap_or("-"),
                alg.unwrap_or("-")
            ),
        )),
    }
}

fn rsa_components(pkcs1: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    use der::Decode;
    let mut r = der::SliceReader::new(pkcs1).map_err(|_| Error::Crypto)?;
    der::Reader::sequence(&mut r, |r| {
        let n = der::asn1::UintRef::decode(r)?;
        let e = der::asn1::UintRef::decode(r)?;
        Ok::<_, der::Error>((n.as_bytes().to_vec(), e.as_bytes().to_vec()))
    })
    .map_err(|_| Error::Crypto)
}

fn rsa_pkcs1(n: &[u8], e: &[u8]) -> Result<Vec<u8>> {
    use der::Encode;
    let n = der::asn1::UintRef::new(n).map_err(|_| Error::invalid("JWK", "bad RSA modulus"))?;
    let e = der::asn1::UintRef::new(e).map_err(|_| Error::invalid("JWK", "bad RSA exponent"))?;
    let body_len = (n.encoded_len().map_err(|_| Error::Crypto)?
        + e.encoded_len().map_err(|_| Error::Crypto)?)
    .map_err(|_| Error::Crypto)?;
    let mut out = Vec::new();
    der::Header::new(der::Tag::Sequence, body_len)
        .encode_to_vec(&mut out)
        .map_err(|_| Error::Crypto)?;
    n.encode_to_vec(&mut out).map_err(|_| Error::Crypto)?;
    e.encode_to_vec(&mut out).map_err(|_| Error::Crypto)?;
    Ok(out)
}

fn zeroize_value(v: Value) {
    if let Value::Object(m) = v {
        for (_, val) in m {
            if let Value::String(mut s) = val {
                zeroize::Zeroize::zeroize(&mut s);
            }
        }
    }
}
