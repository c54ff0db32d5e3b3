//! `intake check`: try every connection the config names and say, per part, what works; for
//! Redis also what a crash can lose with its setup, and refuse one that evicts keys.

use std::process::ExitCode;

use intake_config::Config;
use intake_gateway::redis_setup::{self, Level, SetupReport};
use intake_gateway::registry;

/// Checks Redis and each channel; exit status 1 when anything failed.
pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    let mut failures = 0;
    let url = config.redis.display_url();
    match check_redis(&config).await {
        Ok(report) => {
            let version = report.version.as_deref().unwrap_or("version unknown");
            match report.refusal() {
                None => println!("redis {url}: ok (redis {version})"),
                Some(refusal) => {
                    failures += 1;
                    println!("redis {url}: FAILED: {refusal}");
                }
            }
            for finding in &report.findings {
                let level = match finding.level {
                    Level::Ok => "",
                    Level::Warn => "WARNING: ",
                    Level::Refuse => "REFUSED: ",
                };
                println!("  {}: {level}{}", finding.topic, finding.text);
            }
        }
        Err(e) => {
            failures += 1;
            println!("redis {url}: FAILED: {e}");
        }
    }
    for channel in &config.channels {
        let (name, kind) = (channel.name(), channel.kind());
        match registry::check(channel).await {
            Ok(report) => println!("channel {name} ({kind}): ok: {report}"),
            Err(e) => {
                failures += 1;
                println!("channel {name} ({kind}): FAILED: {e}");
            }
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Connects, checks that the stream keys hold streams (or nothing yet), and reads the server's
/// setup (`redis_setup`).
async fn check_redis(config: &Config) -> anyhow::Result<SetupReport> {
    let client = redis::Client::open(config.redis.url.expose())?;
    let mut conn = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await
    .map_err(|_| anyhow::anyhow!("timed out connecting"))??;
    for stream in [&config.redis.stream, &config.redis.dead_letter_stream] {
        let kind: String = redis::cmd("TYPE")
            .arg(stream)
            .query_async(&mut conn)
            .await?;
        if kind != "stream" && kind != "none" {
            anyhow::bail!("key {stream} exists and is a {kind}, not a stream");
        }
    }
    Ok(redis_setup::inspect(&mut conn, &config.redis.durability).await?)
}
