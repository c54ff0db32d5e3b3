//! `intake ingest --config FILE --channel NAME`: one RFC 5322 message on stdin into the stream
//! through a `type = "pipe"` channel, for MTA pipe transports (Postfix `pipe(8)`, Exim's pipe
//! transport, procmail), the way rt-mailgate works.
//!
//! The exit status is the MTA's ack: 0 only once the case (or its dead letter) is durable;
//! 75 (EX_TEMPFAIL) for anything else, so the MTA keeps the message queued and pipes it again
//! later. That includes a broken config or an unknown channel: mail waits in the queue while
//! an operator fixes it instead of bouncing. Redis is pinged first with a short timeout, so an
//! outage answers 75 within seconds. Piping the same message twice lands it once (the key is
//! the Message-ID plus the content hash). The message goes through the same worker, sink,
//! blob store and email normalizer as IMAP's.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use intake_channels::{BuildContext, SharedPolicy};
use intake_config::{ChannelConfig, Config, PipeConfig};
use intake_gateway::blobs::BlobStore;
use intake_gateway::checkpoint::RedisCheckpoints;
use intake_gateway::conversation::ConversationStore;
use intake_gateway::health::{BLOBS_PART, Health};
use intake_gateway::redis_conn::{self, REDIS_PART};
use intake_gateway::registry::Launcher;
use intake_gateway::runtime::{compile_subject_tags, language_detector};
use intake_gateway::sink::StreamSink;
use intake_gateway::worker::Shutdown;
use tokio::task::JoinSet;

use crate::cli_config::{self, Needs};

/// sysexits.h EX_TEMPFAIL: "try again later"; every MTA queues the message on it.
pub const EX_TEMPFAIL: u8 = 75;

/// How long Redis may take to answer the first PING before the message is deferred.
const REDIS_PROBE: Duration = Duration::from_secs(3);

/// Runs the command; every failure is reported on stderr and answered with EX_TEMPFAIL.
pub fn run(config_path: &Path, channel: &str) -> ExitCode {
    let Ok(config) = cli_config::load(config_path, Needs::Redis) else {
        // `load` printed the problems.
        return tempfail("the config is invalid");
    };
    let Some(pipe) = find_pipe(&config, channel) else {
        return tempfail(&format!(
            "no [[channels]] entry of type \"pipe\" named {channel:?}"
        ));
    };
    let (raw, size) = match read_stdin(pipe.max_message_bytes) {
        Ok(read) => read,
        Err(e) => return tempfail(&format!("reading the message on stdin failed: {e}")),
    };
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|runtime| runtime.block_on(ingest(config, pipe, raw, size)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => tempfail(&format!("{e:#}")),
    }
}

fn tempfail(reason: &str) -> ExitCode {
    tracing::warn!(reason, "message not ingested; the mta should retry");
    eprintln!("intake ingest: {reason}; exiting 75 (EX_TEMPFAIL) so the MTA retries");
    ExitCode::from(EX_TEMPFAIL)
}

fn find_pipe(config: &Config, name: &str) -> Option<PipeConfig> {
    config.channels.iter().find_map(|c| match c {
        ChannelConfig::Pipe(pipe) if pipe.name == name => Some(pipe.clone()),
        _ => None,
    })
}

/// The message, at most `limit` bytes of it, and how many bytes were offered in all. The rest
/// of an oversized message is read and dropped, so the MTA's write never fails.
fn read_stdin(limit: u64) -> std::io::Result<(Vec<u8>, u64)> {
    let mut stdin = std::io::stdin().lock();
    let mut raw = Vec::new();
    (&mut stdin)
        .take(limit.saturating_add(1))
        .read_to_end(&mut raw)?;
    let extra = std::io::copy(&mut stdin, &mut std::io::sink())?;
    let size = raw.len() as u64 + extra;
    Ok((raw, size))
}

async fn ingest(config: Config, pipe: PipeConfig, raw: Vec<u8>, size: u64) -> anyhow::Result<()> {
    let conn = redis_conn::connect(&config.redis)?;
    probe_redis(conn.clone(), &config.redis.display_url()).await?;
    let blobs = BlobStore::new(&config.blobs.dir);
    blobs
        .ensure_root()
        .with_context(|| format!("blob directory {}", config.blobs.dir.display()))?;
    let health = Health::new();
    for part in [REDIS_PART, BLOBS_PART] {
        health.register(part);
        health.up(part);
    }
    let shutdown = Shutdown::default();
    let ctx = BuildContext {
        checkpoints: RedisCheckpoints::new(conn.clone(), &config.redis.key_prefix()),
        stop: shutdown.stop.clone(),
        policy: Arc::new(SharedPolicy {
            subject_tags: compile_subject_tags(&config.conversations)?,
            languages: language_detector(&config.conversations)?,
        }),
        ingest: health.ingest(),
    };
    let mut launcher = Launcher {
        redis: config.redis.clone(),
        sink: StreamSink::new(conn.clone(), &config.redis),
        conversations: ConversationStore::new(
            conn,
            &config.redis.key_prefix(),
            &config.conversations,
        ),
        blobs,
        health,
        shutdown: shutdown.clone(),
        workers: JoinSet::new(),
        routes: Vec::new(),
    };
    let (built, sender) = intake_channels::pipe::build(&pipe, &ctx);
    launcher.launch(built);
    let received_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string());
    let inbound = intake_channels::pipe::inbound(&pipe, raw, size, received_at);
    let delivered = sender.deliver(inbound).await;
    shutdown.stop.cancel();
    shutdown.abort.cancel();
    let mut workers = launcher.workers;
    if tokio::time::timeout(Duration::from_secs(2), async {
        while workers.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        workers.abort_all();
    }
    delivered.map_err(|refused| anyhow::anyhow!("not durable: {refused}"))?;
    tracing::info!(channel = %pipe.name, bytes = size, "message ingested");
    Ok(())
}

/// A PING within [`REDIS_PROBE`]: a Redis that is down defers the message at once instead of
/// after the worker's retries.
async fn probe_redis(mut conn: redis::aio::ConnectionManager, url: &str) -> anyhow::Result<()> {
    let ping = redis::cmd("PING");
    match tokio::time::timeout(REDIS_PROBE, ping.query_async::<String>(&mut conn)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(anyhow::anyhow!("redis {url} is unavailable: {e}")),
        Err(_) => Err(anyhow::anyhow!(
            "redis {url} did not answer within {REDIS_PROBE:?}"
        )),
    }
}
