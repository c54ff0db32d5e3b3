//! One run of the Python peer (`../shared/peers/python_imap_to_redis.py`) over a mailbox: it
//! reads the mailbox read-only and XADDs one JSON record per message to `peer:cases`. Timed
//! from spawn to exit (interpreter start-up included, as Intake's cold start is).

use std::time::Duration;

use anyhow::Context as _;

use super::EmailScenario;
use crate::env::{Env, PASSWORD};
use crate::measured::Measured;
use crate::scenario::{RunResult, Side};

/// The peer's stream.
pub const PEER_STREAM: &str = "peer:cases";

impl EmailScenario {
    pub async fn run_peer(&self, env: &Env, run: usize) -> anyhow::Result<RunResult> {
        env.flush_redis().await?;
        let dir = env.fresh_dir(&format!("peer-{}-{run}", self.mailbox()))?;
        let settings = &env.settings;
        let args = [
            settings.peer_script.display().to_string(),
            "--imap-port".into(),
            env.dovecot.port().to_string(),
            "--user".into(),
            self.user.clone(),
            "--password".into(),
            PASSWORD.into(),
            "--redis-url".into(),
            env.redis.url(),
            "--stream".into(),
            PEER_STREAM.into(),
            "--batch".into(),
            settings.batch.to_string(),
        ];
        let stdout = dir.join("peer.stdout");
        let stderr = dir.join("peer.stderr");
        let child = Measured::spawn(
            std::path::Path::new(&settings.python),
            &args,
            &[],
            &stdout,
            &stderr,
        )
        .await?;
        let limit = Duration::from_secs(120) + Duration::from_millis(20) * self.count as u32;
        let finished = tokio::time::timeout(limit, child.finish()).await;
        let (usage, elapsed) = match finished {
            Ok(result) => result?,
            Err(_) => anyhow::bail!("the peer did not finish within {limit:?}"),
        };
        let errors = std::fs::read_to_string(&stderr).unwrap_or_default();
        anyhow::ensure!(
            usage.code == Some(0),
            "the peer exited with {:?}: {errors}",
            usage.code
        );
        let report = std::fs::read_to_string(&stdout).context("peer output")?;
        let report: serde_json::Value = serde_json::from_str(report.trim())
            .with_context(|| format!("peer output {report:?}"))?;
        let expected = self.count as u64;
        anyhow::ensure!(
            report["msgs"].as_u64() == Some(expected) && report["xlen"].as_u64() == Some(expected),
            "the peer processed {} and its stream holds {} entries, expected {expected}",
            report["msgs"],
            report["xlen"]
        );
        let xlen = env.redis.stream_len(PEER_STREAM).await?;
        anyhow::ensure!(
            xlen == expected,
            "{PEER_STREAM} holds {xlen} entries, expected {expected}"
        );
        Ok(RunResult {
            scenario: format!("email/{}", self.mailbox()),
            run,
            side: Side::Peer,
            msgs: expected,
            bytes: self.bytes,
            secs: elapsed.as_secs_f64(),
            cpu_secs: usage.cpu_secs,
            max_rss_kib: usage.max_rss_kib,
            first_entry_ms: None,
        })
    }
}
