//! The root key under Shamir unseal shares (k of n), as Vault's unseal keys.
//!
//! `init` draws a random 32-byte unseal key, encrypts the root key under it and splits the
//! unseal key into `n` shares over GF(256) (the `blahaj` crate), any `k` of which rebuild
//! it. The shares are handed out once and never stored. A wrong or mixed-up set of shares
//! rebuilds a wrong unseal key, which fails the AES-256-GCM tag: `unauthorized`.
//!
//! Stored record: `"AUNS" || 01 || k (u8) || n (u8) || nonce[12] || AES-256-GCM(root)`,
//! the first 7 bytes authenticated as associated data.
//! A share as text: `aunsorm-share-v1:` and base64url (no padding) of `x || y[32]`.

use crate::{Error, Result, RootKey};
use aunsorm_crypto::{AeadKey, Algorithm, rng};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use core::convert::Infallible;
use zeroize::{Zeroize, Zeroizing};

const MAGIC: &[u8; 4] = b"AUNS";
const FORMAT: u8 = 1;
const HEADER_LEN: usize = 7;
const RECORD_LEN: usize = HEADER_LEN + 12 + 32 + 16;
const SHARE_PREFIX: &str = "aunsorm-share-v1:";
const UNSEAL_KEY_LEN: usize = 32;

/// The root key as stored for share-based unsealing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedRoot {
    threshold: u8,
    shares: u8,
    nonce: [u8; 12],
    ciphertext: Vec<u8>,
}

/// One unseal share. Zeroized on drop; `Debug` prints `[redacted]`.
pub struct UnsealShare(Zeroizing<String>);

impl core::fmt::Debug for UnsealShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("UnsealShare([redacted])")
    }
}

impl UnsealShare {
    /// The share as text, to hand to its holder.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl SharedRoot {
    /// Protects `root` under a fresh unseal key split into `shares` shares, any
    /// `threshold` of which open it.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] unless `1 <= threshold <= shares <= 255` and
    /// `threshold >= 2` when there is more than one share; [`Error::Entropy`].
    pub fn protect(root: &RootKey, shares: u8, threshold: u8) -> Result<(Self, Vec<UnsealShare>)> {
        if threshold == 0 || threshold > shares || (shares > 1 && threshold < 2) {
            return Err(Error::invalid(
                "unseal shares",
                "need 1 <= threshold <= shares <= 255, and a threshold of at least 2 when there are several shares",
            ));
        }
        let mut unseal_key = Zeroizing::new([0u8; UNSEAL_KEY_LEN]);
        rng::fill(&mut unseal_key[..]).map_err(|_| Error::Entropy)?;
        let mut nonce = [0u8; 12];
        rng::fill(&mut nonce).map_err(|_| Error::Entropy)?;
        let mut rec = SharedRoot {
            threshold,
            shares,
            nonce,
            ciphertext: Vec::new(),
        };
        let key = AeadKey::new(Algorithm::Aes256Gcm, &unseal_key[..])?;
        rec.ciphertext = key.seal(&nonce, &rec.header(), &root.expose()[..])?;

        // blahaj draws one u32 per polynomial coefficient: (threshold - 1) per secret byte.
        let need = 4 * usize::from(threshold.saturating_sub(1)) * UNSEAL_KEY_LEN;
        let mut randomness = DrbgBytes::new(need)?;
        let dealt: Vec<blahaj::Share> = blahaj::Sharks(threshold)
            .dealer_rng(&unseal_key[..], &mut randomness)
            .take(usize::from(shares))
            .collect();
        if randomness.overdrawn {
            return Err(Error::Internal(
                "share dealer used more randomness than drawn",
            ));
        }
        let out = dealt
            .iter()
            .map(|s| {
                let mut raw = Zeroizing::new(Vec::<u8>::from(s));
                let text = format!("{SHARE_PREFIX}{}", B64.encode(&raw[..]));
                raw.zeroize();
                UnsealShare(Zeroizing::new(text))
            })
            .collect();
        Ok((rec, out))
    }

    /// Rebuilds the root key from at least `threshold` distinct shares.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed share or too few distinct shares;
    /// [`Error::Unauthorized`] when the shares do not open the root key.
    pub fn unlock(&self, shares: &[&str]) -> Result<RootKey> {
        // Distinct x coordinates only: a repeated share would make interpolation divide
        // by zero.
        let mut parsed: Vec<(u8, blahaj::Share)> = Vec::with_capacity(shares.len());
        for s in shares {
            let (x, share) = parse_share(s)?;
            if !parsed.iter().any(|(seen, _)| *seen == x) {
                parsed.push((x, share));
            }
        }
        if parsed.len() < usize::from(self.threshold) {
            return Err(Error::invalid(
                "unseal shares",
                format!(
                    "{} distinct shares given, {} needed",
                    parsed.len(),
                    self.threshold
                ),
            ));
        }
        let unseal_key = Zeroizing::new(
            blahaj::Sharks(self.threshold)
                .recover(parsed.iter().map(|(_, s)| s))
                .map_err(|_| Error::Unauthorized)?,
        );
        let key =
            AeadKey::new(Algorithm::Aes256Gcm, &unseal_key[..]).map_err(|_| Error::Unauthorized)?;
        let root = key
            .open(&self.nonce, &self.header(), &self.ciphertext)
            .map_err(|_| Error::Unauthorized)?;
        RootKey::from_bytes(root.expose())
    }

