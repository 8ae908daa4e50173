//! The sealed record: how key material rests in storage.
//!
//! ```text
//! magic "AUNK" | format 01 | alg_len u8 | alg id (ASCII) | kid_len u16 | kid (UTF-8)
//! | version u32 | generation u64 | created_at u64 | not_after u64 (0 = none)
//! | nonce[12] | AES-256-GCM(KEK(kid), nonce, payload, aad = every byte before the nonce)
//! ```
//!
//! Integers are big-endian; times are Unix seconds. The KEK is derived from the root key
//! and the key's name ([`RootKey::kek`]), so a record moved to another name, a record
//! from another root, and any modified, truncated or extended byte all fail with
//! [`Error::SealedCorrupt`]. Unknown formats are refused the same way. Layout and a hex
//! example: `docs/formats.md`; frozen by `tests/fixtures/sealed_v1.hex`.

use crate::{Error, KeyName, Result, RootKey};
use aunsorm_crypto::{AEAD_TAG_LEN, Algorithm, SecretBytes, rng};

/// First bytes of every sealed record.
pub const MAGIC: &[u8; 4] = b"AUNK";
/// The format this build writes; the only one it reads.
pub const FORMAT: u8 = 1;
const NONCE_LEN: usize = 12;

/// The authenticated, unencrypted part of a sealed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The key's algorithm.
    pub alg: Algorithm,
    /// The key's name.
    pub kid: KeyName,
    /// The newest key version in the record.
    pub version: u32,
    /// The store generation this record was written at (anti-rollback: a record older
    /// than its logged generation is refused).
    pub generation: u64,
    /// When the key was created (Unix seconds).
    pub created_at: u64,
    /// When the key expires (Unix seconds), if it does.
    pub not_after: Option<u64>,
}

