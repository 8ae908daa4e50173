//! Reading and writing the paths of the command line: `-` or no path is stdin/stdout;
//! files are replaced atomically (written to a temporary file beside them, renamed on
//! success), and private keys are created readable by their owner only.

use crate::Failure;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub(crate) fn is_std(p: &Option<PathBuf>) -> bool {
    p.as_deref().is_none_or(|p| p == Path::new("-"))
}

pub(crate) fn read_all(p: &Option<PathBuf>, what: &str) -> Result<Vec<u8>, Failure> {
    if is_std(p) {
        let mut v = Vec::new();
        std::io::stdin().read_to_end(&mut v)?;
        Ok(v)
    } else {
        let path = p.as_deref().unwrap_or(Path::new("-"));
        std::fs::read(path).map_err(|e| Failure::Error {
            code: "io",
            message: format!("cannot read {what} {}: {e}", path.display()),
        })
    }
}

/// Writes `data` to the path (atomically) or stdout. `secret` files get mode 0600.
pub(crate) fn write_all(p: &Option<PathBuf>, data: &[u8], secret: bool) -> Result<(), Failure> {
    if is_std(p) {
        let mut out = std::io::stdout().lock();
        out.write_all(data)?;
        out.flush()?;
        return Ok(());
    }
    let path = p.as_deref().unwrap_or(Path::new("-"));
    let mut tmp = AtomicFile::create(path, secret)?;
    tmp.file().write_all(data)?;
    tmp.commit()
}

/// A temporary file in the destination's directory, renamed into place by `commit`
/// and removed if dropped before.
pub(crate) struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl AtomicFile {
    pub(crate) fn create(dest: &Path, secret: bool) -> Result<Self, Failure> {
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut b = tempfile::Builder::new();
        b.prefix(".aunsorm-tmp-");
        if secret {
            use std::os::unix::fs::PermissionsExt;
            b.permissions(std::fs::Permissions::from_mode(0o600));
        }
        let tmp = b.tempfile_in(dir).map_err(|e| Failure::Error {
            code: "io",
            message: format!("cannot create a file in {}: {e}", dir.display()),
        })?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    pub(crate) fn file(&mut self) -> &mut std::fs::File {
        self.tmp.as_file_mut()
    }

    pub(crate) fn commit(self) -> Result<(), Failure> {
        self.tmp.as_file().sync_all()?;
        self.tmp.persist(&self.dest).map_err(|e| Failure::Error {
            code: "io",
            message: format!("cannot write {}: {}", self.dest.display(), e.error),
        })?;
        Ok(())
    }
}
