//! The sealed-file format of `aunsorm seal` / `aunsorm open`, version 1: a KEM
//! encapsulation to the recipient, a per-file key from HKDF, and the payload in
//! fixed-size chunks under the STREAM construction (Hoang, Reyhanitabar, Rogaway,
//! Vizár 2015): each chunk's nonce is its index plus a last-chunk flag, so truncation,
//! reordering, duplication and splicing all fail authentication. The byte layout is in
//! `docs/formats.md`. This module does no I/O; the CLI drives it over files.

use crate::{
    AeadKey, Algorithm, Error, PrivateKey, PublicKey, Result, SecretBytes, hkdf_sha256, rng, sha256,
};

/// First eight bytes of every sealed file (PNG-style: catches text-mode mangling).
pub const MAGIC: [u8; 8] = *b"\x89AUNSEAL";
/// Format version written by this code.
pub const VERSION: u8 = 1;
/// Length of the fixed part of the header, before the KEM ciphertext.
pub const FIXED_HEADER_LEN: usize = 8 + 1 + 1 + 1 + 1 + 8 + 32 + 2;
/// Default chunk size: 64 KiB (2^16).
pub const DEFAULT_CHUNK_LOG2: u8 = 16;
/// Allowed chunk sizes: 4 KiB to 16 MiB.
pub const CHUNK_LOG2_RANGE: core::ops::RangeInclusive<u8> = 12..=24;
const KDF_LABEL: &[u8] = b"aunsorm seal v1 payload key";

/// The parsed header of a sealed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealHeader {
    /// The recipient's KEM.
    pub kem: Algorithm,
    /// The payload AEAD.
    pub aead: Algorithm,
    /// log2 of the plaintext chunk size.
    pub chunk_log2: u8,
    /// First 8 bytes of SHA-256 over the recipient's SubjectPublicKeyInfo, so a wrong
    /// key is reported as such rather than as corruption.
    pub recipient: [u8; 8],
    /// Random HKDF salt.
    pub salt: [u8; 32],
    /// The KEM ciphertext.
    pub kem_ciphertext: Vec<u8>,
}

fn kem_code(a: Algorithm) -> Option<u8> {
    Some(match a {
        Algorithm::X25519 => 1,
        Algorithm::MlKem768 => 2,
        Algorithm::MlKem1024 => 3,
        Algorithm::XWingDraft06 => 4,
        _ => return None,
    })
}

fn kem_from_code(c: u8) -> Option<Algorithm> {
    [
        Algorithm::X25519,
        Algorithm::MlKem768,
        Algorithm::MlKem1024,
        Algorithm::XWingDraft06,
    ]
    .into_iter()
    .find(|a| kem_code(*a) == Some(c))
}

fn aead_code(a: Algorithm) -> Option<u8> {
    Some(match a {
        Algorithm::Aes256Gcm => 1,
        Algorithm::ChaCha20Poly1305 => 2,
        _ => return None,
    })
}

impl SealHeader {
    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> usize {
        1usize << self.chunk_log2
    }

