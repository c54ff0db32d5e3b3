//! The Telegram scenario: N updates queued in the fake Bot API (private text messages of varied
//! length from many users, shaped like the API's `Update`), taken by Intake (the release
//! `intake` binary polling with teloxide's client, cold start) and by
//! `../shared/peers/python_telegram_to_redis.py` in turn. Each run gets a fresh fake with the
//! same updates and a flushed Redis. Neither side downloads files (the updates carry none).

use std::time::Duration;

use anyhow::Context as _;
use intake_config::{ChannelConfig, TelegramMode};
use intake_tests::fake_telegram::{FakeTelegram, TOKEN, private_text};
use intake_tests::setup::{self, CASES, DEAD};
use serde_json::Value;
use tokio::time::Instant;

use crate::env::Env;
use crate::measured::Measured;
use crate::scenario::{RunResult, Side};

/// The peer's stream.
const PEER_STREAM: &str = "peer:cases";
const POLL: Duration = Duration::from_millis(2);

/// The queued updates.
#[derive(Debug)]
pub struct TelegramScenario {
    pub count: usize,
    updates: Vec<Value>,
    bytes: u64,
}

impl TelegramScenario {
    /// `count` updates from 500 users, texts of 20 to ~400 characters (fixed, no randomness).
    pub fn new(count: usize) -> Self {
        let sentence = "My order has not arrived and the tracking page shows no movement. ";
        let updates: Vec<Value> = (0..count)
            .map(|i| {
                let text = format!("#{i} {}", sentence.repeat(1 + i % 6));
                private_text(1_000_000 + (i % 500) as i64, &text)
            })
            .collect();
        let bytes = updates.iter().map(|u| u.to_string().len() as u64).sum();
        Self {
            count,
            updates,
            bytes,
        }
    }

    pub fn label(&self) -> String {
        "telegram/text".into()
    }

    /// A fake with every update queued.
    async fn fake(&self) -> anyhow::Result<FakeTelegram> {
        let fake = FakeTelegram::start().await?;
        for update in &self.updates {
            fake.push(update.clone());
        }
        Ok(fake)
    }

    pub async fn run_intake(&self, env: &Env, run: usize) -> anyhow::Result<RunResult> {
        env.flush_redis().await?;
        let fake = self.fake().await?;
        let dir = env.fresh_dir(&format!("intake-telegram-{run}"))?;
        let mut bot = setup::telegram_channel("bench", &fake.api_url());
        bot.mode = TelegramMode::Polling {
            timeout: Duration::from_secs(5),
            delete_webhook: false,
        };
        let config = setup::config_with(
            &env.redis,
            &dir.join("blobs"),
            vec![ChannelConfig::Telegram(bot)],
        );
        let config_path = dir.join("intake.toml");
        std::fs::write(
            &config_path,
            setup::config_toml(&config, intake_tests::free_port()?),
        )?;
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
            &[("TELEGRAM_TOKEN", TOKEN), ("RUST_LOG", "warn")],
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
            tokio::time::sleep_until(Instant::now() + POLL).await;
        };
        let terminated = child.terminate();
        let (usage, _) = child.finish().await?;
        let log = dir.join("intake.stderr");
        let elapsed = done.with_context(|| format!("intake log: {}", log.display()))?;
        terminated?;
        anyhow::ensure!(
            usage.code == Some(0),
            "intake exited with {:?} (log: {})",
            usage.code,
            log.display()
        );
        env.check_unique(&[CASES, DEAD], expected)
            .await
            .context("intake stream check")?;
        std::fs::remove_dir_all(dir.join("blobs")).ok();
        Ok(self.result(run, Side::Intake, elapsed, usage, first_entry))
    }

    pub async fn run_peer(&self, env: &Env, run: usize) -> anyhow::Result<RunResult> {
        env.flush_redis().await?;
        let fake = self.fake().await?;
        let dir = env.fresh_dir(&format!("peer-telegram-{run}"))?;
        let script = env
            .settings
            .peer_script
            .with_file_name("python_telegram_to_redis.py");
        let args = [
            script.display().to_string(),
            "--api-url".into(),
            fake.api_url(),
            "--token".into(),
            TOKEN.into(),
            "--count".into(),
            self.count.to_string(),
            "--redis-url".into(),
            env.redis.url(),
            "--stream".into(),
            PEER_STREAM.into(),
        ];
        let (stdout, stderr) = (dir.join("peer.stdout"), dir.join("peer.stderr"));
        let child = Measured::spawn(
            std::path::Path::new(&env.settings.python),
            &args,
            &[],
            &stdout,
            &stderr,
        )
        .await?;
        let limit = Duration::from_secs(120) + Duration::from_millis(20) * self.count as u32;
        let (usage, elapsed) = match tokio::time::timeout(limit, child.finish()).await {
            Ok(result) => result?,
            Err(_) => anyhow::bail!("the peer did not finish within {limit:?}"),
        };
        let errors = std::fs::read_to_string(&stderr).unwrap_or_default();
        anyhow::ensure!(
            usage.code == Some(0),
            "the peer exited with {:?}: {errors}",
            usage.code
        );
        let xlen = env.redis.stream_len(PEER_STREAM).await?;
        anyhow::ensure!(
            xlen == self.count as u64,
            "{PEER_STREAM} holds {xlen} entries, expected {}",
            self.count
        );
        Ok(self.result(run, Side::Peer, elapsed, usage, None))
    }

    fn result(
        &self,
        run: usize,
        side: Side,
        elapsed: Duration,
        usage: crate::measured::Usage,
        first_entry: Option<Duration>,
    ) -> RunResult {
        RunResult {
            scenario: self.label(),
            run,
            side,
            msgs: self.count as u64,
            bytes: self.bytes,
            secs: elapsed.as_secs_f64(),
            cpu_secs: usage.cpu_secs,
            max_rss_kib: usage.max_rss_kib,
            first_entry_ms: first_entry.map(|d| d.as_secs_f64() * 1e3),
        }
    }
}
