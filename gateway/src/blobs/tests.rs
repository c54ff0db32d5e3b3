//! The pack store on real files: round trips, deduplication, rotation, concurrent writers,
//! the legacy layout, and what a crash leaves behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use intake_normalizer::sha256_hex;

use super::pack::{HEADER_LEN, encode_header};
use super::*;

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir.join(PACKS_DIR))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    found.sort();
    found
}

/// How many index lines name each blob, over all indexes.
fn index_counts(dir: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for idx in files(dir, "idx") {
        for line in std::fs::read_to_string(idx).unwrap().lines() {
            let sha = line.split(' ').next().unwrap().to_string();
            *counts.entry(sha).or_default() += 1;
        }
    }
    counts
}

fn blob(i: usize, len: usize) -> (String, Vec<u8>) {
    let bytes: Vec<u8> = format!("blob {i} ").bytes().cycle().take(len).collect();
    (sha256_hex(&bytes), bytes)
}

#[test]
fn round_trip_and_bad_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::new(dir.path());
    store.ensure_root().unwrap();
    let (sha, bytes) = blob(1, 1000);
    let (absent, _) = blob(2, 10);
    assert_eq!(store.get(&sha).unwrap(), None, "nothing stored yet");
    assert!(
        files(dir.path(), "pack").is_empty(),
        "no pack before a write"
    );
    store.put(&sha, &bytes).unwrap();
    store.put(&sha256_hex(b""), b"").unwrap();
    store.sync().unwrap();
    assert_eq!(store.get(&sha).unwrap().unwrap(), bytes);
    assert_eq!(store.get(&sha256_hex(b"")).unwrap().unwrap(), b"");
    assert_eq!(store.get(&absent).unwrap(), None);

    for bad in ["../../etc/passwd", "", &sha[..63], &sha.to_uppercase()] {
        assert!(store.put(bad, b"x").is_err(), "put accepted {bad:?}");
        assert!(matches!(store.get(bad), Err(BlobError::InvalidName { .. })));
    }
    assert_eq!(parse_reference(&format!("sha256:{sha}")).unwrap(), sha);
    assert_eq!(parse_reference(&sha.to_uppercase()).unwrap(), sha);
    assert!(parse_reference("sha256:abc").is_err());
}

#[test]
fn the_same_content_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::new(dir.path());
    let (sha, bytes) = blob(1, 500);
    store.put(&sha, &bytes).unwrap();
    store.clone().put(&sha, &bytes).unwrap();
    store.sync().unwrap();
    assert_eq!(index_counts(dir.path())[&sha], 1);
    let packs = files(dir.path(), "pack");
    assert_eq!(packs.len(), 1);
    let pack_len = std::fs::metadata(&packs[0]).unwrap().len();
    assert_eq!(pack_len, HEADER_LEN + 500);
}

#[test]
fn packs_rotate_at_the_limit_and_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::with_pack_limit(dir.path(), 1000);
    let blobs: Vec<_> = (0..10).map(|i| blob(i, 300)).collect();
    for (sha, bytes) in &blobs {
        store.put(sha, bytes).unwrap();
    }
    // Larger than a whole pack: written alone into a pack of its own.
    let (big_sha, big) = blob(99, 5000);
    store.put(&big_sha, &big).unwrap();
    store.sync().unwrap();
    let packs = files(dir.path(), "pack");
    assert_eq!(
        packs.len(),
        5 + 1,
        "two 380-byte records per 1000-byte pack"
    );
    assert_eq!(files(dir.path(), "idx").len(), packs.len());
    for pack in &packs {
        let len = std::fs::metadata(pack).unwrap().len();
        assert!(len <= 1000 || len == HEADER_LEN + 5000, "{len}");
    }
    for (sha, bytes) in blobs.iter().chain([&(big_sha, big)]) {
        assert_eq!(&store.get(sha).unwrap().unwrap(), bytes);
    }
}

#[test]
fn concurrent_puts_are_all_readable_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::with_pack_limit(dir.path(), 64 * 1024);
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    // Every thread also writes the blobs 0..20 the others write.
                    let n = if i < 20 { i } else { t * 1000 + i };
                    let (sha, bytes) = blob(n, 100 + n % 3000);
                    store.put(&sha, &bytes).unwrap();
                    if i % 50 == 49 {
                        store.sync().unwrap();
                    }
                }
                store.sync().unwrap();
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(files(dir.path(), "pack").len() > 1, "rotated while writing");
    let counts = index_counts(dir.path());
    assert_eq!(counts.len(), 20 + 6 * 180);
    assert!(counts.values().all(|&n| n == 1), "a blob was stored twice");
    // Another process (a fresh store) reads them all.
    let reader = BlobStore::new(dir.path());
    for sha in counts.keys() {
        let bytes = reader.get(sha).unwrap().unwrap();
        assert_eq!(&sha256_hex(&bytes), sha);
    }
}

