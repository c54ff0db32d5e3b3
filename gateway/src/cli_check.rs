//! `intake check`: try every connection the config names and say, per part, what works.

use std::process::ExitCode;

use intake_config::{ChannelConfig, Config};

/// Checks Redis and each channel; exit status 1 when anything failed.
pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    let mut failures = 0;
    match check_redis(&config).await {
        Ok(version) => println!("redis {}: ok (redis {version})", config.redis.display_url()),
        Err(e) => {
            failures += 1;
            println!("redis {}: FAILED: {e}", config.redis.display_url());
        }
    }
    for channel in &config.channels {
        match channel {
            ChannelConfig::Email(email) => match intake_channels::email::check(email).await {
                Ok(report) => println!("channel {} (email): ok: {report}", email.name),
                Err(e) => {
                    failures += 1;
                    println!("channel {} (email): FAILED: {e}", email.name);
                }
            },
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn check_redis(config: &Config) -> anyhow::Result<String> {
    let client = redis::Client::open(config.redis.url.expose())?;
    let mut conn = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await
    .map_err(|_| anyhow::anyhow!("timed out connecting"))??;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn)
        .await?;
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("unknown")
        .trim()
        .to_string();
    // The append script needs EVALSHA and streams: Redis 5+; we test on 7.
    for stream in [&config.redis.stream, &config.redis.dead_letter_stream] {
        let kind: String = redis::cmd("TYPE")
            .arg(stream)
            .query_async(&mut conn)
            .await?;
        if kind != "stream" && kind != "none" {
            anyhow::bail!("key {stream} exists and is a {kind}, not a stream");
        }
    }
    Ok(version)
}
