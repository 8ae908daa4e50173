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

/// Room for a typical entry (an operation's is 150 to 200 bytes), so that writing it
/// does not grow the buffer two or three times.
const ENTRY_CAPACITY: usize = 256;

impl Event {
    /// The entry bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENTRY_CAPACITY);
        // Serializing these plain structs to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, self);
        out
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

/// An [`OpEvent`] borrowed from its caller: [`crate::Log::submit_op`] writes the same
/// entry bytes as for the `Event::Op` of the same fields (a test checks), without the
/// five owned strings of an `OpEvent` made for each operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OpRecord<'a> {
    /// As [`OpEvent::op`].
    pub op: &'a str,
    /// As [`OpEvent::key`].
    pub key: &'a str,
    /// As [`OpEvent::token`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<&'a str>,
    /// As [`OpEvent::request`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<&'a str>,
    /// As [`OpEvent::result`].
    pub result: &'a str,
    /// As [`OpEvent::time_ms`].
    pub time_ms: u64,
}

/// [`Event`]'s tagging over a borrowed operation.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum RecordRef<'a> {
    Op(OpRecord<'a>),
}

impl OpRecord<'_> {
    /// The entry bytes: those of the `Event::Op` with the same fields.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENTRY_CAPACITY);
        // Serializing strings and a number to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &RecordRef::Op(*self));
        out
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    /// A borrowed record writes exactly the bytes of the `Event::Op` with the same
    /// fields, with and without its optional fields, and with strings that JSON must
    /// escape; and those bytes parse back to that event.
    #[test]
    fn an_op_record_is_byte_for_byte_its_event() {
        let odd = "k\"ey\\with\u{1}control\nand ünïcode";
        for (token, request) in [
            (None, None),
            (Some("0123456789abcdef"), None),
            (None, Some("req-1")),
            (Some("tok"), Some(odd)),
        ] {
            for (op, key, result) in [
                ("sign", "t/sig#v1", "ok"),
                ("decrypt", odd, "no_such_key"),
                ("", "", ""),
            ] {
                let rec = OpRecord {
                    op,
                    key,
                    token,
                    request,
                    result,
                    time_ms: 1_795_000_000_123,
                };
                let event = Event::Op(OpEvent {
                    op: op.into(),
                    key: key.into(),
                    token: token.map(Into::into),
                    request: request.map(Into::into),
                    result: result.into(),
                    time_ms: rec.time_ms,
                });
                assert_eq!(rec.to_bytes(), event.to_bytes());
                assert_eq!(Event::parse(&rec.to_bytes()).unwrap(), event);
            }
        }
    }
}