#[test]
fn blobs_of_the_file_per_blob_layout_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let (sha, bytes) = blob(7, 2000);
    let legacy = legacy_path(dir.path(), &sha);
    assert!(legacy.ends_with(format!("{}/{}/{sha}", &sha[..2], &sha[2..4])));
    std::fs::create_dir_all(legacy.parent().unwrap()).unwrap();
    std::fs::write(&legacy, &bytes).unwrap();
    let store = BlobStore::new(dir.path());
    assert_eq!(store.get(&sha).unwrap().unwrap(), bytes);

    let (wrong, _) = blob(8, 10);
    let wrong_path = legacy_path(dir.path(), &wrong);
    std::fs::create_dir_all(wrong_path.parent().unwrap()).unwrap();
    std::fs::write(&wrong_path, b"not what the name says").unwrap();
    assert!(matches!(store.get(&wrong), Err(BlobError::Damaged { .. })));
}

/// A process killed mid-record leaves record bytes without an index line (and maybe half an
/// index line): readers ignore them, and the next process writes to a pack of its own.
#[test]
fn a_torn_tail_is_ignored_and_the_next_process_starts_a_new_pack() {
    let dir = tempfile::tempdir().unwrap();
    let (a, a_bytes) = blob(1, 700);
    let (b, b_bytes) = blob(2, 900);
    let (c, c_bytes) = blob(3, 800);
    {
        let store = BlobStore::new(dir.path());
        store.put(&a, &a_bytes).unwrap();
        store.put(&b, &b_bytes).unwrap();
        store.sync().unwrap();
    }
    let pack = files(dir.path(), "pack").remove(0);
    let idx = files(dir.path(), "idx").remove(0);
    let mut torn = std::fs::OpenOptions::new()
        .append(true)
        .open(&pack)
        .unwrap();
    torn.write_all(&encode_header(&c, 800)).unwrap();
    torn.write_all(&c_bytes[..300]).unwrap();
    let data_at = std::fs::metadata(&pack).unwrap().len() - 300;
    let mut torn_idx = std::fs::OpenOptions::new().append(true).open(&idx).unwrap();
    write!(torn_idx, "{c} {data_at} 8").unwrap();
    let torn_len = std::fs::metadata(&pack).unwrap().len();

    let store = BlobStore::new(dir.path());
    assert_eq!(store.get(&a).unwrap().unwrap(), a_bytes);
    assert_eq!(store.get(&b).unwrap().unwrap(), b_bytes);
    assert_eq!(
        store.get(&c).unwrap(),
        None,
        "the torn record is not a blob"
    );
    store.put(&c, &c_bytes).unwrap();
    store.sync().unwrap();
    assert_eq!(store.get(&c).unwrap().unwrap(), c_bytes);
    assert_eq!(files(dir.path(), "pack").len(), 2);
    assert_eq!(std::fs::metadata(&pack).unwrap().len(), torn_len);
}

/// After a power loss an index line may survive while its record did not: that copy fails
/// verification and is skipped, and a later copy (written again after redelivery) is found.
#[test]
fn an_index_line_past_a_truncated_pack_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (a, a_bytes) = blob(1, 700);
    let (b, b_bytes) = blob(2, 900);
    {
        let store = BlobStore::new(dir.path());
        store.put(&a, &a_bytes).unwrap();
        store.put(&b, &b_bytes).unwrap();
        store.sync().unwrap();
    }
    let pack = files(dir.path(), "pack").remove(0);
    let len = std::fs::metadata(&pack).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&pack)
        .unwrap()
        .set_len(len - 400)
        .unwrap();

    let store = BlobStore::new(dir.path());
    assert_eq!(store.get(&a).unwrap().unwrap(), a_bytes);
    let err = store.get(&b).unwrap_err();
    assert!(
        matches!(&err, BlobError::Damaged { detail, .. } if detail.contains("past the end")),
        "{err}"
    );
    store.put(&b, &b_bytes).unwrap();
    store.sync().unwrap();
    assert_eq!(store.get(&b).unwrap().unwrap(), b_bytes);

    // A flipped byte inside a record is caught by the hash.
    let (c, c_bytes) = blob(3, 100);
    store.put(&c, &c_bytes).unwrap();
    store.sync().unwrap();
    let newest = files(dir.path(), "pack").pop().unwrap();
    let mut content = std::fs::read(&newest).unwrap();
    let last = content.len() - 1;
    content[last] ^= 0xff;
    std::fs::write(&newest, content).unwrap();
    assert!(matches!(store.get(&c), Err(BlobError::Damaged { .. })));
}
