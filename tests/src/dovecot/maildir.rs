//! Direct Maildir++ delivery: write files the way an MDA does (tmp/, then rename into new/ or
//! cur/), which Dovecot picks up at its next sync (or at once via inotify while a client IDLEs).
//!
//! Files are named the way Dovecot's LDA names them, with `,S=<size>,W=<vsize>`: Dovecot answers
//! `RFC822.SIZE` from those fields, and without them opens and scans every file (about 5x slower
//! for the channel's size scan).

use std::os::unix::fs::{DirBuilderExt as _, chown};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use super::Dovecot;
use super::config::user_mail_dir;

/// Makes file names unique within this process; pid and time make them unique across processes.
static DELIVERY_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Dovecot {
    /// Writes `raw` into `user`'s `mailbox` as a new (unseen, \Recent) message, creating the
    /// folder if needed. Returns the file's path (`<unique>,S=<size>,W=<vsize>`). No IMAP round
    /// trip: fast for bulk loads.
    pub fn deliver(&self, user: &str, mailbox: &str, raw: &[u8]) -> anyhow::Result<PathBuf> {
        self.deliver_with_flags(user, mailbox, raw, "")
    }

    /// Like [`deliver`](Self::deliver) with Maildir flag letters already set (`"S"` = \Seen,
    /// `"F"` = \Flagged, `"R"` = \Answered, `"T"` = \Deleted, `"D"` = \Draft); such a message goes to
    /// cur/, as an MUA would have left it.
    pub fn deliver_with_flags(
        &self,
        user: &str,
        mailbox: &str,
        raw: &[u8],
        flags: &str,
    ) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(
            flags.chars().all(|c| "DFRST".contains(c)),
            "maildir flags must be among D F R S T, got {flags:?}"
        );
        let folder = self.ensure_mailbox_dir(user, mailbox)?;
        let base = format!("{},S={},W={}", unique_name(), raw.len(), virtual_size(raw));
        let tmp = folder.join("tmp").join(&base);
        std::fs::write(&tmp, raw).with_context(|| format!("write {}", tmp.display()))?;
        self.chown_to_owner(&tmp)?;
        let target = if flags.is_empty() {
            folder.join("new").join(&base)
        } else {
            let mut letters: Vec<char> = flags.chars().collect();
            letters.sort_unstable();
            letters.dedup();
            let flags: String = letters.into_iter().collect();
            folder.join("cur").join(format!("{base}:2,{flags}"))
        };
        std::fs::rename(&tmp, &target)
            .with_context(|| format!("move into {}", target.display()))?;
        Ok(target)
    }

    /// The folder of `mailbox` on disk: INBOX is the user's Maildir itself; "A/B" is ".A.B".
    pub fn mailbox_dir(&self, user: &str, mailbox: &str) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(
            self.users.iter().any(|(u, _)| u == user),
            "no test user {user:?}"
        );
        let user_dir = user_mail_dir(self.dir.path(), user);
        if mailbox.eq_ignore_ascii_case("INBOX") {
            return Ok(user_dir);
        }
        let valid = !mailbox.is_empty()
            && !mailbox.contains(['.', '\0', '\n', '\r'])
            && mailbox.split('/').all(|part| !part.is_empty());
        // '.' is Maildir++'s on-disk separator, so it cannot appear in a name here.
        anyhow::ensure!(valid, "unsupported test mailbox name {mailbox:?}");
        Ok(user_dir.join(format!(".{}", mailbox.replace('/', "."))))
    }

    fn ensure_mailbox_dir(&self, user: &str, mailbox: &str) -> anyhow::Result<PathBuf> {
        let folder = self.mailbox_dir(user, mailbox)?;
        if !folder.join("tmp").is_dir() || !folder.join("new").is_dir() {
            self.create_maildir(&folder)?;
            if folder != user_mail_dir(self.dir.path(), user) {
                // Marks a Maildir++ subfolder, as Dovecot's own CREATE does.
                let marker = folder.join("maildirfolder");
                std::fs::write(&marker, b"")
                    .with_context(|| format!("write {}", marker.display()))?;
                self.chown_to_owner(&marker)?;
            }
        }
        Ok(folder)
    }

    /// A Maildir (the dir plus cur/ new/ tmp/), owned by the mail uid.
    pub(super) fn create_maildir(&self, dir: &Path) -> anyhow::Result<()> {
        self.create_owned_dir(dir)?;
        for sub in ["cur", "new", "tmp"] {
            self.create_owned_dir(&dir.join(sub))?;
        }
        Ok(())
    }

    pub(super) fn create_owned_dir(&self, dir: &Path) -> anyhow::Result<()> {
        if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("mkdir {}", dir.display()))?;
        }
        self.chown_to_owner(dir)
    }

    /// Hands a file to the mail uid: Dovecot's imap process (not root) renames and reads it.
    fn chown_to_owner(&self, path: &Path) -> anyhow::Result<()> {
        chown(path, Some(self.owner.uid), Some(self.owner.gid))
            .with_context(|| format!("chown {}", path.display()))
    }
}

/// `<secs>.M<micros>P<pid>Q<n>.intake-tests`, the conventional Maildir unique name. `n` is
/// zero-padded: Dovecot assigns UIDs to new files in file-name order (seconds and microseconds
/// numerically, the rest as a string), so deliveries within one microsecond keep their order.
fn unique_name() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let n = DELIVERY_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}.M{}P{}Q{n:010}.intake-tests",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id()
    )
}

/// The size of `raw` as IMAP serves it, every bare LF counted as CRLF (the Maildir `W=` field).
fn virtual_size(raw: &[u8]) -> usize {
    let mut previous = 0u8;
    let bare_lf = raw
        .iter()
        .filter(|&&byte| {
            let bare = byte == b'\n' && previous != b'\r';
            previous = byte;
            bare
        })
        .count();
    raw.len() + bare_lf
}

#[cfg(test)]
mod tests {
    use super::{unique_name, virtual_size};

    #[test]
    fn virtual_size_counts_bare_lfs_as_crlf() {
        assert_eq!(virtual_size(b""), 0);
        assert_eq!(virtual_size(b"a\r\nb\r\n"), 6);
        assert_eq!(virtual_size(b"a\nb\n"), 6);
        assert_eq!(virtual_size(b"\n\r\n\r"), 5);
    }

    #[test]
    fn unique_names_differ_and_leave_room_for_fields() {
        let names: Vec<String> = (0..20).map(|_| unique_name()).collect();
        let mut deduped = names.clone();
        deduped.dedup();
        assert_eq!(deduped.len(), names.len());
        assert!(names.iter().all(|n| !n.contains([',', ':', '/'])));
    }
}
