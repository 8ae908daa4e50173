//! Key names (`name`, `tenant/name`) and version references (`name#vN`).

use crate::{Error, Result};
use core::fmt;
use core::str::FromStr;

/// Longest key name, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Longest segment (tenant or name), in bytes.
pub const MAX_SEGMENT_LEN: usize = 64;

/// A validated key name: one segment, or a tenant and a name separated by `/`. Segments
/// use ASCII letters, digits, `_`, `-` and `.`, start with a letter or digit, and are at
/// most 64 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tenant prefix, if the name has one.
    pub fn tenant(&self) -> Option<&str> {
        self.0.split_once('/').map(|(t, _)| t)
    }
}

impl FromStr for KeyName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if s.len() > MAX_NAME_LEN {
            return Err(Error::invalid(
                "key name",
                format!("longer than {MAX_NAME_LEN} bytes"),
            ));
        }
        let segments: Vec<&str> = s.split('/').collect();
        if segments.len() > 2 {
            return Err(Error::invalid("key name", "at most one `/` (tenant/name)"));
        }
        for seg in segments {
            check_segment(seg)?;
        }
        Ok(KeyName(s.to_string()))
    }
}

fn check_segment(seg: &str) -> Result<()> {
    let Some(first) = seg.chars().next() else {
        return Err(Error::invalid("key name", "empty segment"));
    };
    if seg.len() > MAX_SEGMENT_LEN {
        return Err(Error::invalid(
            "key name",
            format!("segment longer than {MAX_SEGMENT_LEN} bytes"),
        ));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(Error::invalid(
            "key name",
            "a segment must start with a letter or digit",
        ));
    }
    if let Some(bad) = seg
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(Error::invalid(
            "key name",
            format!("forbidden character {:?}", bad.escape_default().to_string()),
        ));
    }
    Ok(())
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key with an optional version: `name` (the newest version) or `name#vN`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyRef {
    /// The key.
    pub name: KeyName,
    /// The version, counting from 1; `None` means the newest.
    pub version: Option<u32>,
}

impl FromStr for KeyRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.split_once('#') {
            None => Ok(KeyRef {
                name: s.parse()?,
                version: None,
            }),
            Some((name, v)) => {
                let digits = v.strip_prefix('v').ok_or_else(|| {
                    Error::invalid("key reference", "the version must be written vN")
                })?;
                if digits.is_empty()
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                    || digits.starts_with('0')
                {
                    return Err(Error::invalid(
                        "key reference",
                        "the version must be v1, v2, ...",
                    ));
                }
                let version = digits
                    .parse::<u32>()
                    .map_err(|_| Error::invalid("key reference", "version out of range"))?;
                Ok(KeyRef {
                    name: name.parse()?,
                    version: Some(version),
                })
            }
        }
    }
}

impl From<KeyName> for KeyRef {
    /// The newest version of `name`.
    fn from(name: KeyName) -> Self {
        KeyRef {
            name,
            version: None,
        }
    }
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Some(v) => write!(f, "{}#v{v}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_references() {
        for ok in ["a", "payments", "acme/payments", "k1.v2_x-y", "A9"] {
            assert_eq!(ok.parse::<KeyName>().unwrap().as_str(), ok);
        }
        assert_eq!(
            "acme/pay".parse::<KeyName>().unwrap().tenant(),
            Some("acme")
        );
        assert_eq!("pay".parse::<KeyName>().unwrap().tenant(), None);
        for bad in [
            "",
            "/",
            "a/",
            "/a",
            "a/b/c",
            ".a",
            "-a",
            "a b",
            "a\0",
            "ä",
            "a#b",
            &"x".repeat(65),
            "a/../b",
        ] {
            assert!(bad.parse::<KeyName>().is_err(), "{bad:?}");
        }
        let r: KeyRef = "acme/pay#v12".parse().unwrap();
        assert_eq!((r.name.as_str(), r.version), ("acme/pay", Some(12)));
        assert_eq!(r.to_string(), "acme/pay#v12");
        assert_eq!("pay".parse::<KeyRef>().unwrap().version, None);
        for bad in [
            "pay#",
            "pay#v",
            "pay#3",
            "pay#v0",
            "pay#v01",
            "pay#v-1",
            "pay#v99999999999",
            "#v1",
            "pay#v1#v2",
        ] {
            assert!(bad.parse::<KeyRef>().is_err(), "{bad:?}");
        }
    }
}
