//! The email scenario: one Dovecot mailbox of N messages drawn from the corpus with a fixed
//! seed, read by Intake (the release `intake` binary, cold start) and by the Python peer.

mod intake;
mod peer;

use std::fmt;
use std::path::Path;

use anyhow::Context as _;
use intake_tests::bench_support::draw_unique;

use crate::env::Env;

/// Largest message in the small mix.
pub const SMALL_MAX_BYTES: usize = 8 * 1024;

/// Which messages of the corpus a mailbox draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Every message of the corpus (up to ~2 MB).
    Full,
    /// Only messages of at most [`SMALL_MAX_BYTES`].
    Small,
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mix::Full => "full",
            Mix::Small => "small",
        })
    }
}

/// One mailbox (a Dovecot user's INBOX) and the messages delivered into it.
#[derive(Debug)]
pub struct EmailScenario {
    pub user: String,
    pub mix: Mix,
    pub count: usize,
    seed: u64,
    /// The delivered messages, kept for the normalizer-alone limit (empty until `prepare`).
    pub messages: Vec<Vec<u8>>,
    pub bytes: u64,
}

impl EmailScenario {
    pub fn new(user: &str, mix: Mix, count: usize, seed: u64) -> Self {
        Self {
            user: user.to_owned(),
            mix,
            count,
            seed,
            messages: Vec::new(),
            bytes: 0,
        }
    }

    /// `full`, `small`, or `full-50000` when the size differs from the main runs'.
    pub fn mailbox(&self) -> String {
        match self.user.strip_prefix("full").filter(|s| !s.is_empty()) {
            Some(size) => format!("{}-{size}", self.mix),
            None => self.mix.to_string(),
        }
    }

    /// Draws the messages and writes them into the Maildir with LDA-style names, then opens
    /// the mailbox once so Dovecot's index exists before any timed run.
    pub async fn prepare(&mut self, env: &Env) -> anyhow::Result<()> {
        let pool = corpus_pool(&env.settings.corpus, self.mix)?;
        self.messages = draw_unique(&pool, self.count, self.seed);
        let (count, bytes) = env
            .dovecot
            .deliver_bulk(&self.user, "INBOX", &self.messages)?;
        self.bytes = bytes;
        anyhow::ensure!(
            count == self.count as u64,
            "delivered {count} of {}",
            self.count
        );
        let exists = env.dovecot.message_count_as(&self.user).await?;
        anyhow::ensure!(
            exists as usize == self.count,
            "dovecot sees {exists} messages in {}'s INBOX, expected {}",
            self.user,
            self.count
        );
        Ok(())
    }

    /// Drops the in-memory copy (large mailboxes used only for the RSS comparison).
    pub fn forget_messages(&mut self) {
        self.messages = Vec::new();
    }
}

/// The corpus messages of `mix`, sorted by file name (so a seed always draws the same ones).
fn corpus_pool(dir: &Path, mix: Mix) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("read corpus {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    paths.sort();
    let mut pool = Vec::new();
    for path in paths {
        let raw = std::fs::read(&path).with_context(|| format!("read {}", path.display()))?;
        if mix == Mix::Full || raw.len() <= SMALL_MAX_BYTES {
            pool.push(raw);
        }
    }
    anyhow::ensure!(!pool.is_empty(), "no {mix} messages in {}", dir.display());
    Ok(pool)
}

/// Priming and counting, as the bench user.
trait CountAs {
    async fn message_count_as(&self, user: &str) -> anyhow::Result<u32>;
}

impl CountAs for intake_tests::Dovecot {
    /// EXISTS after SELECT (which also moves nothing: the files are already in cur/) and a
    /// `FETCH 1:* (UID RFC822.SIZE)` that builds the index and cache before the timed runs.
    async fn message_count_as(&self, user: &str) -> anyhow::Result<u32> {
        use futures::StreamExt as _;
        let mut session = self.imap_session_as(user).await?;
        let exists = session.select("INBOX").await.context("SELECT")?.exists;
        if exists > 0 {
            let fetches = session
                .uid_fetch("1:*", "(UID RFC822.SIZE)")
                .await
                .context("prime FETCH")?;
            let _: Vec<_> = fetches.collect().await;
        }
        session.logout().await.context("LOGOUT")?;
        Ok(exists)
    }
}
