//! The one list of algorithms, with their stable identifiers.

use crate::{Error, Result};
use core::fmt;
use core::str::FromStr;

/// What an algorithm does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AlgorithmKind {
    /// Authenticated encryption with associated data (symmetric).
    Aead,
    /// Message authentication code (symmetric).
    Mac,
    /// Digital signature.
    Signature,
    /// Key encapsulation (public key encryption of a shared secret).
    Kem,
    /// RSA: signatures (PSS, PKCS#1 v1.5) and encryption (OAEP).
    Rsa,
}

macro_rules! algorithms {
    ($( $(#[$m:meta])* $v:ident = $id:literal ),* $(,)?) => {
        /// Every algorithm Aunsorm knows, named by its stable identifier (see
        /// [`Algorithm::id`]). The identifiers are part of the product's interface: they
        /// appear in the API, the CLI, the store and the logs, and never change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Algorithm {
            $( $(#[$m])* $v, )*
        }

        impl Algorithm {
            /// Every algorithm, in a stable order (including those whose feature is off).
            pub const ALL: &'static [Algorithm] = &[ $( Algorithm::$v, )* ];

            /// The stable identifier, e.g. `ml-kem-768`.
            pub const fn id(self) -> &'static str {
                match self { $( Algorithm::$v => $id, )* }
            }
        }

        impl FromStr for Algorithm {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s { $( $id => Ok(Algorithm::$v), )* _ => Err(Error::UnknownAlgorithm(s.chars().take(64).collect())) }
            }
        }
    };
}

algorithms! {
    /// AES-256-GCM, 96-bit nonce, 128-bit tag.
    Aes256Gcm = "aes-256-gcm",
    /// ChaCha20-Poly1305 (RFC 8439).
    ChaCha20Poly1305 = "chacha20-poly1305",
    /// XChaCha20-Poly1305 (192-bit nonce).
    XChaCha20Poly1305 = "xchacha20-poly1305",
    /// HMAC-SHA-256.
    HmacSha256 = "hmac-sha256",
    /// Ed25519 (RFC 8032, pure).
    Ed25519 = "ed25519",
    /// ECDSA over P-256 with SHA-256.
    EcdsaP256 = "ecdsa-p256",
    /// ECDSA over P-384 with SHA-384.
    EcdsaP384 = "ecdsa-p384",
    /// RSA 2048-bit (PSS or PKCS#1 v1.5 signatures with SHA-256, OAEP-SHA-256).
    Rsa2048 = "rsa-2048",
    /// RSA 3072-bit.
    Rsa3072 = "rsa-3072",
    /// RSA 4096-bit.
    Rsa4096 = "rsa-4096",
    /// X25519, as a KEM (DHKEM(X25519, HKDF-SHA256), RFC 9180) and for key agreement.
    X25519 = "x25519",
    /// ML-KEM-512 (FIPS 203).
    MlKem512 = "ml-kem-512",
    /// ML-KEM-768 (FIPS 203).
    MlKem768 = "ml-kem-768",
    /// ML-KEM-1024 (FIPS 203).
    MlKem1024 = "ml-kem-1024",
    /// ML-DSA-44 (FIPS 204).
    MlDsa44 = "ml-dsa-44",
    /// ML-DSA-65 (FIPS 204).
    MlDsa65 = "ml-dsa-65",
    /// ML-DSA-87 (FIPS 204).
    MlDsa87 = "ml-dsa-87",
    /// SLH-DSA-SHA2-128s (FIPS 205).
    SlhDsaSha2_128s = "slh-dsa-sha2-128s",
    /// SLH-DSA-SHA2-128f (FIPS 205).
    SlhDsaSha2_128f = "slh-dsa-sha2-128f",
    /// SLH-DSA-SHA2-192s (FIPS 205).
    SlhDsaSha2_192s = "slh-dsa-sha2-192s",
    /// SLH-DSA-SHA2-192f (FIPS 205).
    SlhDsaSha2_192f = "slh-dsa-sha2-192f",
    /// SLH-DSA-SHA2-256s (FIPS 205).
    SlhDsaSha2_256s = "slh-dsa-sha2-256s",
    /// SLH-DSA-SHA2-256f (FIPS 205).
    SlhDsaSha2_256f = "slh-dsa-sha2-256f",
    /// SLH-DSA-SHAKE-128s (FIPS 205).
    SlhDsaShake128s = "slh-dsa-shake-128s",
    /// SLH-DSA-SHAKE-128f (FIPS 205).
    SlhDsaShake128f = "slh-dsa-shake-128f",
    /// SLH-DSA-SHAKE-192s (FIPS 205).
    SlhDsaShake192s = "slh-dsa-shake-192s",
    /// SLH-DSA-SHAKE-192f (FIPS 205).
    SlhDsaShake192f = "slh-dsa-shake-192f",
    /// SLH-DSA-SHAKE-256s (FIPS 205).
    SlhDsaShake256s = "slh-dsa-shake-256s",
    /// SLH-DSA-SHAKE-256f (FIPS 205).
    SlhDsaShake256f = "slh-dsa-shake-256f",
    /// X-Wing: X25519 + ML-KEM-768 hybrid KEM, draft-connolly-cfrg-xwing-kem-06.
    XWingDraft06 = "x-wing",
    /// Composite ML-DSA-65 + Ed25519 (id-MLDSA65-Ed25519-SHA512),
    /// draft-ietf-lamps-pq-composite-sigs-13.
    MlDsa65Ed25519Draft13 = "ml-dsa-65+ed25519",
    /// FN-DSA-512 (FIPS 206 draft). Experimental; needs the `experimental-fn-dsa` feature.
    FnDsa512 = "fn-dsa-512",
    /// FN-DSA-1024 (FIPS 206 draft). Experimental; needs the `experimental-fn-dsa` feature.
    FnDsa1024 = "fn-dsa-1024",
}

impl Algorithm {
    /// What the algorithm does.
    pub const fn kind(self) -> AlgorithmKind {
        use Algorithm::*;
        match self {
            Aes256Gcm | ChaCha20Poly1305 | XChaCha20Poly1305 => AlgorithmKind::Aead,
            HmacSha256 => AlgorithmKind::Mac,
            X25519 | MlKem512 | MlKem768 | MlKem1024 | XWingDraft06 => AlgorithmKind::Kem,
            Rsa2048 | Rsa3072 | Rsa4096 => AlgorithmKind::Rsa,
            Ed25519
            | EcdsaP256
            | EcdsaP384
            | MlDsa44
            | MlDsa65
            | MlDsa87
            | SlhDsaSha2_128s
            | SlhDsaSha2_128f
            | SlhDsaSha2_192s
            | SlhDsaSha2_192f
            | SlhDsaSha2_256s
            | SlhDsaSha2_256f
            | SlhDsaShake128s
            | SlhDsaShake128f
            | SlhDsaShake192s
            | SlhDsaShake192f
            | SlhDsaShake256s
            | SlhDsaShake256f
            | MlDsa65Ed25519Draft13
            | FnDsa512
            | FnDsa1024 => AlgorithmKind::Signature,
        }
    }

    /// Whether keys of this algorithm are symmetric secrets.
    pub const fn is_symmetric(self) -> bool {
        matches!(self.kind(), AlgorithmKind::Aead | AlgorithmKind::Mac)
    }

    /// Whether one private-key operation (a signature, an RSA decryption) takes
    /// milliseconds rather than microseconds: RSA and SLH-DSA. A server runs those off
    /// its async threads, where they would hold up every other request of the thread.
    pub const fn is_slow_private_op(self) -> bool {
        use Algorithm::*;
        matches!(
            self,
            Rsa2048
                | Rsa3072
                | Rsa4096
                | SlhDsaSha2_128s
                | SlhDsaSha2_128f
                | SlhDsaSha2_192s
                | SlhDsaSha2_192f
                | SlhDsaSha2_256s
                | SlhDsaSha2_256f
                | SlhDsaShake128s
                | SlhDsaShake128f
                | SlhDsaShake192s
                | SlhDsaShake192f
                | SlhDsaShake256s
                | SlhDsaShake256f
        )
    }

    /// Whether the algorithm can sign.
    pub const fn can_sign(self) -> bool {
        matches!(self.kind(), AlgorithmKind::Signature | AlgorithmKind::Rsa)
    }

    /// Whether the algorithm is a KEM.
    pub const fn can_encapsulate(self) -> bool {
        matches!(self.kind(), AlgorithmKind::Kem)
    }

    /// Whether the algorithm resists a quantum adversary, fully or as part of a hybrid.
    pub const fn is_post_quantum(self) -> bool {
        use Algorithm::*;
        matches!(
            self,
            MlKem512
                | MlKem768
                | MlKem1024
                | MlDsa44
                | MlDsa65
                | MlDsa87
                | XWingDraft06
                | MlDsa65Ed25519Draft13
                | FnDsa512
                | FnDsa1024
        ) || self.is_slh_dsa()
    }

    /// Whether the algorithm is a hybrid of a classical and a post-quantum algorithm.
    pub const fn is_hybrid(self) -> bool {
        matches!(
            self,
            Algorithm::XWingDraft06 | Algorithm::MlDsa65Ed25519Draft13
        )
    }

    /// Whether the algorithm implements a draft or otherwise unfinished specification.
    pub const fn is_draft(self) -> bool {
        matches!(
            self,
            Algorithm::XWingDraft06
                | Algorithm::MlDsa65Ed25519Draft13
                | Algorithm::FnDsa512
                | Algorithm::FnDsa1024
        )
    }

    /// Whether this build can use the algorithm.
    pub const fn is_available(self) -> bool {
        !matches!(self, Algorithm::FnDsa512 | Algorithm::FnDsa1024)
            || cfg!(feature = "experimental-fn-dsa")
    }

    /// Whether this is one of the twelve SLH-DSA parameter sets.
    pub const fn is_slh_dsa(self) -> bool {
        use Algorithm::*;
        matches!(
            self,
            SlhDsaSha2_128s
                | SlhDsaSha2_128f
                | SlhDsaSha2_192s
                | SlhDsaSha2_192f
                | SlhDsaSha2_256s
                | SlhDsaSha2_256f
                | SlhDsaShake128s
                | SlhDsaShake128f
                | SlhDsaShake192s
                | SlhDsaShake192f
                | SlhDsaShake256s
                | SlhDsaShake256f
        )
    }

    /// Whether the algorithm accepts a signing context string (FIPS 204/205, composite).
    pub const fn supports_context(self) -> bool {
        matches!(
            self,
            Algorithm::MlDsa44
                | Algorithm::MlDsa65
                | Algorithm::MlDsa87
                | Algorithm::MlDsa65Ed25519Draft13
                | Algorithm::FnDsa512
                | Algorithm::FnDsa1024
        ) || self.is_slh_dsa()
    }

    /// Length in bytes of the seed that [`crate::PrivateKey::from_seed`] takes, or of
    /// the key for symmetric algorithms. `None` where no standard seed exists (RSA).
    pub const fn seed_len(self) -> Option<usize> {
        use Algorithm::*;
        Some(match self {
            Aes256Gcm | ChaCha20Poly1305 | XChaCha20Poly1305 | HmacSha256 => 32,
            Ed25519 | X25519 | MlDsa44 | MlDsa65 | MlDsa87 | XWingDraft06 => 32,
            EcdsaP256 => 32,
            EcdsaP384 => 48,
            MlKem512 | MlKem768 | MlKem1024 => 64,
            // ML-DSA-65 seed || Ed25519 seed
            MlDsa65Ed25519Draft13 => 64,
            SlhDsaSha2_128s | SlhDsaSha2_128f | SlhDsaShake128s | SlhDsaShake128f => 48,
            SlhDsaSha2_192s | SlhDsaSha2_192f | SlhDsaShake192s | SlhDsaShake192f => 72,
            SlhDsaSha2_256s | SlhDsaSha2_256f | SlhDsaShake256s | SlhDsaShake256f => 96,
            FnDsa512 | FnDsa1024 => 32,
            Rsa2048 | Rsa3072 | Rsa4096 => return None,
        })
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &a in Algorithm::ALL {
            assert!(seen.insert(a.id()), "duplicate id {}", a.id());
            assert_eq!(a.id().parse::<Algorithm>().unwrap(), a);
        }
        assert_eq!(seen.len(), 33);
    }

    #[test]
    fn unknown_identifier_is_a_typed_error() {
        assert!(matches!(
            "ml-kem-999".parse::<Algorithm>(),
            Err(Error::UnknownAlgorithm(s)) if s == "ml-kem-999"
        ));
    }
}
