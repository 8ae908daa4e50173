#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::cast_possible_truncation
    )
)]

mod aead;
mod alg;
mod classic;
mod encoding;
pub mod envelope;
mod error;
#[cfg(feature = "experimental-fn-dsa")]
mod fndsa;
mod hybrid;
mod jwk;
mod kdf;
mod keys;
mod keywrap;
mod mldsa;
mod mlkem;
pub mod rng;
mod secret;
mod slhdsa;

pub use aead::{
    AeadKey, KEY_LEN as AEAD_KEY_LEN, TAG_LEN as AEAD_TAG_LEN, nonce_len as aead_nonce_len,
};
pub use alg::{Algorithm, AlgorithmKind};
pub use error::{Error, Result};
pub use jwk::Jwk;
pub use kdf::{
    HMAC_SHA256_LEN, HashAlgorithm, HmacKey, Sha256, hkdf_sha3_256, hkdf_sha256, sha3_256, sha256,
    sha512,
};
pub use keys::{EcdsaFormat, PrivateKey, PublicKey, RsaPadding, SignOptions};
pub use keywrap::{aes256_kwp_unwrap, aes256_kwp_wrap};
pub use secret::{SecretBytes, SharedSecret};

#[doc(hidden)]
pub mod fuzzing;
