//! Helpers for the benchmark crate (`bench/`): bulk Maildir loads with the file names Dovecot's
//! LDA writes, and a seeded draw of corpus messages.
//!
//! Dovecot answers `RFC822.SIZE` from the `,S=<size>,W=<vsize>` fields of a Maildir file name
//! when they are there; without them it opens and scans every file, which makes a size scan
//! about 5x slower. [`Dovecot::deliver_bulk`] therefore names files the way LDA does.

use std::os::unix::fs::{MetadataExt as _, chown};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::dovecot::Dovecot;

impl Dovecot {
    /// Writes every message of `messages` into `user`'s existing `mailbox` (INBOX or a folder
    /// created before) as unseen mail in `cur/`, named like LDA's files
    /// (`<secs>.M<usec>P<pid>Q<n>.<host>,S=<size>,W=<vsize>:2,`). No IMAP round trip. Returns
    /// how many messages and bytes were written.
    pub fn deliver_bulk<I>(
        &self,
        user: &str,
        mailbox: &str,
        messages: I,
    ) -> anyhow::Result<(u64, u64)>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let folder = self.mailbox_dir(user, mailbox)?;
        let meta = std::fs::metadata(folder.join("cur")).with_context(|| {
            format!("mailbox {mailbox} of {user} has no cur/ (create it first)")
        })?;
        let (uid, gid) = (meta.uid(), meta.gid());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let (mut count, mut bytes) = (0u64, 0u64);
        for raw in messages {
            let raw = raw.as_ref();
            let name = format!(
                "{}.M{}P{}Q{count}.intake-bench,S={},W={}:2,",
                now.as_secs(),
                now.subsec_micros(),
                std::process::id(),
                raw.len(),
                virtual_size(raw)
            );
            let path = folder.join("cur").join(name);
            std::fs::write(&path, raw).with_context(|| format!("write {}", path.display()))?;
            own(&path, uid, gid)?;
            count += 1;
            bytes += raw.len() as u64;
        }
        Ok((count, bytes))
    }
}

fn own(path: &Path, uid: u32, gid: u32) -> anyhow::Result<()> {
    chown(path, Some(uid), Some(gid)).with_context(|| format!("chown {}", path.display()))
}

/// The size of `raw` with every bare LF counted as CRLF, as IMAP serves it (Maildir's `W=`).
pub fn virtual_size(raw: &[u8]) -> usize {
    let mut bare_lf = 0;
    let mut previous = 0u8;
    for &byte in raw {
        if byte == b'\n' && previous != b'\r' {
            bare_lf += 1;
        }
        previous = byte;
    }
    raw.len() + bare_lf
}

/// `count` messages drawn with repetition from `pool` with a fixed `seed`, each made unique by
/// a leading `X-Bench-Seq: <n>` header (in the message's own line-ending style) when it starts
/// with a header line; a message that does not (malformed input the corpus keeps on purpose) is
/// used as-is, so the share of dead letters stays what the corpus has.
pub fn draw_unique(pool: &[Vec<u8>], count: usize, seed: u64) -> Vec<Vec<u8>> {
    if pool.is_empty() {
        return Vec::new();
    }
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|n| {
            let raw = &pool[rng.random_range(0..pool.len())];
            with_sequence_header(raw, n)
        })
        .collect()
}

/// `raw` with `X-Bench-Seq: n` prepended if its first line is a header field.
pub fn with_sequence_header(raw: &[u8], n: usize) -> Vec<u8> {
    if !starts_with_header_field(raw) {
        return raw.to_vec();
    }
    let first_line_end = raw.iter().position(|&b| b == b'\n');
    let crlf = first_line_end.is_some_and(|i| i > 0 && raw.get(i - 1) == Some(&b'\r'));
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut out = format!("X-Bench-Seq: {n}{eol}").into_bytes();
    out.extend_from_slice(raw);
    out
}

fn starts_with_header_field(raw: &[u8]) -> bool {
    let name_len = raw
        .iter()
        .take_while(|&&b| b != b':' && (b'!'..=b'~').contains(&b))
        .count();
    name_len > 0 && raw.get(name_len) == Some(&b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_size_counts_bare_lf_twice() {
        assert_eq!(virtual_size(b"a\nb\r\n"), 6);
        assert_eq!(virtual_size(b""), 0);
    }

    #[test]
    fn sequence_header_follows_line_endings_and_skips_non_headers() {
        assert_eq!(
            with_sequence_header(b"A: b\r\n\r\nx", 7),
            b"X-Bench-Seq: 7\r\nA: b\r\n\r\nx"
        );
        assert_eq!(
            with_sequence_header(b"A: b\n\nx", 1),
            b"X-Bench-Seq: 1\nA: b\n\nx"
        );
        assert_eq!(with_sequence_header(b"\nbody", 1), b"\nbody");
        assert_eq!(with_sequence_header(b"From x\n", 1), b"From x\n");
    }

    #[test]
    fn draws_are_reproducible() {
        let pool = vec![b"A: 1\n\n".to_vec(), b"A: 2\n\n".to_vec()];
        assert_eq!(draw_unique(&pool, 20, 3), draw_unique(&pool, 20, 3));
        assert_eq!(draw_unique(&pool, 20, 3).len(), 20);
    }
}
