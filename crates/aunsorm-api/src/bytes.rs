//! Bytes on the wire as standard base64 strings.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};
use zeroize::Zeroizing;

/// Public bytes, as base64.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Base64(pub Vec<u8>);

/// Secret bytes, as base64; zeroized on drop and never printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBase64(pub Zeroizing<Vec<u8>>);

/// Secret text (a passphrase, an unseal share, a token); zeroized on drop and never
/// printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretText(pub Zeroizing<String>);

impl Serialize for SecretText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(SecretText(Zeroizing::new(String::deserialize(d)?)))
    }
}

impl SecretText {
    /// The text.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SecretText {
    fn from(s: &str) -> Self {
        SecretText(Zeroizing::new(s.to_owned()))
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(..)")
    }
}

impl PartialSchema for SecretText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).into()
    }
}
impl ToSchema for SecretText {}

impl std::fmt::Debug for Base64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Base64({} bytes)", self.0.len())
    }
}

impl std::fmt::Debug for SecretBase64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBase64(..)")
    }
}

impl From<Vec<u8>> for Base64 {
    fn from(v: Vec<u8>) -> Self {
        Base64(v)
    }
}

impl From<&[u8]> for SecretBase64 {
    fn from(v: &[u8]) -> Self {
        SecretBase64(Zeroizing::new(v.to_vec()))
    }
}

/// Decodes a base64 string straight from the deserializer's input (borrowed where it
/// can be): no owned copy of the text, which for a secret would be one more copy to
/// wipe, and for a 1 KiB message one more allocation and copy per request.
fn decode<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    struct Visit;
    impl serde::de::Visitor<'_> for Visit {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a standard base64 string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            STANDARD
                .decode(v.as_bytes())
                .map_err(|_| E::custom("not valid base64"))
        }
    }
    d.deserialize_str(Visit)
}

impl Serialize for Base64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Base64(decode(d)?))
    }
}

impl Serialize for SecretBase64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = Zeroizing::new(STANDARD.encode(&*self.0));
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for SecretBase64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(SecretBase64(Zeroizing::new(decode(d)?)))
    }
}

/// Canonical standard base64: padded, and with zero bits after the last byte (what the
/// decoder accepts).
pub const BASE64_PATTERN: &str =
    "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$";

fn base64_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Byte)))
        .pattern(Some(BASE64_PATTERN))
        .description(Some("standard base64"))
        .into()
}

impl PartialSchema for Base64 {
    fn schema() -> RefOr<Schema> {
        base64_schema()
    }
}
impl ToSchema for Base64 {}

impl PartialSchema for SecretBase64 {
    fn schema() -> RefOr<Schema> {
        base64_schema()
    }
}
impl ToSchema for SecretBase64 {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoder_accepts_only_canonical_base64_as_the_pattern_says() {
        // The rules BASE64_PATTERN encodes: padded to 4, and zero bits after the last
        // byte (`AB==` and `AAB=` carry stray bits).
        for (t, ok) in [
            ("", true),
            ("AA==", true),
            ("AB==", false),
            ("AAA=", true),
            ("AAB=", false),
            ("AAAA", true),
            ("A===", false),
            ("AA=A", false),
            ("QQ", false),
            ("Zm9v", true),
            ("Zm8=", true),
            ("Zg==", true),
        ] {
            let decoded: Result<Base64, _> = serde_json::from_str(&format!("\"{t}\""));
            assert_eq!(decoded.is_ok(), ok, "{t}");
        }
    }

    #[test]
    fn round_trip_and_reject_bad_base64() {
        let b = Base64(vec![0, 1, 2, 255]);
        let j = serde_json::to_string(&b).unwrap_or_default();
        assert_eq!(j, "\"AAEC/w==\"");
        assert_eq!(serde_json::from_str::<Base64>(&j).ok(), Some(b));
        assert!(serde_json::from_str::<Base64>("\"%%%\"").is_err());
        assert!(serde_json::from_str::<SecretBase64>("12").is_err());
        let s: SecretBase64 = serde_json::from_str("\"c2VjcmV0\"").unwrap_or_default();
        assert_eq!(&s.0[..], b"secret");
        assert_eq!(format!("{s:?}"), "SecretBase64(..)");
        // Text the parser has to unescape, and text owned by a `Value`, decode alike.
        let b: Base64 = serde_json::from_str("\"\\u0041AEC/w==\"").unwrap_or_default();
        assert_eq!(b.0, [0, 1, 2, 255]);
        let v = serde_json::json!("c2VjcmV0");
        let s: SecretBase64 = serde_json::from_value(v).unwrap_or_default();
        assert_eq!(&s.0[..], b"secret");
    }
}
