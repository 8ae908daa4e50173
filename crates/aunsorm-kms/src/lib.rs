#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod kms;
mod name;
mod root;
pub mod sealed;
mod shares;
mod state;
mod versioned;

pub use error::{Error, Result};
pub use kms::{
    ATTESTATION_CONTEXT, Attestation, Audited, BatchItem, CACHE_CAPACITY, Caller, KeyConfig,
    KeyInfo, KeyOptions, Kms, RESERVED_TENANT, RollbackFinding, RootMode, Status, UnsealProgress,
    VersionInfo, WrappingKeyAlg, default_purpose, deferred, global_metrics_installed, with_caller,
};
pub use name::{KeyName, KeyRef, MAX_NAME_LEN, MAX_SEGMENT_LEN};
pub use root::{PassphraseParams, ProtectedRoot, ROOT_KEY_LEN, RootKey};
pub use shares::{SharedRoot, UnsealShare};
pub use state::{Policy, Purpose, VersionState};
pub use versioned::Versioned;

#[doc(hidden)]
pub mod fuzzing {
    //! Entry points for the fuzz targets.

    /// Sealed-record headers and records, opened with a fixed root.
    pub fn sealed_record(data: &[u8]) {
        let _ = crate::sealed::Header::decode(data);
        if let Ok(root) = crate::RootKey::from_bytes(&[7u8; 32]) {
            let _ = crate::sealed::open(&root, data);
        }
    }

    /// Versioned outputs (`aunsorm:vN:<base64>` text and the binary envelope): every
    /// parse that succeeds must print back to an equal value.
    pub fn ciphertext_envelope(data: &[u8]) {
        if let Ok(v) = crate::Versioned::from_envelope(data) {
            assert_eq!(
                crate::Versioned::from_envelope(&v.to_envelope()).ok(),
                Some(v)
            );
        }
        if let Some(v) = core::str::from_utf8(data)
            .ok()
            .and_then(|s| s.parse::<crate::Versioned>().ok())
        {
            assert_eq!(v.to_string().parse::<crate::Versioned>().ok(), Some(v));
        }
    }

    /// Unseal shares and the share-protected root record.
    pub fn unseal_share(data: &[u8]) {
        if let Ok(s) = core::str::from_utf8(data) {
            let _ = crate::shares::parse_share(s);
        }
        if let Ok(rec) = crate::SharedRoot::decode(data) {
            let _ = rec.unlock(&["aunsorm-share-v1:AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]);
        }
    }

    /// Key names and references.
    pub fn key_ref(data: &[u8]) {
        if let Ok(s) = core::str::from_utf8(data) {
            let _ = s.parse::<crate::KeyRef>();
        }
    }
}
