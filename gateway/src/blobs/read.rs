//! The read side of the blob store: finds a blob through the packs' text indexes, or at
//! `<dir>/<aa>/<bb>/<sha256>` for blobs written before packs, and verifies its SHA-256 before
//! handing it out.
//!
//! Every `.idx` file is scanned line by line: fine for an operator or a tool fetching a
//! message now and then, not meant for serving traffic. A copy that fails verification (an
//! index line whose record a power loss tore) is skipped in favour of another copy; only when
//! every copy is bad is the blob reported damaged.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::pack::{HEADER_LEN, decode_header};
use super::{BlobError, PACKS_DIR, legacy_path};

/// One copy of a blob: its bytes, or why they cannot be trusted.
enum Candidate {
    Good(Vec<u8>),
    Bad(String),
}

/// The verified bytes of the blob named `sha256` (already validated) under `dir`.
pub fn get(dir: &Path, sha256: &str) -> Result<Option<Vec<u8>>, BlobError> {
    let mut damaged = Vec::new();
    let legacy = legacy_path(dir, sha256);
    match std::fs::read(&legacy) {
        Ok(bytes) => match verify(sha256, bytes) {
            Candidate::Good(bytes) => return Ok(Some(bytes)),
            Candidate::Bad(why) => damaged.push(format!("{}: {why}", legacy.display())),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(&legacy, e)),
    }
    for idx in index_files(&dir.join(PACKS_DIR))? {
        let pack = idx.with_extension("pack");
        for (offset, len) in find_in_index(&idx, sha256)? {
            match read_record(&pack, sha256, offset, len)? {
                Candidate::Good(bytes) => return Ok(Some(bytes)),
                Candidate::Bad(why) => {
                    tracing::warn!(pack = %pack.display(), offset, sha256, reason = %why, "skipping a damaged blob copy");
                    damaged.push(format!("{} at offset {offset}: {why}", pack.display()));
                }
            }
        }
    }
    if damaged.is_empty() {
        Ok(None)
    } else {
        Err(BlobError::Damaged {
            sha256: sha256.to_string(),
            detail: damaged.join("; "),
        })
    }
}

/// Every index file, sorted by name (so by the time its pack was started).
fn index_files(packs: &Path) -> Result<Vec<PathBuf>, BlobError> {
    let entries = match std::fs::read_dir(packs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(packs, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| io_error(packs, e))?.path();
        if path.extension().is_some_and(|ext| ext == "idx") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The `(offset, length)` of every line for `sha256` in one index, streamed so a large index
/// is never held in memory.
fn find_in_index(idx: &Path, sha256: &str) -> Result<Vec<(u64, u64)>, BlobError> {
    let file = match File::open(idx) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(idx, e)),
    };
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut line = Vec::new();
    let mut found = Vec::new();
    loop {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .map_err(|e| io_error(idx, e))?
            == 0
        {
            return Ok(found);
        }
        // A last line without its newline was torn by a crash mid-write: not a location.
        let location = line
            .strip_suffix(b"\n")
            .and_then(|l| l.strip_prefix(sha256.as_bytes()))
            .and_then(parse_location);
        found.extend(location);
    }
}

/// `" <offset> <length>"`, the rest of an index line after the name.
fn parse_location(rest: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(rest.strip_prefix(b" ")?).ok()?;
    let (offset, len) = text.split_once(' ')?;
    Some((offset.parse().ok()?, len.parse().ok()?))
}

/// The record whose bytes start at `offset` in `pack`, checked against its header and hash.
/// Err only when an existing file cannot be read.
fn read_record(pack: &Path, sha256: &str, offset: u64, len: u64) -> Result<Candidate, BlobError> {
    let file = match File::open(pack) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Candidate::Bad("the pack file is missing".into()));
        }
        Err(e) => return Err(io_error(pack, e)),
    };
    let size = file.metadata().map_err(|e| io_error(pack, e))?.len();
    // Checked before allocating: the index line may be torn or edited by hand.
    let end = offset.checked_add(len);
    let (Some(start), Some(end), Ok(len_usize)) =
        (offset.checked_sub(HEADER_LEN), end, usize::try_from(len))
    else {
        return Ok(Candidate::Bad("the index line is malformed".into()));
    };
    if end > size {
        return Ok(Candidate::Bad(format!(
            "the record ends past the end of the pack ({size} bytes), torn by a crash"
        )));
    }
    let mut header = [0u8; HEADER_LEN as usize];
    file.read_exact_at(&mut header, start)
        .map_err(|e| io_error(pack, e))?;
    match decode_header(&header) {
        Some((name, stored_len)) if name == sha256.as_bytes() && stored_len == len => {}
        _ => {
            return Ok(Candidate::Bad(
                "the record header does not match the index".into(),
            ));
        }
    }
    let mut bytes = vec![0u8; len_usize];
    file.read_exact_at(&mut bytes, offset)
        .map_err(|e| io_error(pack, e))?;
    Ok(verify(sha256, bytes))
}

fn verify(sha256: &str, bytes: Vec<u8>) -> Candidate {
    if intake_normalizer::sha256_hex(&bytes) == sha256 {
        Candidate::Good(bytes)
    } else {
        Candidate::Bad("the content does not match its sha256".into())
    }
}

fn io_error(path: &Path, source: io::Error) -> BlobError {
    BlobError::Io {
        path: path.display().to_string(),
        source,
    }
}
