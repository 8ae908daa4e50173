//! C2SP signed notes: a text, a blank line, and signature lines
//! `— <key name> <base64(key ID || signature)>`.
//!
//! Two signature types: Ed25519 (type 0x01, as the spec defines it) and ML-DSA-44
//! (type 0xa4, Aunsorm's **provisional** identifier: C2SP is moving checkpoint
//! cosignatures toward ML-DSA-44 but has not assigned a type yet; this one will change
//! to the assigned value, and verifier keys with it).

use crate::{LogError, Result};
use aunsorm_crypto::{Algorithm, PrivateKey, PublicKey, SignOptions, sha256};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::sync::Arc;

/// Signature type byte of Ed25519 in C2SP signed-note.
pub const TYPE_ED25519: u8 = 0x01;
/// Provisional signature type byte of ML-DSA-44 (see the module docs).
pub const TYPE_ML_DSA_44_PROVISIONAL: u8 = 0xa4;

/// Longest note accepted, in bytes (a checkpoint with two signatures is ~3.5 KiB).
pub const MAX_NOTE_LEN: usize = 64 * 1024;
/// Most signature lines accepted on one note.
pub const MAX_SIGNATURES: usize = 16;

const DASH: &str = "\u{2014} ";

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer's key name.
    pub name: String,
    /// The first four bytes of SHA-256(name || "\n" || type || public key).
    pub key_id: [u8; 4],
    /// The signature bytes.
    pub signature: Vec<u8>,
}

/// A parsed signed note, signatures not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    /// The signed text, ending with a newline.
    pub text: String,
    /// Its signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// Parses a signed note.
    ///
    /// # Errors
    /// [`LogError::InvalidInput`] for anything that is not a well-formed signed note.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_NOTE_LEN {
            return Err(bad("note longer than 64 KiB"));
        }
        let s = std::str::from_utf8(bytes).map_err(|_| bad("note is not UTF-8"))?;
        if s.chars().any(|c| c.is_control() && c != '\n') {
            return Err(bad("note contains control characters"));
        }
        let split = s
            .rfind("\n\n")
            .ok_or_else(|| bad("note has no signature block"))?;
        let text = &s[..=split];
        let sigs = &s[split + 2..];
        if text.len() <= 1 || !sigs.ends_with('\n') {
            return Err(bad("malformed note"));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(bad("too many signatures"));
            }
            let rest = line
                .strip_prefix(DASH)
                .ok_or_else(|| bad("signature line does not start with an em dash"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| bad("signature line has no signature"))?;
            check_key_name(name)?;
            let raw = B64
                .decode(b64)
                .map_err(|_| bad("signature is not base64"))?;
            if raw.len() < 5 {
                return Err(bad("signature too short"));
            }
            let mut key_id = [0u8; 4];
            key_id.copy_from_slice(&raw[..4]);
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id,
                signature: raw[4..].to_vec(),
            });
        }
        Ok(SignedNote {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note as bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            let mut raw = s.key_id.to_vec();
            raw.extend_from_slice(&s.signature);
            out.push_str(DASH);
            out.push_str(&s.name);
            out.push(' ');
            out.push_str(&B64.encode(raw));
            out.push('\n');
        }
        out.into_bytes()
    }

    /// Checks that every verifier in `required` has a valid signature on the note.
    /// Signatures by other keys are ignored, as the spec says.
    ///
    /// # Errors
    /// [`LogError::InvalidSignature`] naming the first key without a valid signature.
    pub fn verify_all(&self, required: &[NoteVerifier]) -> Result<()> {
        if required.is_empty() {
            return Err(bad("no verifier keys given"));
        }
        for v in required {
            let ok = self.signatures.iter().any(|s| {
                s.name == v.name
                    && s.key_id == v.key_id
                    && v.verify(self.text.as_bytes(), &s.signature)
            });
            if !ok {
                return Err(LogError::InvalidSignature(v.name.clone()));
            }
        }
        Ok(())
    }
}

/// A public key that checks note signatures, in the text form
/// `<name>+<hex key ID>+<base64(type || public key)>`.
#[derive(Debug, Clone)]
pub struct NoteVerifier {
    name: String,
    key_id: [u8; 4],
    key: PublicKey,
    type_byte: u8,
}

impl NoteVerifier {
    /// The verifier of `key` (Ed25519 or ML-DSA-44) under `name`.
    ///
    /// # Errors
    /// [`LogError::InvalidInput`] for a bad name or another algorithm.
    pub fn new(name: &str, key: PublicKey) -> Result<Self> {
        check_key_name(name)?;
        let type_byte = type_of(key.algorithm())?;
        let key_id = key_id(name, type_byte, &key.to_raw());
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id,
            key,
            type_byte,
        })
    }

    /// Parses the text form.
    ///
    /// # Errors
    /// [`LogError::InvalidInput`] if it is malformed, of an unknown type, or its key ID
    /// does not match its key.
    pub fn parse(text: &str) -> Result<Self> {
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("verifier key is not name+id+key"));
        };
        check_key_name(name)?;
        let id = hex::decode(id).map_err(|_| bad("verifier key ID is not hex"))?;
        let raw = B64
            .decode(key)
            .map_err(|_| bad("verifier key is not base64"))?;
        let (&t, pk) = raw.split_first().ok_or_else(|| bad("empty verifier key"))?;
        let alg = match t {
            TYPE_ED25519 => Algorithm::Ed25519,
            TYPE_ML_DSA_44_PROVISIONAL => Algorithm::MlDsa44,
            _ => return Err(bad("unknown verifier key type")),
        };
        let key = PublicKey::from_raw(alg, pk).map_err(|_| bad("invalid verifier public key"))?;
        let v = NoteVerifier::new(name, key)?;
        if id != v.key_id {
            return Err(bad("verifier key ID does not match the key"));
        }
        Ok(v)
    }

    /// The text form.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut raw = vec![self.type_byte];
        raw.extend_from_slice(&self.key.to_raw());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            B64.encode(raw)
        )
    }

    /// The key's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.key.verify(msg, sig, &SignOptions::new()).is_ok()
    }
}

