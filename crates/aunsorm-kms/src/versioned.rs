//! Outputs that carry the key version they were made with: ciphertexts, signatures,
//! MAC tags, KEM ciphertexts. In the library they are bytes and a number; on the API and
//! the command line, text: `aunsorm:vN:<base64>`; at rest or on the wire in binary,
//! the envelope `01 || N (u32, big-endian) || bytes`.

use crate::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use core::fmt;
use core::str::FromStr;

const PREFIX: &str = "aunsorm:v";
const ENVELOPE_FORMAT: u8 = 1;

/// Bytes made with version `version` of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The key version, from 1.
    pub version: u32,
    /// Ciphertext (nonce, ciphertext, tag), signature, tag or KEM ciphertext.
    pub bytes: Vec<u8>,
}

impl Versioned {
    /// The text form, `aunsorm:vN:<base64>` (as `Display` writes it), built in one
    /// allocation of its final size: a response carries one per operation.
    pub fn to_text(&self) -> String {
        use fmt::Write as _;
        let b64 = base64::encoded_len(self.bytes.len(), true).unwrap_or(0);
        let mut s = String::with_capacity(PREFIX.len() + 11 + b64);
        s.push_str(PREFIX);
        // Writing to a String cannot fail.
        let _ = write!(s, "{}:", self.version);
        B64.encode_string(&self.bytes, &mut s);
        s
    }

    /// The binary envelope.
    pub fn to_envelope(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(5 + self.bytes.len());
        v.push(ENVELOPE_FORMAT);
        v.extend_from_slice(&self.version.to_be_bytes());
        v.extend_from_slice(&self.bytes);
        v
    }

    /// Parses the binary envelope.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unknown format, a short input or version 0.
    pub fn from_envelope(b: &[u8]) -> Result<Self> {
        match b {
            [ENVELOPE_FORMAT, v0, v1, v2, v3, rest @ ..] => {
                let version = u32::from_be_bytes([*v0, *v1, *v2, *v3]);
                if version == 0 {
                    return Err(Error::invalid("envelope", "version 0"));
                }
                Ok(Versioned {
                    version,
                    bytes: rest.to_vec(),
                })
            }
            _ => Err(Error::invalid("envelope", "not an Aunsorm envelope")),
        }
    }
}

impl fmt::Display for Versioned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = base64::display::Base64Display::new(&self.bytes, &B64);
        write!(f, "{PREFIX}{}:{body}", self.version)
    }
}

impl FromStr for Versioned {
    type Err = Error;

    /// Parses `aunsorm:vN:<base64>`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid("aunsorm:vN:<base64> value", why.to_string());
        let rest = s
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad("missing aunsorm:v prefix"))?;
        let (n, body) = rest
            .split_once(':')
            .ok_or_else(|| bad("missing ':' after the version"))?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.starts_with('0') {
            return Err(bad("the version must be 1, 2, ..."));
        }
        let version = n.parse::<u32>().map_err(|_| bad("version out of range"))?;
        let bytes = B64
            .decode(body)
            .map_err(|_| bad("the body is not base64"))?;
        Ok(Versioned { version, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_envelope_round_trip_and_reject_junk() {
        let v = Versioned {
            version: 12,
            bytes: vec![1, 2, 3],
        };
        assert_eq!(v.to_string(), "aunsorm:v12:AQID");
        assert_eq!(v.to_string().parse::<Versioned>().unwrap(), v);
        assert_eq!(Versioned::from_envelope(&v.to_envelope()).unwrap(), v);
        for bad in [
            "vault:v1:AQID",
            "aunsorm:v0:AQID",
            "aunsorm:v01:AQID",
            "aunsorm:v1AQID",
            "aunsorm:v1:***",
            "aunsorm:v:AQID",
            "aunsorm:v99999999999:AQ",
        ] {
            assert!(bad.parse::<Versioned>().is_err(), "{bad}");
        }
        assert!(Versioned::from_envelope(&[1, 0, 0, 0]).is_err());
        assert!(Versioned::from_envelope(&[2, 0, 0, 0, 1]).is_err());
        assert!(Versioned::from_envelope(&[1, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn to_text_is_display_and_of_its_exact_size() {
        // Lengths around base64's 3-byte groups and past the display adapter's chunks,
        // versions of one digit to u32::MAX.
        let cases: [(u32, usize); 6] = [
            (1, 0),
            (7, 1),
            (9, 2),
            (10, 3),
            (4242, 1027),
            (u32::MAX, 5000),
        ];
        for (version, len) in cases {
            let v = Versioned {
                version,
                bytes: (0..len)
                    .map(|i| i.to_le_bytes()[0].wrapping_mul(7))
                    .collect(),
            };
            let text = v.to_text();
            assert_eq!(text, v.to_string());
            assert_eq!(text.parse::<Versioned>().unwrap(), v);
            assert!(
                text.capacity() <= text.len() + 11,
                "{len}: {}",
                text.capacity()
            );
        }
    }
}