    /// Serializes the header.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(FIXED_HEADER_LEN + self.kem_ciphertext.len());
        v.extend_from_slice(&MAGIC);
        v.push(VERSION);
        v.push(kem_code(self.kem).unwrap_or(0));
        v.push(aead_code(self.aead).unwrap_or(0));
        v.push(self.chunk_log2);
        v.extend_from_slice(&self.recipient);
        v.extend_from_slice(&self.salt);
        let len = u16::try_from(self.kem_ciphertext.len()).unwrap_or(u16::MAX);
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(&self.kem_ciphertext);
        v
    }

    /// From the fixed part of a header, the length of the whole header.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if this is not a sealed file or its version, KEM, AEAD or
    /// chunk size is unknown.
    pub fn total_len(fixed: &[u8]) -> Result<usize> {
        Ok(Self::decode_fixed(fixed)?.1 + FIXED_HEADER_LEN)
    }

    fn decode_fixed(b: &[u8]) -> Result<(SealHeader, usize)> {
        if b.len() < FIXED_HEADER_LEN {
            return Err(Error::invalid("sealed file", "truncated header"));
        }
        if b[..8] != MAGIC {
            return Err(Error::invalid(
                "sealed file",
                "not an Aunsorm sealed file (bad magic)",
            ));
        }
        if b[8] != VERSION {
            return Err(Error::invalid(
                "sealed file",
                format!("unsupported format version {}", b[8]),
            ));
        }
        let kem = kem_from_code(b[9]).ok_or(Error::invalid(
            "sealed file",
            format!("unknown KEM code {}", b[9]),
        ))?;
        let aead = match b[10] {
            1 => Algorithm::Aes256Gcm,
            2 => Algorithm::ChaCha20Poly1305,
            c => {
                return Err(Error::invalid(
                    "sealed file",
                    format!("unknown AEAD code {c}"),
                ));
            }
        };
        let chunk_log2 = b[11];
        if !CHUNK_LOG2_RANGE.contains(&chunk_log2) {
            return Err(Error::invalid(
                "sealed file",
                format!("chunk size 2^{chunk_log2} out of range"),
            ));
        }
        let mut recipient = [0u8; 8];
        recipient.copy_from_slice(&b[12..20]);
        let mut salt = [0u8; 32];
        salt.copy_from_slice(&b[20..52]);
        let ct_len = usize::from(u16::from_be_bytes([b[52], b[53]]));
        let expected = kem_ct_len(kem);
        if ct_len != expected {
            return Err(Error::invalid(
                "sealed file",
                format!("KEM ciphertext length {ct_len}, expected {expected} for {kem}"),
            ));
        }
        Ok((
            SealHeader {
                kem,
                aead,
                chunk_log2,
                recipient,
                salt,
                kem_ciphertext: Vec::new(),
            },
            ct_len,
        ))
    }

    /// Parses a complete header; `b` must be exactly [`SealHeader::total_len`] bytes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for anything malformed.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let (mut h, ct_len) = Self::decode_fixed(b)?;
        if b.len() != FIXED_HEADER_LEN + ct_len {
            return Err(Error::invalid("sealed file", "header length mismatch"));
        }
        h.kem_ciphertext = b[FIXED_HEADER_LEN..].to_vec();
        Ok(h)
    }
}

fn kem_ct_len(kem: Algorithm) -> usize {
    match kem {
        Algorithm::X25519 => 32,
        Algorithm::MlKem768 => 1088,
        Algorithm::MlKem1024 => 1568,
        _ => 1120,
    }
}

/// Starts sealing to `recipient`: returns the header bytes to write first and the
/// chunk sealer.
///
/// # Errors
/// [`Error::UnsupportedOperation`] if the recipient's key is not one of the KEMs the
/// format allows (X25519, ML-KEM-768, ML-KEM-1024, X-Wing) or `aead` is not AES-256-GCM
/// or ChaCha20-Poly1305; [`Error::InvalidInput`] for a chunk size out of range.
pub fn seal_start(
    recipient: &PublicKey,
    aead: Algorithm,
    chunk_log2: u8,
) -> Result<(Vec<u8>, StreamSealer)> {
    let kem = recipient.algorithm();
    if kem_code(kem).is_none() {
        return Err(Error::unsupported(
            kem,
            "file sealing (use x25519, ml-kem-768, ml-kem-1024 or x-wing)",
        ));
    }
    if aead_code(aead).is_none() {
        return Err(Error::unsupported(
            aead,
            "file sealing (use aes-256-gcm or chacha20-poly1305)",
        ));
    }
    if !CHUNK_LOG2_RANGE.contains(&chunk_log2) {
        return Err(Error::invalid(
            "chunk size",
            format!("2^{chunk_log2} out of range"),
        ));
    }
    let (ct, ss) = recipient.encapsulate()?;
    let fp = recipient.fingerprint()?;
    let mut recipient_id = [0u8; 8];
    recipient_id.copy_from_slice(&fp[..8]);
    let header = SealHeader {
        kem,
        aead,
        chunk_log2,
        recipient: recipient_id,
        salt: rng::array()?,
        kem_ciphertext: ct,
    };
    let bytes = header.encode();
    let key = payload_key(&ss, &header, &bytes)?;
    Ok((bytes, StreamSealer(Stream::new(key, header.chunk_size()))))
}

