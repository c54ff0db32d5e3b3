//! The write side of the blob store: one append-only pack file and its text index at a time,
//! rotated at a size limit.
//!
//! A record is a fixed header (magic, the blob's sha256 in hex, its length) followed by the
//! bytes, so a pack can be verified or its index rebuilt without the index. The index line
//! `<sha256> <offset of the bytes> <length>\n` is written after the record, so it never points
//! at data that was not written. Records are written with positional writes at the end this
//! writer tracks: bytes torn by a failed write are overwritten by the next record, never left
//! in the middle of a pack.

use std::collections::{HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Every record starts with this.
pub const RECORD_MAGIC: &[u8; 8] = b"INTKBLB1";
/// Magic, 64 hex digits of sha256, length as u64 little-endian.
pub const HEADER_LEN: u64 = 8 + 64 + 8;
/// How many recently written blobs are remembered for deduplication (32 bytes each).
const RECENT_CAPACITY: usize = 32_768;
/// Records of blobs up to this size are copied behind their header and written at once.
const ONE_WRITE_MAX: usize = 64 * 1024;

/// The header of a record holding `len` bytes named `sha256`.
pub fn encode_header(sha256: &str, len: u64) -> [u8; HEADER_LEN as usize] {
    let mut header = [0u8; HEADER_LEN as usize];
    header[..8].copy_from_slice(RECORD_MAGIC);
    header[8..72].copy_from_slice(sha256.as_bytes());
    header[72..].copy_from_slice(&len.to_le_bytes());
    header
}

/// The name and length in a record header; None when it is not one.
pub fn decode_header(header: &[u8; HEADER_LEN as usize]) -> Option<(&[u8], u64)> {
    let (magic, rest) = header.split_at(8);
    let (sha, len) = rest.split_at(64);
    let len = u64::from_le_bytes(len.try_into().ok()?);
    (magic == RECORD_MAGIC).then_some((sha, len))
}

/// The pack being appended to, its retired predecessors awaiting a sync, and what was written.
#[derive(Debug)]
pub struct PackWriter {
    packs_dir: PathBuf,
    limit: u64,
    current: Option<OpenPack>,
    /// Packs rotated away from since the last sync: their records must be synced too.
    retired: Vec<OpenPack>,
    recent: RecentSet,
    /// Set when a sync failed: see [`PackWriter::fail`].
    failed: Option<String>,
}

impl PackWriter {
    pub fn new(packs_dir: PathBuf, limit: u64) -> Self {
        PackWriter {
            packs_dir,
            limit,
            current: None,
            retired: Vec::new(),
            recent: RecentSet::default(),
            failed: None,
        }
    }

    /// Appends the blob unless this writer wrote it recently. `key` is `sha256` decoded.
    pub fn put(&mut self, sha256: &str, key: [u8; 32], bytes: &[u8]) -> io::Result<()> {
        self.check_usable()?;
        if self.recent.contains(&key) {
            return Ok(());
        }
        let record_len = HEADER_LEN + bytes.len() as u64;
        self.pack_for(record_len)?.append(sha256, bytes)?;
        self.recent.insert(key);
        Ok(())
    }

    /// The files holding records not yet known to be durable, in (pack, index) pairs: the
    /// retired packs (handed over once) and the current one.
    pub fn unsynced(&mut self) -> io::Result<Vec<(Arc<File>, Arc<File>)>> {
        self.check_usable()?;
        let current = self.current.iter().map(OpenPack::handles);
        let files = self.retired.iter().map(OpenPack::handles).chain(current);
        let files = files.collect();
        self.retired.clear();
        Ok(files)
    }

    /// A sync failed. The kernel may have dropped pages it could not write and reports that
    /// only once, so which blobs survived is unknown, and a blob deduplicated against a lost
    /// one would be referenced by a case. Like PostgreSQL after a failed fsync, refuse every
    /// further write; a restart redelivers whatever was not acked and writes it again.
    pub fn fail(&mut self, error: &io::Error) {
        tracing::error!(error = %error, "syncing the blob store failed; no further blobs are written until intake is restarted");
        self.failed = Some(error.to_string());
    }

    pub fn is_failed(&self) -> bool {
        self.failed.is_some()
    }

    fn check_usable(&self) -> io::Result<()> {
        match &self.failed {
            None => Ok(()),
            Some(e) => Err(io::Error::other(format!(
                "the blob store failed to sync earlier ({e}); restart intake"
            ))),
        }
    }

    /// The pack to append a record of `record_len` bytes to, rotating when it would pass the
    /// limit (a record larger than the limit gets a pack of its own).
    fn pack_for(&mut self, record_len: u64) -> io::Result<&mut OpenPack> {
        let pack = match self.current.take() {
            Some(p) if p.pack_len == 0 || p.pack_len + record_len <= self.limit => p,
            Some(full) => {
                self.retired.push(full);
                OpenPack::create(&self.packs_dir)?
            }
            None => OpenPack::create(&self.packs_dir)?,
        };
        Ok(self.current.insert(pack))
    }
}

/// A pack and its index, with the lengths written so far.
#[derive(Debug)]
struct OpenPack {
    pack: Arc<File>,
    idx: Arc<File>,
    pack_len: u64,
    idx_len: u64,
    /// A small record's header and bytes, assembled for one write (kept for reuse).
    scratch: Vec<u8>,
}

impl OpenPack {
    /// Creates `<name>.pack` and `<name>.idx` under a name no other writer uses.
    fn create(dir: &Path) -> io::Result<OpenPack> {
        std::fs::create_dir_all(dir)?;
        let open_new = |name: &str, ext: &str| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(dir.join(format!("{name}.{ext}")))
        };
        // The name is unique by host, pid and sequence; create_new guards against the rare
        // clash (a restarted container reusing pid 1 within the same second).
        let mut attempts = 0;
        let (name, pack) = loop {
            let name = pack_name();
            match open_new(&name, "pack") {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                    attempts += 1;
                }
                other => break (name, other?),
            }
        };
        // Retried at the next put: leave no empty pack behind per failed attempt.
        let remove = |ext: &str| {
            let _ = std::fs::remove_file(dir.join(format!("{name}.{ext}")));
        };
        let idx = open_new(&name, "idx").inspect_err(|_| remove("pack"))?;
        // A new file's directory entry is durable only once its directory is synced.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .inspect_err(|_| {
                remove("pack");
                remove("idx");
            })?;
        tracing::info!(pack = %name, "blob pack started");
        Ok(OpenPack {
            pack: Arc::new(pack),
            idx: Arc::new(idx),
            pack_len: 0,
            idx_len: 0,
            scratch: Vec::new(),
        })
    }

    fn append(&mut self, sha256: &str, bytes: &[u8]) -> io::Result<()> {
        let len = bytes.len() as u64;
        let data_at = self.pack_len + HEADER_LEN;
        let line = format!("{sha256} {data_at} {len}\n");
        let header = encode_header(sha256, len);
        // A small record goes out in one write: on the small email mix the pack writes were
        // three syscalls per message, a measurable share of the gateway's CPU, while copying
        // a few KB costs far less than a syscall. Large blobs are not worth the copy.
        let record = if bytes.len() <= ONE_WRITE_MAX {
            self.scratch.clear();
            self.scratch.extend_from_slice(&header);
            self.scratch.extend_from_slice(bytes);
            self.pack.write_all_at(&self.scratch, self.pack_len)
        } else {
            self.pack
                .write_all_at(&header, self.pack_len)
                .and_then(|()| self.pack.write_all_at(bytes, data_at))
        };
        let written = record.and_then(|()| self.idx.write_all_at(line.as_bytes(), self.idx_len));
        match written {
            Ok(()) => {
                self.pack_len = data_at + len;
                self.idx_len += line.len() as u64;
                Ok(())
            }
            Err(e) => {
                // The next record overwrites the torn bytes anyway; cutting them now keeps a
                // disk-full pack from holding a partial record meanwhile.
                let _ = self.pack.set_len(self.pack_len);
                let _ = self.idx.set_len(self.idx_len);
                Err(e)
            }
        }
    }

    fn handles(&self) -> (Arc<File>, Arc<File>) {
        (self.pack.clone(), self.idx.clone())
    }
}

/// `<UTC start>-<host>-<pid>-<sequence>`: unique per process and pack, sorted by time, and
/// tells an operator which replica wrote it.
fn pack_name() -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let now = time::OffsetDateTime::now_utc();
    let started = now
        .format(format)
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    format!("{started}-{}-{}-{seq:04}", hostname(), std::process::id())
}

fn hostname() -> &'static str {
    static HOSTNAME: OnceLock<String> = OnceLock::new();
    HOSTNAME.get_or_init(|| {
        let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let clean: String = raw
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if clean.is_empty() {
            "host".to_string()
        } else {
            clean
        }
    })
}

/// The most recent `RECENT_CAPACITY` blob names written, oldest forgotten first.
#[derive(Debug, Default)]
struct RecentSet {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl RecentSet {
    fn contains(&self, key: &[u8; 32]) -> bool {
        self.set.contains(key)
    }

    fn insert(&mut self, key: [u8; 32]) {
        if self.set.insert(key) {
            self.order.push_back(key);
        }
        if self.order.len() > RECENT_CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
    }
}