    /// Shares needed to unseal.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// Shares handed out at init.
    pub fn shares(&self) -> u8 {
        self.shares
    }

    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.header();
        v.extend_from_slice(&self.nonce);
        v.extend_from_slice(&self.ciphertext);
        v
    }

    /// Parses stored bytes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for anything malformed.
    pub fn decode(b: &[u8]) -> Result<Self> {
        if b.len() != RECORD_LEN || &b[..4] != MAGIC || b[4] != FORMAT {
            return Err(Error::invalid("share-protected root key", "unknown format"));
        }
        let (threshold, shares) = (b[5], b[6]);
        if threshold == 0 || threshold > shares {
            return Err(Error::invalid("share-protected root key", "bad threshold"));
        }
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&b[HEADER_LEN..HEADER_LEN + 12]);
        Ok(SharedRoot {
            threshold,
            shares,
            nonce,
            ciphertext: b[HEADER_LEN + 12..].to_vec(),
        })
    }

    fn header(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(HEADER_LEN);
        v.extend_from_slice(MAGIC);
        v.push(FORMAT);
        v.push(self.threshold);
        v.push(self.shares);
        v
    }
}

/// Parses one share; returns its x coordinate and the share.
///
/// # Errors
/// [`Error::InvalidInput`] for anything that is not a well-formed share.
pub(crate) fn parse_share(s: &str) -> Result<(u8, blahaj::Share)> {
    let body = s
        .trim()
        .strip_prefix(SHARE_PREFIX)
        .ok_or_else(|| Error::invalid("unseal share", "not an aunsorm-share-v1 share"))?;
    let raw = Zeroizing::new(
        B64.decode(body)
            .map_err(|_| Error::invalid("unseal share", "not base64url"))?,
    );
    if raw.len() != 1 + UNSEAL_KEY_LEN || raw[0] == 0 {
        return Err(Error::invalid("unseal share", "wrong length"));
    }
    let share = blahaj::Share::try_from(&raw[..])
        .map_err(|_| Error::invalid("unseal share", "does not parse"))?;
    Ok((raw[0], share))
}

/// Random bytes drawn from Aunsorm's DRBG up front (so a failing RNG is an error, not a
/// panic), served to the share dealer through the `rand_core` interface it asks for.
struct DrbgBytes {
    buf: Zeroizing<Vec<u8>>,
    at: usize,
    overdrawn: bool,
}

impl DrbgBytes {
    fn new(len: usize) -> Result<Self> {
        let mut buf = Zeroizing::new(vec![0u8; len]);
        rng::fill(&mut buf).map_err(|_| Error::Entropy)?;
        Ok(DrbgBytes {
            buf,
            at: 0,
            overdrawn: false,
        })
    }
}

impl rand_core::TryRng for DrbgBytes {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Infallible> {
        match self.buf.get(self.at..self.at + dst.len()) {
            Some(src) => {
                dst.copy_from_slice(src);
                self.at += dst.len();
            }
            None => {
                // Never reached with blahaj 0.7 (checked by `protect`); refuse the result.
                self.overdrawn = true;
                dst.fill(0);
            }
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for DrbgBytes {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_k_of_n_shares_unseal_and_fewer_or_wrong_do_not() {
        let root = RootKey::generate().unwrap();
        let (rec, shares) = SharedRoot::protect(&root, 5, 3).unwrap();
        assert_eq!(shares.len(), 5);
        let rec = SharedRoot::decode(&rec.encode()).unwrap();
        let texts: Vec<&str> = shares.iter().map(UnsealShare::expose).collect();
        for a in 0..5 {
            for b in a + 1..5 {
                for c in b + 1..5 {
                    let got = rec.unlock(&[texts[a], texts[b], texts[c]]).unwrap();
                    assert_eq!(got.expose(), root.expose());
                }
            }
        }
        // Two shares, or one share given three times: too few distinct shares.
        assert!(matches!(
            rec.unlock(&texts[..2]),
            Err(Error::InvalidInput { .. })
        ));
        assert!(matches!(
            rec.unlock(&[texts[0], texts[0], texts[0]]),
            Err(Error::InvalidInput { .. })
        ));
        // A share from another init: the rebuilt key is wrong.
        let (_, other) = SharedRoot::protect(&root, 5, 3).unwrap();
        assert!(matches!(
            rec.unlock(&[texts[0], texts[1], other[2].expose()]),
            Err(Error::Unauthorized)
        ));
        // A flipped bit in a share.
        let mut bad = texts[2].to_string();
        let last = bad.pop().unwrap();
        bad.push(if last == 'A' { 'B' } else { 'A' });
        assert!(rec.unlock(&[texts[0], texts[1], &bad]).is_err());
        assert!(rec.unlock(&[texts[0], texts[1], "garbage"]).is_err());
        assert_eq!(format!("{:?}", shares[0]), "UnsealShare([redacted])");
    }

    #[test]
    fn bad_parameters_and_records_are_refused() {
        let root = RootKey::generate().unwrap();
        for (n, k) in [(3, 0), (3, 4), (3, 1), (0, 0)] {
            assert!(SharedRoot::protect(&root, n, k).is_err(), "{n} {k}");
        }
        let (rec, shares) = SharedRoot::protect(&root, 1, 1).unwrap();
        assert_eq!(
            rec.unlock(&[shares[0].expose()]).unwrap().expose(),
            root.expose()
        );
        let enc = rec.encode();
        for i in 0..enc.len() {
            let mut bad = enc.clone();
            bad[i] ^= 1;
            if let Ok(r) = SharedRoot::decode(&bad) {
                assert!(r.unlock(&[shares[0].expose()]).is_err(), "byte {i}");
            }
        }
        assert!(SharedRoot::decode(&enc[..enc.len() - 1]).is_err());
    }
}