/// Starts opening a sealed file with its header already parsed.
///
/// # Errors
/// [`Error::InvalidInput`] if `key` is not the recipient the file was sealed to
/// (different algorithm or fingerprint).
pub fn open_start(key: &PrivateKey, header_bytes: &[u8]) -> Result<StreamOpener> {
    let header = SealHeader::decode(header_bytes)?;
    if key.algorithm() != header.kem {
        return Err(Error::AlgorithmMismatch {
            expected: header.kem,
            found: key.algorithm(),
        });
    }
    let fp = key.public_key().fingerprint()?;
    if fp[..8] != header.recipient {
        return Err(Error::invalid("sealed file", "sealed to a different key"));
    }
    let ss = key.decapsulate(&header.kem_ciphertext)?;
    let k = payload_key(&ss, &header, header_bytes)?;
    Ok(StreamOpener(Stream::new(k, header.chunk_size())))
}

fn payload_key(ss: &SecretBytes, header: &SealHeader, header_bytes: &[u8]) -> Result<AeadKey> {
    // The whole header is bound into the key: changing any byte of it changes the key
    // and the first chunk fails to open.
    let mut info = KDF_LABEL.to_vec();
    info.extend_from_slice(&sha256(header_bytes));
    let okm = hkdf_sha256(ss.expose(), &header.salt, &info, 32)?;
    AeadKey::new(header.aead, okm.expose())
}

struct Stream {
    key: AeadKey,
    chunk_size: usize,
    counter: u64,
    finished: bool,
}

impl Stream {
    fn new(key: AeadKey, chunk_size: usize) -> Self {
        Stream {
            key,
            chunk_size,
            counter: 0,
            finished: false,
        }
    }

    /// nonce = 88-bit big-endian chunk counter || last-chunk flag byte.
    fn next_nonce(&mut self, last: bool) -> Result<[u8; 12]> {
        if self.finished {
            return Err(Error::invalid("sealed file", "data after the final chunk"));
        }
        let mut n = [0u8; 12];
        n[3..11].copy_from_slice(&self.counter.to_be_bytes());
        n[11] = u8::from(last);
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or(Error::invalid("sealed file", "too many chunks"))?;
        self.finished = last;
        Ok(n)
    }
}

/// Encrypts a file chunk by chunk.
pub struct StreamSealer(Stream);

impl StreamSealer {
    /// Plaintext bytes per chunk; every chunk but the last must be exactly this long.
    pub fn chunk_size(&self) -> usize {
        self.0.chunk_size
    }

    /// Encrypts one chunk in place (appending the tag). The last chunk, which may be
    /// shorter (or empty for an empty file), must have `last` set.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a non-final chunk of the wrong size or a chunk after
    /// the final one.
    pub fn seal_chunk(&mut self, buf: &mut Vec<u8>, last: bool) -> Result<()> {
        if buf.len() > self.0.chunk_size || (!last && buf.len() != self.0.chunk_size) {
            return Err(Error::invalid("chunk", "wrong chunk length"));
        }
        let n = self.0.next_nonce(last)?;
        self.0.key.seal_in_place(&n, &[], buf)
    }
}

/// Decrypts a file chunk by chunk.
pub struct StreamOpener(Stream);

impl StreamOpener {
    /// Ciphertext bytes per full chunk (chunk size plus tag).
    pub fn sealed_chunk_size(&self) -> usize {
        self.0.chunk_size + crate::AEAD_TAG_LEN
    }

    /// Decrypts one chunk in place. `last` must be set for the chunk that ends the
    /// file; a file cut at a chunk boundary therefore fails here.
    ///
    /// # Errors
    /// [`Error::DecryptionFailed`] if the chunk was modified, moved, or is not the
    /// final chunk when `last` says so (truncation).
    pub fn open_chunk(&mut self, buf: &mut Vec<u8>, last: bool) -> Result<()> {
        if buf.len() > self.sealed_chunk_size() || (!last && buf.len() != self.sealed_chunk_size())
        {
            return Err(Error::DecryptionFailed);
        }
        let n = self.0.next_nonce(last)?;
        self.0.key.open_in_place(&n, &[], buf)
    }

    /// Whether the final chunk has been opened.
    pub fn is_finished(&self) -> bool {
        self.0.finished
    }
}

