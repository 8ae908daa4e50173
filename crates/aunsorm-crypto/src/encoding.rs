//! DER, PEM and object identifiers: PKCS#8 (RFC 5958) and SubjectPublicKeyInfo
//! (RFC 5280) for every algorithm, with the OIDs of RFC 8410 (Ed25519, X25519),
//! RFC 5480 (EC), RFC 8017 (RSA), RFC 9881 (ML-DSA), RFC 9909 (SLH-DSA), RFC 9935
//! (ML-KEM), draft-connolly-cfrg-xwing-kem-06 (X-Wing) and
//! draft-ietf-lamps-pq-composite-sigs-13 (ML-DSA-65+Ed25519).

use crate::{Algorithm, Error, Result, SecretBytes};
use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef};
use der::{Decode, Encode, Tag, TagNumber, Tagged};
use zeroize::Zeroizing;

const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_XWING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.62253.25722");
const OID_MLDSA65_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.6.48");

/// The OID of an algorithm whose keys carry no AlgorithmIdentifier parameters.
fn plain_oid(alg: Algorithm) -> Option<ObjectIdentifier> {
    use Algorithm::*;
    let nist_sig = |n: &str| ObjectIdentifier::new(&format!("2.16.840.1.101.3.4.3.{n}")).ok();
    let nist_kem = |n: &str| ObjectIdentifier::new(&format!("2.16.840.1.101.3.4.4.{n}")).ok();
    match alg {
        Ed25519 => Some(OID_ED25519),
        X25519 => Some(OID_X25519),
        MlDsa44 => nist_sig("17"),
        MlDsa65 => nist_sig("18"),
        MlDsa87 => nist_sig("19"),
        SlhDsaSha2_128s => nist_sig("20"),
        SlhDsaSha2_128f => nist_sig("21"),
        SlhDsaSha2_192s => nist_sig("22"),
        SlhDsaSha2_192f => nist_sig("23"),
        SlhDsaSha2_256s => nist_sig("24"),
        SlhDsaSha2_256f => nist_sig("25"),
        SlhDsaShake128s => nist_sig("26"),
        SlhDsaShake128f => nist_sig("27"),
        SlhDsaShake192s => nist_sig("28"),
        SlhDsaShake192f => nist_sig("29"),
        SlhDsaShake256s => nist_sig("30"),
        SlhDsaShake256f => nist_sig("31"),
        MlKem512 => nist_kem("1"),
        MlKem768 => nist_kem("2"),
        MlKem1024 => nist_kem("3"),
        XWingDraft06 => Some(OID_XWING),
        MlDsa65Ed25519Draft13 => Some(OID_MLDSA65_ED25519),
        _ => None,
    }
}

/// What an AlgorithmIdentifier names. RSA keys learn their size from the modulus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    Alg(Algorithm),
    Rsa,
}

fn key_type(alg_id: &spki::AlgorithmIdentifierRef<'_>) -> Result<KeyType> {
    let oid = alg_id.oid;
    if oid == OID_RSA {
        return Ok(KeyType::Rsa);
    }
    if oid == OID_EC_PUBLIC_KEY {
        let params = alg_id
            .parameters
            .ok_or(Error::invalid("EC key", "missing curve parameters"))?;
        let curve: ObjectIdentifier = params
            .decode_as()
            .map_err(|_| Error::invalid("EC key", "curve parameters are not a named curve"))?;
        return match curve {
            c if c == OID_P256 => Ok(KeyType::Alg(Algorithm::EcdsaP256)),
            c if c == OID_P384 => Ok(KeyType::Alg(Algorithm::EcdsaP384)),
            c => Err(Error::UnknownOid(format!("EC curve {c}"))),
        };
    }
    for &alg in Algorithm::ALL {
        if plain_oid(alg) == Some(oid) {
            // RFC 8410, 9881, 9909, 9935: parameters MUST be absent.
            if alg_id.parameters.is_some() {
                return Err(Error::invalid(
                    "AlgorithmIdentifier",
                    format!("parameters must be absent for {alg}"),
                ));
            }
            return Ok(KeyType::Alg(alg));
        }
    }
    Err(Error::UnknownOid(oid.to_string()))
}

/// A parsed PKCS#8 document borrowing from the input.
pub(crate) struct Pkcs8<'a> {
    pub(crate) key_type: KeyType,
    pub(crate) private_key: &'a [u8],
    pub(crate) public_key: Option<&'a [u8]>,
}

