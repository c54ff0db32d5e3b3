//! The content-addressed blob store: raw messages and attachments, named by their SHA-256 and
//! referenced from cases as `sha256:<hex>`.
//!
//! Blobs are appended to pack files (`<dir>/packs/<name>.pack`, each with a text index
//! `<name>.idx`) instead of one file each: creating and deleting a file per blob made the
//! kernel's inode allocation the gateway's largest CPU cost. Every process writes its own
//! packs, so replicas can share one directory. Blobs are durable once [`BlobStore::sync`]
//! returns; the worker syncs after storing a chunk's blobs and before appending the cases that
//! refer to them. The same content is written once per process as long as it is among the
//! recently written blobs; a restart may store a second copy, which readers take in stride.
//!
//! A crash leaves at worst a torn record at the end of a pack (with no index line, or with one
//! that fails verification); readers skip it and the next process starts a new pack.

mod pack;
mod read;
#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pack::PackWriter;

/// Where the packs live, under the blob directory.
const PACKS_DIR: &str = "packs";
/// A pack is closed and a new one started once the next record would pass this size.
pub const PACK_LIMIT: u64 = 256 * 1024 * 1024;

/// Why a blob could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{name:?} is not a blob reference (sha256:<64 hex digits>)")]
    InvalidName { name: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("blob sha256:{sha256} is damaged: {detail}")]
    Damaged { sha256: String, detail: String },
}

/// A blob store rooted at one directory. Clones share one writer (and so one current pack):
/// create one per process and clone it.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    writer: Mutex<PackWriter>,
    /// Syncs run one at a time, so a sync that finds nothing new to flush still waits for one
    /// in progress (which may be flushing a blob this caller deduplicated against) and sees
    /// its failure.
    sync: Mutex<()>,
}

impl BlobStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::with_pack_limit(dir, PACK_LIMIT)
    }

    /// A store whose packs rotate at `limit` bytes (tests use small packs).
    pub fn with_pack_limit(dir: impl Into<PathBuf>, limit: u64) -> Self {
        let dir = dir.into();
        let writer = PackWriter::new(dir.join(PACKS_DIR), limit);
        BlobStore {
            dir,
            shared: Arc::new(Shared {
                writer: Mutex::new(writer),
                sync: Mutex::new(()),
            }),
        }
    }

    /// Creates the directory and its `packs/`, so a misconfigured path fails at start-up, not
    /// mid-batch. Packs are created on the first write, so a reader never creates one.
    pub fn ensure_root(&self) -> io::Result<()> {
        std::fs::create_dir_all(self.dir.join(PACKS_DIR))
    }

    /// Stores `bytes` under `sha256` (lowercase hex) unless this process wrote them recently.
    /// Not durable until [`BlobStore::sync`]. Blocking: call it from a blocking thread.
    pub fn put(&self, sha256: &str, bytes: &[u8]) -> io::Result<()> {
        let Some(key) = decode_digest(sha256) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "blob name is not a lowercase sha256 hex digest",
            ));
        };
        lock(&self.shared.writer).put(sha256, key, bytes)
    }

    /// Makes every blob put so far durable: fdatasync of each pack written since the last
    /// sync, then of its index. Blocking. After a failure the store refuses all writes until
    /// the process restarts (see `PackWriter::fail`).
    pub fn sync(&self) -> io::Result<()> {
        let _one_at_a_time = lock(&self.shared.sync);
        // The writer's lock is held only to collect the files: puts go on while they sync.
        let files = lock(&self.shared.writer).unsynced()?;
        for (pack, idx) in files {
            if let Err(e) = pack.sync_data().and_then(|()| idx.sync_data()) {
                lock(&self.shared.writer).fail(&e);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Puts the store in the state a failed sync leaves (tests of what follows a failed fsync,
    /// which a real disk cannot be made to produce on demand).
    #[cfg(test)]
    pub(crate) fn fail_as_if_synced_badly(&self) {
        lock(&self.shared.writer).fail(&io::Error::other("injected fsync failure"));
    }

    /// True once a sync failed: the store refuses every write until the process restarts.
    pub fn is_failed(&self) -> bool {
        lock(&self.shared.writer).is_failed()
    }

    /// The bytes of the blob named `sha256`, verified against it; None when it is not stored.
    /// Scans every index: meant for operators and tools, not the ingest path. Blocking.
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, BlobError> {
        if decode_digest(sha256).is_none() {
            return Err(BlobError::InvalidName {
                name: sha256.to_string(),
            });
        }
        read::get(&self.dir, sha256)
    }
}

/// The hex digest in a blob reference: `sha256:<hex>` as cases carry it, or the bare digest,
/// in either case.
pub fn parse_reference(reference: &str) -> Result<String, BlobError> {
    let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
    let hex = hex.to_ascii_lowercase();
    match decode_digest(&hex) {
        Some(_) => Ok(hex),
        None => Err(BlobError::InvalidName {
            name: reference.to_string(),
        }),
    }
}

/// Where a blob lived before packs: `<dir>/<aa>/<bb>/<sha256>`.
fn legacy_path(dir: &Path, sha256: &str) -> PathBuf {
    let (a, b) = (
        sha256.get(0..2).unwrap_or("xx"),
        sha256.get(2..4).unwrap_or("xx"),
    );
    dir.join(a).join(b).join(sha256)
}

/// The 32 bytes of a lowercase sha256 hex digest; None for anything else (which also keeps
/// names that could be paths, like `../x`, out of the store).
fn decode_digest(hex: &str) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// Locks even after a panic elsewhere: the writer's state only advances after a write
/// succeeded, so a panicking holder cannot leave it inconsistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