/// Signs notes with a private key held in memory (the KMS holds and seals it).
pub struct NoteSigner {
    name: String,
    key_id: [u8; 4],
    key: Arc<PrivateKey>,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({})", self.name)
    }
}

impl NoteSigner {
    /// A signer for `key` (Ed25519 or ML-DSA-44) under `name`.
    ///
    /// # Errors
    /// [`LogError::InvalidInput`] for a bad name or another algorithm.
    pub fn new(name: &str, key: Arc<PrivateKey>) -> Result<Self> {
        check_key_name(name)?;
        let t = type_of(key.algorithm())?;
        let key_id = key_id(name, t, &key.public_key().to_raw());
        Ok(NoteSigner {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// The matching verifier.
    #[must_use]
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            type_byte: type_of(self.key.algorithm()).unwrap_or(TYPE_ED25519),
            key: self.key.public_key(),
        }
    }

    /// A signature line for `text`.
    ///
    /// # Errors
    /// [`LogError::Crypto`] if signing fails.
    pub fn sign(&self, text: &str) -> Result<NoteSignature> {
        let signature = self
            .key
            .sign(text.as_bytes(), &SignOptions::new())
            .map_err(|_| LogError::Crypto)?;
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature,
        })
    }
}

fn type_of(alg: Algorithm) -> Result<u8> {
    match alg {
        Algorithm::Ed25519 => Ok(TYPE_ED25519),
        Algorithm::MlDsa44 => Ok(TYPE_ML_DSA_44_PROVISIONAL),
        _ => Err(bad("note keys are Ed25519 or ML-DSA-44")),
    }
}

fn key_id(name: &str, type_byte: u8, public: &[u8]) -> [u8; 4] {
    let mut buf = Vec::with_capacity(name.len() + 2 + public.len());
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'\n');
    buf.push(type_byte);
    buf.extend_from_slice(public);
    let h = sha256(&buf);
    [h[0], h[1], h[2], h[3]]
}

fn check_key_name(name: &str) -> Result<()> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(bad("key name is empty or has whitespace or '+'"));
    }
    Ok(())
}

fn bad(why: &str) -> LogError {
    LogError::InvalidInput(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Ed25519 example of C2SP signed-note / golang.org/x/mod/sumdb/note: the
    /// verifier key `PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`
    /// and its signature on the text "If you think cryptography is the answer to your
    /// problem,\nthen you don't know what your problem is.\n".
    #[test]
    fn spec_example_verifies() {
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let note = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n\
                    \n\
                    \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let v = NoteVerifier::parse(vkey).unwrap();
        assert_eq!(v.encode(), vkey);
        let n = SignedNote::parse(note.as_bytes()).unwrap();
        n.verify_all(&[v]).unwrap();
        assert_eq!(n.to_bytes(), note.as_bytes());
        let mut tampered = n.clone();
        tampered.text = tampered.text.replace("cryptography", "Cryptography");
        assert!(
            tampered
                .verify_all(&[NoteVerifier::parse(vkey).unwrap()])
                .is_err()
        );
    }

    #[test]
    fn sign_and_verify_both_types() {
        let ed = NoteSigner::new(
            "log.example",
            Arc::new(PrivateKey::generate(Algorithm::Ed25519).unwrap()),
        )
        .unwrap();
        let pq = NoteSigner::new(
            "log.example",
            Arc::new(PrivateKey::generate(Algorithm::MlDsa44).unwrap()),
        )
        .unwrap();
        let text = "hello\n".to_owned();
        let n = SignedNote {
            signatures: vec![ed.sign(&text).unwrap(), pq.sign(&text).unwrap()],
            text,
        };
        let parsed = SignedNote::parse(&n.to_bytes()).unwrap();
        let vs: Vec<NoteVerifier> = [ed.verifier(), pq.verifier()]
            .iter()
            .map(|v| NoteVerifier::parse(&v.encode()).unwrap())
            .collect();
        parsed.verify_all(&vs).unwrap();
        // Only the Ed25519 signature: the ML-DSA verifier is unsatisfied.
        let mut one = parsed.clone();
        one.signatures.truncate(1);
        assert!(matches!(
            one.verify_all(&vs),
            Err(LogError::InvalidSignature(_))
        ));
    }

    #[test]
    fn malformed_notes_are_typed_errors() {
        for bad in [
            &b""[..],
            b"no signature block\n",
            b"text\n\n",
            b"text\n\nnot a dash line\n",
            b"text\n\n\xe2\x80\x94 name !!!\n",
            b"text\n\n\xe2\x80\x94 name AAAA\n",
            b"text\n\n\xe2\x80\x94 na+me AAAAAAAA\n",
            b"te\x01xt\n\n\xe2\x80\x94 name AAAAAAAA\n",
            b"\xff\n\n\xe2\x80\x94 name AAAAAAAA\n",
        ] {
            assert!(
                matches!(SignedNote::parse(bad), Err(LogError::InvalidInput(_))),
                "{bad:?}"
            );
        }
        for bad in ["", "a+b", "a+zz+AQ==", "a+00000000+AQ==", "a+00000000+BxIj"] {
            assert!(NoteVerifier::parse(bad).is_err(), "{bad}");
        }
    }
}
