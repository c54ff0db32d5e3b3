//! One Intake run over a mailbox: a fresh Redis (FLUSHALL), `\Seen` cleared, a fresh blob dir,
//! the release `intake` binary spawned cold with a generated config, timed until the case and
//! dead-letter streams hold all N entries, then SIGTERM and a completeness check.

use std::time::Duration;

use anyhow::Context as _;
use intake_config::AfterIngest;
use intake_tests::setup::{self, CASES, DEAD};
use tokio::time::Instant;

use super::EmailScenario;
use crate::env::{Env, PASSWORD};
use crate::measured::Measured;
use crate::scenario::{RunResult, Side};

/// How often XLEN is polled while Intake runs.
const POLL: Duration = Duration::from_millis(2);

impl EmailScenario {
    pub async fn run_intake(&self, env: &Env, run: usize) -> anyhow::Result<RunResult> {
        env.flush_redis().await?;
        env.reset_seen(&self.user).await?;
        let dir = env.fresh_dir(&format!("intake-{}-{run}", self.mailbox()))?;
        let config_path = self.write_config(env, &dir)?;
        let mut conn = env.redis.connection().await?;
        let expected = self.count as u64;
        let deadline = Duration::from_secs(60) + Duration::from_millis(10) * self.count as u32;

        let child = Measured::spawn(
            &env.settings.intake,
            &[
                "run".into(),
                "--config".into(),
                config_path.display().to_string(),
            ],
            &[("IMAP_PASSWORD", PASSWORD), ("RUST_LOG", "warn")],
            &dir.join("intake.stdout"),
            &dir.join("intake.stderr"),
        )
        .await?;
        let mut first_entry = None;
        let done = loop {
            let total = env.total_len(&mut conn, &[CASES, DEAD]).await?;
            let elapsed = child.started.elapsed();
            if total >= 1 && first_entry.is_none() {
                first_entry = Some(elapsed);
            }
            if total >= expected {
                break Ok(elapsed);
            }
            if elapsed > deadline {
                break Err(anyhow::anyhow!(
                    "intake wrote {total} of {expected} entries within {deadline:?}"
                ));
            }
            if !process_alive(child.pid()) {
                break Err(anyhow::anyhow!(
                    "intake exited after {total} of {expected} entries"
                ));
            }
            tokio::time::sleep_until(Instant::now() + POLL).await;
        };
        let terminated = child.terminate();
        let (usage, _) = child.finish().await?;
        let log = dir.join("intake.stderr");
        let elapsed = done.with_context(|| format!("intake log: {}", log.display()))?;
        terminated?;
        anyhow::ensure!(
            usage.code == Some(0),
            "intake exited with {:?} after SIGTERM (log: {})",
            usage.code,
            log.display()
        );
        env.check_unique(&[CASES, DEAD], expected)
            .await
            .context("intake stream check")?;
        std::fs::remove_dir_all(dir.join("blobs")).ok();
        Ok(RunResult {
            scenario: format!("email/{}", self.mailbox()),
            run,
            side: Side::Intake,
            msgs: expected,
            bytes: self.bytes,
            secs: elapsed.as_secs_f64(),
            cpu_secs: usage.cpu_secs,
            max_rss_kib: usage.max_rss_kib,
            first_entry_ms: first_entry.map(|d| d.as_secs_f64() * 1e3),
        })
    }

    /// The gateway's TOML for this mailbox: tls none, `after_ingest = "seen"`, the bench's
    /// batch size, blobs under `dir`.
    fn write_config(&self, env: &Env, dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
        let mut channel = setup::email_channel(&env.dovecot, "bench", "INBOX");
        channel.username = self.user.clone();
        channel.after_ingest = AfterIngest::Seen;
        channel.batch_size = env.settings.batch;
        let config = setup::config(&env.redis, &dir.join("blobs"), vec![channel]);
        let http_port = intake_tests::free_port()?;
        let path = dir.join("intake.toml");
        std::fs::write(&path, setup::config_toml(&config, http_port))
            .with_context(|| format!("write {}", path.display()))?;
        Ok(path)
    }
}

/// True while `pid` exists and is not a zombie.
fn process_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next())
        })
        .is_some_and(|state| state != 'Z' && state != 'X')
}
