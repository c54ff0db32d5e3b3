//! What Redis itself costs per case, without the append script: the commands the script runs for
//! a new case (GET of the lookup key, XADD of the ~2 KB entry, SET NX EX of both idempotency
//! keys), sent as one plain pipeline per batch, one batch in flight. Not exactly-once (nothing
//! ties the SETs to the XADD); a floor for the sink, so a slow sink and a slow Redis can be told
//! apart.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use intake_gateway::sink::Entry;
use intake_tests::RedisServer;

use super::sink::{SinkRate, entry, own_cpu_secs, redis_cpu_secs};

/// Stands in for the entry id the script records: the same length as a real one.
const PLACEHOLDER_ID: &str = "1700000000000-0";

/// Sends `cases` synthetic cases as plain commands in pipelines of `batch` cases to `redis`
/// after a FLUSHALL.
pub async fn redis_floor_rate(
    redis: &RedisServer,
    dir: &Path,
    cases: usize,
    batch: usize,
) -> anyhow::Result<SinkRate> {
    let mut conn = redis.connection().await?;
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut conn)
        .await
        .context("FLUSHALL")?;
    let config = intake_tests::setup::config(redis, dir, Vec::new()).redis;
    let prefix = config.key_prefix();
    let ttl = config.dedupe_ttl.as_secs().max(1);
    // Built before the clock starts: only sending and Redis' work are timed.
    let pipelines: Vec<redis::Pipeline> = (0..cases)
        .collect::<Vec<_>>()
        .chunks(batch.max(1))
        .map(|chunk| {
            let mut pipe = redis::pipe();
            for &n in chunk {
                add_case(&mut pipe, &entry(n), &config.stream, &prefix, ttl);
            }
            pipe
        })
        .collect();
    let redis_cpu_before = redis_cpu_secs(&mut conn).await?;
    let client_cpu_before = own_cpu_secs()?;
    let started = Instant::now();
    for pipe in &pipelines {
        pipe.query_async::<()>(&mut conn)
            .await
            .context("raw pipeline")?;
    }
    let secs = started.elapsed().as_secs_f64();
    let client_cpu_secs = own_cpu_secs()? - client_cpu_before;
    let redis_cpu_secs = redis_cpu_secs(&mut conn).await? - redis_cpu_before;
    let xlen = redis.stream_len(&config.stream).await?;
    anyhow::ensure!(
        xlen == cases as u64,
        "raw pipelines wrote {xlen} entries, expected {cases}"
    );
    Ok(SinkRate {
        batch,
        cases: xlen,
        secs,
        redis_cpu_secs,
        client_cpu_secs,
    })
}

fn add_case(pipe: &mut redis::Pipeline, entry: &Entry, stream: &str, prefix: &str, ttl: u64) {
    let keys: Vec<String> = entry
        .idempotency_keys
        .iter()
        .map(|k| format!("{prefix}:idem:{k}"))
        .collect();
    let primary = entry.idempotency_keys.first().map_or("", String::as_str);
    if let Some(lookup) = keys.first() {
        pipe.cmd("GET").arg(lookup).ignore();
    }
    pipe.cmd("XADD")
        .arg(stream)
        .arg("*")
        .arg("v")
        .arg(intake_normalizer::SCHEMA_VERSION)
        .arg("event")
        .arg(entry.event)
        .arg("channel")
        .arg(&entry.channel)
        .arg("idempotency_key")
        .arg(primary)
        .arg("case_id")
        .arg(&entry.case_id)
        .arg("case")
        .arg(&entry.document)
        .ignore();
    for key in &keys {
        pipe.cmd("SET")
            .arg(key)
            .arg(PLACEHOLDER_ID)
            .arg("NX")
            .arg("EX")
            .arg(ttl)
            .ignore();
    }
}