/// Seals a whole buffer (for tests and small inputs).
///
/// # Errors
/// As [`seal_start`].
pub fn seal_to_vec(
    recipient: &PublicKey,
    aead: Algorithm,
    chunk_log2: u8,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let (mut out, mut s) = seal_start(recipient, aead, chunk_log2)?;
    let cs = s.chunk_size();
    let mut chunks = plaintext.chunks(cs).peekable();
    if chunks.peek().is_none() {
        let mut b = Vec::new();
        s.seal_chunk(&mut b, true)?;
        out.extend_from_slice(&b);
    }
    while let Some(c) = chunks.next() {
        let mut b = c.to_vec();
        s.seal_chunk(&mut b, chunks.peek().is_none())?;
        out.extend_from_slice(&b);
    }
    Ok(out)
}

/// Opens a whole sealed buffer (for tests and small inputs).
///
/// # Errors
/// [`Error::InvalidInput`] for a malformed header, [`Error::DecryptionFailed`] for any
/// modified, truncated or reordered payload.
pub fn open_to_vec(key: &PrivateKey, sealed: &[u8]) -> Result<SecretBytes> {
    let hl = SealHeader::total_len(sealed)?;
    if sealed.len() < hl {
        return Err(Error::invalid("sealed file", "truncated header"));
    }
    let mut o = open_start(key, &sealed[..hl])?;
    let body = &sealed[hl..];
    let scs = o.sealed_chunk_size();
    let mut out = Vec::with_capacity(body.len());
    let mut chunks = body.chunks(scs).peekable();
    if chunks.peek().is_none() {
        return Err(Error::DecryptionFailed);
    }
    while let Some(c) = chunks.next() {
        let mut b = c.to_vec();
        o.open_chunk(&mut b, chunks.peek().is_none())?;
        out.extend_from_slice(&b);
    }
    Ok(SecretBytes::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_kem_and_size() {
        for kem in [
            Algorithm::X25519,
            Algorithm::MlKem768,
            Algorithm::MlKem1024,
            Algorithm::XWingDraft06,
        ] {
            let k = PrivateKey::generate(kem).unwrap();
            for len in [0usize, 1, 4095, 4096, 4097, 3 * 4096] {
                let pt: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
                let s = seal_to_vec(&k.public_key(), Algorithm::Aes256Gcm, 12, &pt).unwrap();
                assert_eq!(
                    open_to_vec(&k, &s).unwrap().expose(),
                    &pt[..],
                    "{kem} {len}"
                );
            }
        }
    }

    #[test]
    fn tampering_truncation_reordering_are_detected() {
        let k = PrivateKey::generate(Algorithm::XWingDraft06).unwrap();
        let pt = vec![7u8; 3 * 4096 + 10];
        let s = seal_to_vec(&k.public_key(), Algorithm::ChaCha20Poly1305, 12, &pt).unwrap();
        let hl = SealHeader::total_len(&s).unwrap();
        let scs = 4096 + 16;
        // Truncated at a chunk boundary.
        assert_eq!(
            open_to_vec(&k, &s[..hl + 2 * scs]).unwrap_err(),
            Error::DecryptionFailed
        );
        // Last chunk dropped partially.
        assert_eq!(
            open_to_vec(&k, &s[..s.len() - 1]).unwrap_err(),
            Error::DecryptionFailed
        );
        // Chunks 0 and 1 swapped.
        let mut r = s.clone();
        let (a, b) = (s[hl..hl + scs].to_vec(), s[hl + scs..hl + 2 * scs].to_vec());
        r[hl..hl + scs].copy_from_slice(&b);
        r[hl + scs..hl + 2 * scs].copy_from_slice(&a);
        assert_eq!(open_to_vec(&k, &r).unwrap_err(), Error::DecryptionFailed);
        // Appended garbage.
        let mut g = s.clone();
        g.extend_from_slice(&[0u8; 20]);
        assert!(open_to_vec(&k, &g).is_err());
        // Every header byte matters.
        for i in [0, 8, 9, 10, 11, 12, 20, 52, 60, hl - 1] {
            let mut h = s.clone();
            h[i] ^= 0x01;
            assert!(open_to_vec(&k, &h).is_err(), "header byte {i}");
        }
        // A different key of the same algorithm is named as such.
        let other = PrivateKey::generate(Algorithm::XWingDraft06).unwrap();
        assert!(matches!(
            open_to_vec(&other, &s),
            Err(Error::InvalidInput { .. })
        ));
    }
}
