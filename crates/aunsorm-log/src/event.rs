//! What goes in the log: key lifecycle events and audit entries of key operations,
//! one JSON object per entry.

use serde::{Deserialize, Serialize};

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// A change to a key record: the key-transparency part.
    Key(KeyEvent),
    /// An operation with a key: the audit part.
    Op(OpEvent),
}

/// A key lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEvent {
    /// create, import, rotate, config, destroy, delete, resync.
    pub op: String,
    /// The key's name.
    pub key: String,
    /// The version concerned (the new one for create/import/rotate).
    pub version: u32,
    /// Algorithm identifier.
    pub alg: String,
    /// SHA-256 of the version's SPKI (hex), for asymmetric keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The key record's store generation after the change.
    pub generation: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
}

/// An audit entry for one operation with a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpEvent {
    /// sign, verify, encrypt, decrypt, unwrap, decapsulate, ...
    pub op: String,
    /// `name#vN`, or the bare name when the operation failed before a version was chosen.
    pub key: String,
    /// The capability token's id, when the operation came through the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The request id, when the operation came through the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// `ok` or the error code.
    pub result: String,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
}

impl Event {
    /// The entry bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing these plain structs to a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses entry bytes.
    ///
    /// # Errors
    /// [`crate::LogError::InvalidInput`] for bytes that are not an event.
    pub fn parse(bytes: &[u8]) -> crate::Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| crate::LogError::InvalidInput(format!("not a log event: {e}")))
    }
}

/// Milliseconds since the Unix epoch, now.
#[must_use]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