pub(crate) fn parse_pkcs8(der: &[u8]) -> Result<Pkcs8<'_>> {
    let info = pkcs8::PrivateKeyInfoRef::from_der(der)
        .map_err(|e| Error::invalid("PKCS#8", e.to_string()))?;
    let key_type = key_type(&info.algorithm)?;
    let public_key = match info.public_key {
        Some(b) => Some(
            b.as_bytes()
                .ok_or(Error::invalid("PKCS#8", "public key has unused bits"))?,
        ),
        None => None,
    };
    Ok(Pkcs8 {
        key_type,
        private_key: info.private_key.as_bytes(),
        public_key,
    })
}

pub(crate) fn pkcs8_wrap(alg: Algorithm, inner: &[u8]) -> Result<SecretBytes> {
    let oid = plain_oid(alg).ok_or(Error::Crypto)?;
    let info = pkcs8::PrivateKeyInfoRef::new(
        spki::AlgorithmIdentifierRef {
            oid,
            parameters: None,
        },
        OctetStringRef::new(inner).map_err(|_| Error::Crypto)?,
    );
    let mut out = Zeroizing::new(Vec::new());
    info.encode_to_vec(&mut out).map_err(|_| Error::Crypto)?;
    Ok(SecretBytes::from_slice(&out))
}

/// Parses SPKI into an algorithm and the raw public key bytes of
/// [`crate::PublicKey::from_raw`].
pub(crate) fn parse_spki(der: &[u8]) -> Result<(Algorithm, Vec<u8>)> {
    let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
        .map_err(|e| Error::invalid("SubjectPublicKeyInfo", e.to_string()))?;
    let raw = spki.subject_public_key.as_bytes().ok_or(Error::invalid(
        "SubjectPublicKeyInfo",
        "key has unused bits",
    ))?;
    match key_type(&spki.algorithm)? {
        KeyType::Alg(a) => Ok((a, raw.to_vec())),
        KeyType::Rsa => {
            if spki.algorithm.parameters != Some(AnyRef::NULL) {
                return Err(Error::invalid("RSA public key", "parameters must be NULL"));
            }
            let k = aws_lc_rs::rsa::PublicEncryptingKey::from_der(der)
                .map_err(|_| Error::invalid("RSA public key", "malformed"))?;
            let alg = match k.key_size_bits() {
                2048 => Algorithm::Rsa2048,
                3072 => Algorithm::Rsa3072,
                4096 => Algorithm::Rsa4096,
                b => {
                    return Err(Error::invalid(
                        "RSA public key",
                        format!("unsupported modulus size {b}"),
                    ));
                }
            };
            Ok((alg, raw.to_vec()))
        }
    }
}

pub(crate) fn spki_wrap(alg: Algorithm, raw: &[u8]) -> Result<Vec<u8>> {
    let key = BitStringRef::from_bytes(raw).map_err(|_| Error::Crypto)?;
    let curve_any;
    let algorithm = match alg {
        Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
            let curve = if alg == Algorithm::EcdsaP256 {
                OID_P256
            } else {
                OID_P384
            };
            curve_any = der::Any::encode_from(&curve).map_err(|_| Error::Crypto)?;
            spki::AlgorithmIdentifierRef {
                oid: OID_EC_PUBLIC_KEY,
                parameters: Some(AnyRef::from(&curve_any)),
            }
        }
        Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 => {
            spki::AlgorithmIdentifierRef {
                oid: OID_RSA,
                parameters: Some(AnyRef::NULL),
            }
        }
        other => spki::AlgorithmIdentifierRef {
            oid: plain_oid(other).ok_or(Error::Crypto)?,
            parameters: None,
        },
    };
    spki::SubjectPublicKeyInfoRef {
        algorithm,
        subject_public_key: key,
    }
    .to_der()
    .map_err(|_| Error::Crypto)
}

/// SPKI for a PKCS#1 RSAPublicKey, the form AWS-LC's encrypting keys parse.
pub(crate) fn rsa_spki(pkcs1: &[u8]) -> Result<Vec<u8>> {
    spki_wrap(Algorithm::Rsa2048, pkcs1)
}

/// DER `OCTET STRING` around secret bytes (Ed25519/X25519's CurvePrivateKey, ML-KEM and
/// ML-DSA's expandedKey).
pub(crate) fn octet_string(b: &[u8]) -> Zeroizing<Vec<u8>> {
    tlv(0x04, b)
}

/// DER `[0] IMPLICIT OCTET STRING` (the seed choice of RFC 9881/9935).
pub(crate) fn context_0(b: &[u8]) -> Zeroizing<Vec<u8>> {
    tlv(0x80, b)
}

