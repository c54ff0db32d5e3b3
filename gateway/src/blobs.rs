//! The content-addressed blob directory: raw messages and attachments, named by their SHA-256.
//!
//! Blobs are written before the case that refers to them is appended, so a case never points at
//! a missing blob. Writes go to a temporary file renamed into place: a reader never sees half a
//! blob, and a crash leaves at worst a stray temporary file. The same content is stored once.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A blob store rooted at one directory: `<dir>/<aa>/<bb>/<sha256>`.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

impl BlobStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BlobStore { dir: dir.into() }
    }

    /// Where the blob named `sha256` lives (whether or not it exists yet).
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        let (a, b) = match (sha256.get(0..2), sha256.get(2..4)) {
            (Some(a), Some(b)) => (a, b),
            _ => ("xx", "xx"),
        };
        self.dir.join(a).join(b).join(sha256)
    }

    /// Creates the root directory, so a misconfigured path fails at start-up, not mid-batch.
    pub fn ensure_root(&self) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)
    }

    /// Stores `bytes` under `sha256` unless a blob of that name exists. Blocking: call it from a
    /// blocking thread.
    pub fn put(&self, sha256: &str, bytes: &[u8]) -> io::Result<()> {
        if !is_hex_digest(sha256) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "blob name is not a sha256 hex digest",
            ));
        }
        let path = self.path_of(sha256);
        if path.exists() {
            return Ok(());
        }
        let Some(parent) = path.parent() else {
            return Err(io::Error::other("blob path has no parent"));
        };
        // The fan-out directories exist after the first few thousand blobs: create them only
        // when the file cannot be created, not with a syscall per blob.
        let mut tmp = match tempfile_in(parent, sha256) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(parent)?;
                tempfile_in(parent, sha256)?
            }
            other => other?,
        };
        tmp.1.write_all(bytes)?;
        drop(tmp.1);
        std::fs::rename(&tmp.0, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp.0);
        })
    }
}

fn tempfile_in(dir: &Path, sha256: &str) -> io::Result<(PathBuf, std::fs::File)> {
    // Unique per process and thread, so concurrent writers of the same blob never share a file.
    let unique = format!(
        ".{sha256}.{}.{:?}.tmp",
        std::process::id(),
        std::thread::current().id()
    )
    .replace(['(', ')'], "");
    let path = dir.join(unique);
    let file = std::fs::File::create(&path)?;
    Ok((path, file))
}

fn is_hex_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn stores_once_and_rejects_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let sha = intake_normalizer::sha256_hex(b"hello");
        store.put(&sha, b"hello").unwrap();
        store.put(&sha, b"hello").unwrap();
        assert_eq!(std::fs::read(store.path_of(&sha)).unwrap(), b"hello");
        assert!(store.put("../../etc/passwd", b"x").is_err());
    }
}
