//! The bench's servers and shared state: one redis-server and one Dovecot from the test harness,
//! one Dovecot user per mailbox, a work dir for configs, logs and blobs, and stream checks.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Context as _;
use futures::StreamExt as _;
use intake_tests::{Dovecot, RedisServer};
use tempfile::TempDir;

use crate::cli::Settings;

/// The password of every bench user.
pub const PASSWORD: &str = "bench";

#[derive(Debug)]
pub struct Env {
    pub settings: Settings,
    pub redis: RedisServer,
    pub dovecot: Dovecot,
    work: TempDir,
}

impl Env {
    /// Starts the servers with one Dovecot user per name in `users`.
    pub async fn start(settings: Settings, users: &[String]) -> anyhow::Result<Self> {
        let redis = RedisServer::start().await.context("start redis-server")?;
        let pairs: Vec<(&str, &str)> = users.iter().map(|u| (u.as_str(), PASSWORD)).collect();
        let dovecot = Dovecot::start_with_users(&pairs)
            .await
            .context("start dovecot")?;
        let work = tempfile::Builder::new()
            .prefix("intake-bench-")
            .tempdir()
            .context("bench work dir")?;
        Ok(Self {
            settings,
            redis,
            dovecot,
            work,
        })
    }

    /// A fresh, empty directory under the work dir.
    pub fn fresh_dir(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.work.path().join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clear {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        Ok(dir)
    }

    /// Keeps the work dir (configs, logs) after exit, for a failed run's post-mortem.
    pub fn keep_work_dir(self) -> PathBuf {
        self.work.keep()
    }

    /// FLUSHALL: no stream, no idempotency keys, no checkpoints.
    pub async fn flush_redis(&self) -> anyhow::Result<()> {
        let mut conn = self.redis.connection().await?;
        redis::cmd("FLUSHALL")
            .query_async::<()>(&mut conn)
            .await
            .context("FLUSHALL")
    }

    /// XLEN of each key, summed (missing keys count 0).
    pub async fn total_len(
        &self,
        conn: &mut redis::aio::MultiplexedConnection,
        keys: &[&str],
    ) -> anyhow::Result<u64> {
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.xlen(*key);
        }
        let lens: Vec<u64> = pipe.query_async(conn).await.context("XLEN")?;
        Ok(lens.iter().sum())
    }

    /// Checks that `streams` together hold exactly `expected` entries whose `idempotency_key`
    /// fields are all present and distinct. Returns the counts per stream.
    pub async fn check_unique(&self, streams: &[&str], expected: u64) -> anyhow::Result<Vec<u64>> {
        let mut keys = HashSet::new();
        let mut counts = Vec::new();
        for stream in streams {
            let entries = self.redis.read_stream(stream).await?;
            counts.push(entries.len() as u64);
            for (id, fields) in entries {
                let key = fields
                    .get("idempotency_key")
                    .with_context(|| format!("{stream} entry {id} has no idempotency_key"))?;
                anyhow::ensure!(
                    keys.insert(key.clone()),
                    "{stream} entry {id}: duplicate idempotency key {key}"
                );
            }
        }
        let total: u64 = counts.iter().sum();
        anyhow::ensure!(
            total == expected,
            "streams {streams:?} hold {total} entries ({counts:?}), expected exactly {expected}"
        );
        Ok(counts)
    }

    /// Clears `\Seen` on every message of `user`'s INBOX, so each run starts from the same state.
    pub async fn reset_seen(&self, user: &str) -> anyhow::Result<()> {
        let mut session = self.dovecot.imap_session_as(user).await?;
        session.select("INBOX").await.context("SELECT INBOX")?;
        {
            let updates = session
                .uid_store("1:*", "-FLAGS.SILENT (\\Seen)")
                .await
                .context("UID STORE -FLAGS")?;
            let _: Vec<_> = updates.collect().await;
        }
        session.logout().await.context("LOGOUT")
    }
}
