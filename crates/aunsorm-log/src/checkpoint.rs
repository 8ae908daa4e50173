//! C2SP tlog-checkpoint: `<origin>\n<size>\n<base64 root>\n[extension lines]`, carried as
//! the text of a signed note.

use crate::{Hash, LogError, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// A checkpoint body: what a log commits to at one size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (its unique name).
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// RFC 6962 root hash of those entries.
    pub root: Hash,
    /// Extension lines, without their newlines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// Parses a checkpoint body (a signed note's text).
    ///
    /// # Errors
    /// [`LogError::InvalidInput`] for anything malformed: missing lines, a size with a
    /// sign or leading zeros, a root that is not 32 bytes of base64, empty lines.
    pub fn parse(text: &str) -> Result<Self> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("checkpoint does not end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(bad("checkpoint has no origin"));
        }
        let size = lines.next().ok_or_else(|| bad("checkpoint has no size"))?;
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(bad("checkpoint size is not a decimal number"));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| bad("checkpoint size out of range"))?;
        let root = lines.next().ok_or_else(|| bad("checkpoint has no root"))?;
        let root: Hash = B64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("checkpoint root is not 32 bytes of base64"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("checkpoint has an empty line"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The body text.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }
}

fn bad(why: &str) -> LogError {
    LogError::InvalidInput(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_spec_example() {
        // The example of C2SP tlog-checkpoint.
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let c = Checkpoint::parse(text).unwrap();
        assert_eq!(c.size, 20_852_163);
        assert_eq!(c.to_text(), text);
        let with_ext = format!("{text}ext line\n");
        assert_eq!(
            Checkpoint::parse(&with_ext).unwrap().extensions,
            ["ext line"]
        );
    }

    #[test]
    fn malformed_checkpoints_are_typed_errors() {
        for t in [
            "",
            "origin\n",
            "origin\n1\n",
            "origin\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin\n99999999999999999999\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin\n1\nAAAA\n",
            "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
            "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
            "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        ] {
            assert!(
                matches!(Checkpoint::parse(t), Err(LogError::InvalidInput(_))),
                "{t:?}"
            );
        }
    }
}