impl Header {
    /// The header's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let alg = self.alg.id().as_bytes();
        let kid = self.kid.as_str().as_bytes();
        let mut v = Vec::with_capacity(4 + 1 + 1 + alg.len() + 2 + kid.len() + 28);
        v.extend_from_slice(MAGIC);
        v.push(FORMAT);
        // Identifiers are at most 32 bytes and names at most 128 (checked by their types).
        v.push(u8::try_from(alg.len()).unwrap_or(u8::MAX));
        v.extend_from_slice(alg);
        v.extend_from_slice(&u16::try_from(kid.len()).unwrap_or(u16::MAX).to_be_bytes());
        v.extend_from_slice(kid);
        v.extend_from_slice(&self.version.to_be_bytes());
        v.extend_from_slice(&self.generation.to_be_bytes());
        v.extend_from_slice(&self.created_at.to_be_bytes());
        v.extend_from_slice(&self.not_after.unwrap_or(0).to_be_bytes());
        v
    }

    /// Parses a header from the front of `b`; returns it and its length.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for anything that is not a format-1 header.
    pub fn decode(b: &[u8]) -> Result<(Header, usize)> {
        let bad = |why: &str| Error::invalid("sealed record header", why.to_string());
        let mut r = Reader { b, at: 0 };
        if r.take(4).ok_or_else(|| bad("truncated"))? != MAGIC {
            return Err(bad("bad magic"));
        }
        let format = r.u8().ok_or_else(|| bad("truncated"))?;
        if format != FORMAT {
            return Err(bad("unknown format version"));
        }
        let alg_len = usize::from(r.u8().ok_or_else(|| bad("truncated"))?);
        let alg = core::str::from_utf8(r.take(alg_len).ok_or_else(|| bad("truncated"))?)
            .map_err(|_| bad("algorithm id is not UTF-8"))?
            .parse::<Algorithm>()
            .map_err(|_| bad("unknown algorithm"))?;
        let kid_len = usize::from(u16::from_be_bytes(
            r.array().ok_or_else(|| bad("truncated"))?,
        ));
        let kid = core::str::from_utf8(r.take(kid_len).ok_or_else(|| bad("truncated"))?)
            .map_err(|_| bad("key name is not UTF-8"))?
            .parse::<KeyName>()?;
        let version = u32::from_be_bytes(r.array().ok_or_else(|| bad("truncated"))?);
        let generation = u64::from_be_bytes(r.array().ok_or_else(|| bad("truncated"))?);
        let created_at = u64::from_be_bytes(r.array().ok_or_else(|| bad("truncated"))?);
        let not_after = u64::from_be_bytes(r.array().ok_or_else(|| bad("truncated"))?);
        Ok((
            Header {
                alg,
                kid,
                version,
                generation,
                created_at,
                not_after: (not_after != 0).then_some(not_after),
            },
            r.at,
        ))
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

/// Seals `payload` (the key's secret state) under the KEK of `header.kid`.
///
/// # Errors
/// [`Error::Entropy`] if no nonce can be drawn.
pub fn seal(root: &RootKey, header: &Header, payload: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    rng::fill(&mut nonce).map_err(|_| Error::Entropy)?;
    seal_with_nonce(root, header, payload, nonce)
}

/// [`seal`] with a chosen nonce, for the format's fixture only.
///
/// # Errors
/// As [`seal`].
#[doc(hidden)]
pub fn seal_with_nonce(
    root: &RootKey,
    header: &Header,
    payload: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>> {
    let mut out = header.encode();
    let aad = out.clone();
    let kek = root.kek(header.kid.as_str())?;
    out.extend_from_slice(&nonce);
    let mut body = payload.to_vec();
    kek.seal_in_place(&nonce, &aad, &mut body)?;
    out.extend_from_slice(&body);
    zeroize::Zeroize::zeroize(&mut body);
    Ok(out)
}

/// Opens a sealed record, checking it belongs to `expected` (the name it was loaded
/// under).
///
/// # Errors
/// [`Error::SealedCorrupt`] for any record that does not authenticate, does not parse,
/// or names another key.
pub fn open_for(root: &RootKey, expected: &KeyName, b: &[u8]) -> Result<(Header, SecretBytes)> {
    let corrupt = || Error::SealedCorrupt {
        kid: expected.to_string(),
    };
    let (header, payload) = open(root, b).map_err(|_| corrupt())?;
    if &header.kid != expected {
        return Err(corrupt());
    }
    Ok((header, payload))
}

/// Opens a sealed record whatever key it claims to be.
///
/// # Errors
/// [`Error::SealedCorrupt`] (naming the record's claimed key, or `?`) for any record
/// that does not parse or authenticate.
pub fn open(root: &RootKey, b: &[u8]) -> Result<(Header, SecretBytes)> {
    let (header, hlen) = Header::decode(b).map_err(|_| Error::SealedCorrupt { kid: "?".into() })?;
    let corrupt = || Error::SealedCorrupt {
        kid: header.kid.to_string(),
    };
    if b.len() < hlen + NONCE_LEN + AEAD_TAG_LEN {
        return Err(corrupt());
    }
    let (aad, rest) = b.split_at(hlen);
    let (nonce, ct) = rest.split_at(NONCE_LEN);
    let kek = root.kek(header.kid.as_str())?;
    let payload = kek.open(nonce, aad, ct).map_err(|_| corrupt())?;
    Ok((header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            alg: Algorithm::MlDsa65,
            kid: "acme/signing".parse().unwrap(),
            version: 3,
            generation: 7,
            created_at: 1_790_000_000,
            not_after: Some(1_900_000_000),
        }
    }

    #[test]
    fn every_bit_flip_and_truncation_is_sealed_corrupt() {
        let root = RootKey::generate().unwrap();
        let kid: KeyName = "acme/signing".parse().unwrap();
        let rec = seal(&root, &header(), b"secret seed material").unwrap();
        let (h, p) = open_for(&root, &kid, &rec).unwrap();
        assert_eq!((h, p.expose()), (header(), &b"secret seed material"[..]));
        for i in 0..rec.len() {
            for bit in 0..8 {
                let mut bad = rec.clone();
                bad[i] ^= 1 << bit;
                assert!(
                    matches!(
                        open_for(&root, &kid, &bad),
                        Err(Error::SealedCorrupt { .. })
                    ),
                    "byte {i} bit {bit}"
                );
            }
        }
        for n in 0..rec.len() {
            assert!(
                matches!(
                    open_for(&root, &kid, &rec[..n]),
                    Err(Error::SealedCorrupt { .. })
                ),
                "truncated to {n}"
            );
        }
        let mut longer = rec.clone();
        longer.push(0);
        assert!(open_for(&root, &kid, &longer).is_err());
        // Another root, or the record filed under another name.
        assert!(open_for(&RootKey::generate().unwrap(), &kid, &rec).is_err());
        assert!(matches!(
            open_for(&root, &"acme/other".parse().unwrap(), &rec),
            Err(Error::SealedCorrupt { kid }) if kid == "acme/other"
        ));
    }
}