fn tlv(tag: u8, b: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut v = Zeroizing::new(Vec::with_capacity(b.len() + 4));
    v.push(tag);
    let len = b.len();
    if len < 0x80 {
        v.push(len.to_be_bytes()[7]);
    } else if len < 0x100 {
        v.extend_from_slice(&[0x81, len.to_be_bytes()[7]]);
    } else {
        let l = len.to_be_bytes();
        v.extend_from_slice(&[0x82, l[6], l[7]]);
    }
    v.extend_from_slice(b);
    v
}

pub(crate) fn parse_octet_string(b: &[u8], what: &'static str) -> Result<Zeroizing<Vec<u8>>> {
    let os = <&OctetStringRef>::from_der(b).map_err(|e| Error::invalid(what, e.to_string()))?;
    Ok(Zeroizing::new(os.as_bytes().to_vec()))
}

type SecretVec = Zeroizing<Vec<u8>>;

/// The private key CHOICE of RFC 9881 / RFC 9935:
/// `seed [0] OCTET STRING | expandedKey OCTET STRING | both SEQUENCE { seed, expandedKey }`.
pub(crate) fn parse_seed_choice(b: &[u8]) -> Result<(Option<SecretVec>, Option<SecretVec>)> {
    let any = AnyRef::from_der(b).map_err(|e| Error::invalid("PQ private key", e.to_string()))?;
    match any.tag() {
        Tag::ContextSpecific {
            constructed: false,
            number: TagNumber(0),
        } => Ok((Some(Zeroizing::new(any.value().to_vec())), None)),
        Tag::OctetString => Ok((None, Some(Zeroizing::new(any.value().to_vec())))),
        Tag::Sequence => {
            let mut r = der::SliceReader::new(any.value())
                .map_err(|_| Error::invalid("PQ private key", "bad length"))?;
            let seed = <&OctetStringRef>::decode(&mut r)
                .map_err(|e| Error::invalid("PQ private key", e.to_string()))?;
            let exp = <&OctetStringRef>::decode(&mut r)
                .map_err(|e| Error::invalid("PQ private key", e.to_string()))?;
            if !der::Reader::is_finished(&r) {
                return Err(Error::invalid("PQ private key", "trailing data"));
            }
            Ok((
                Some(Zeroizing::new(seed.as_bytes().to_vec())),
                Some(Zeroizing::new(exp.as_bytes().to_vec())),
            ))
        }
        t => Err(Error::invalid(
            "PQ private key",
            format!("unexpected tag {t}"),
        )),
    }
}

/// DER ECDSA signature to fixed-width `r || s`.
pub(crate) fn ecdsa_der_to_fixed(sig: &[u8], n: usize) -> Result<Vec<u8>> {
    let mut r = der::SliceReader::new(sig).map_err(|_| Error::Crypto)?;
    let (a, b) = der::Reader::sequence(&mut r, |r| {
        let a = der::asn1::UintRef::decode(r)?;
        let b = der::asn1::UintRef::decode(r)?;
        Ok::<_, der::Error>((a, b))
    })
    .map_err(|_| Error::Crypto)?;
    let mut out = vec![0u8; 2 * n];
    for (i, v) in [a.as_bytes(), b.as_bytes()].into_iter().enumerate() {
        if v.len() > n {
            return Err(Error::Crypto);
        }
        out[(i + 1) * n - v.len()..(i + 1) * n].copy_from_slice(v);
    }
    Ok(out)
}

pub(crate) fn pem_encode(label: &str, der: &[u8]) -> Result<Zeroizing<String>> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .map(Zeroizing::new)
        .map_err(|_| Error::Crypto)
}

/// Decodes any PEM document, returning its label.
pub(crate) fn pem_decode_any(pem: &str) -> Result<(String, Zeroizing<Vec<u8>>)> {
    let (label, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
        .map_err(|e| Error::invalid("PEM", e.to_string()))?;
    Ok((label.to_string(), Zeroizing::new(der)))
}

pub(crate) fn pem_decode(pem: &str, want: &str) -> Result<Zeroizing<Vec<u8>>> {
    let (label, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
        .map_err(|e| Error::invalid("PEM", e.to_string()))?;
    let der = Zeroizing::new(der);
    if label != want {
        return Err(Error::invalid(
            "PEM",
            format!(
                "expected label {want}, found {}",
                label.chars().take(40).collect::<String>()
            ),
        ));
    }
    Ok(der)
}

pub(crate) fn looks_like_pem(b: &[u8]) -> bool {
    let t = b.trim_ascii_start();
    t.starts_with(b"-----BEGIN ")
}
