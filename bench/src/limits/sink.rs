//! The stream append path alone: `intake_gateway::sink::StreamSink` fed by a synthetic
//! in-process source with batches of ~2 KB case documents, one batch in flight at a time as
//! the channel worker does, against the bench's redis-server. Besides the rate it reports the
//! CPU each side spent per case (redis-server from `INFO cpu`, the bench process from its
//! rusage), which tells whether a side is saturated or both wait on each other.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use intake_gateway::sink::{Entry, StreamSink, Target};
use intake_tests::RedisServer;
use serde_json::json;

/// Cases appended per second for one batch size.
#[derive(Debug, Clone, Copy)]
pub struct SinkRate {
    pub batch: usize,
    pub cases: u64,
    pub secs: f64,
    /// CPU seconds redis-server spent during the timed appends.
    pub redis_cpu_secs: f64,
    /// CPU seconds this process (the sink and its runtime) spent during the timed appends.
    pub client_cpu_secs: f64,
}

impl SinkRate {
    pub fn cases_per_sec(&self) -> f64 {
        self.cases as f64 / self.secs
    }

    /// redis-server CPU per case, in microseconds.
    pub fn redis_us_per_case(&self) -> f64 {
        self.redis_cpu_secs * 1e6 / self.cases as f64
    }

    /// Bench-process CPU per case, in microseconds.
    pub fn client_us_per_case(&self) -> f64 {
        self.client_cpu_secs * 1e6 / self.cases as f64
    }
}

/// Appends `cases` synthetic cases in batches of `batch` to `redis` after a FLUSHALL, checking
/// that every one was appended (none reported as a duplicate). `dir` holds the gateway config's
/// paths (unused by the sink).
pub async fn sink_rate(
    redis: &RedisServer,
    dir: &Path,
    cases: usize,
    batch: usize,
) -> anyhow::Result<SinkRate> {
    let mut admin = redis.connection().await?;
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut admin)
        .await
        .context("FLUSHALL")?;
    let config = intake_tests::setup::config(redis, dir, Vec::new()).redis;
    let conn = intake_gateway::redis_conn::connect(&config)?;
    let mut sink = StreamSink::new(conn, &config);
    let batches: Vec<Vec<Entry>> = (0..cases)
        .collect::<Vec<_>>()
        .chunks(batch.max(1))
        .map(|chunk| chunk.iter().map(|&n| entry(n)).collect())
        .collect();
    let redis_cpu_before = redis_cpu_secs(&mut admin).await?;
    let client_cpu_before = own_cpu_secs()?;
    let started = Instant::now();
    let mut appended = 0u64;
    for entries in &batches {
        let results = sink.append(entries).await.context("sink append")?;
        for result in results {
            match result {
                Ok(intake_gateway::sink::AppendOutcome::Appended(_)) => appended += 1,
                Ok(other) => anyhow::bail!("synthetic case appended twice: {other:?}"),
                Err(e) => anyhow::bail!("append failed: {e}"),
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let client_cpu_secs = own_cpu_secs()? - client_cpu_before;
    let redis_cpu_secs = redis_cpu_secs(&mut admin).await? - redis_cpu_before;
    let xlen = redis.stream_len(&config.stream).await?;
    anyhow::ensure!(
        xlen == cases as u64 && appended == xlen,
        "sink wrote {xlen} entries, expected {cases}"
    );
    Ok(SinkRate {
        batch,
        cases: appended,
        secs,
        redis_cpu_secs,
        client_cpu_secs,
    })
}

/// `used_cpu_user + used_cpu_sys` of redis-server (every thread), from `INFO cpu`.
pub(crate) async fn redis_cpu_secs(
    conn: &mut redis::aio::MultiplexedConnection,
) -> anyhow::Result<f64> {
    let info: String = redis::cmd("INFO")
        .arg("cpu")
        .query_async(conn)
        .await
        .context("INFO cpu")?;
    let field = |name: &str| -> anyhow::Result<f64> {
        info.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .with_context(|| format!("INFO cpu has no {name}"))?
            .trim()
            .parse::<f64>()
            .with_context(|| format!("INFO cpu {name}"))
    };
    Ok(field("used_cpu_user")? + field("used_cpu_sys")?)
}

/// User + system CPU seconds of this process (every thread).
pub(crate) fn own_cpu_secs() -> anyhow::Result<f64> {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_SELF).context("getrusage")?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Ok(secs(usage.user_time()) + secs(usage.system_time()))
}

/// A case-shaped entry of about 2 KB with email-style idempotency keys.
pub(crate) fn entry(n: usize) -> Entry {
    let key = format!("email:bench@127.0.0.1:INBOX:1:{n}");
    let case_id = format!("0190b6a0-0000-7000-8000-{n:012}");
    let text =
        "Hello, my order #12345 has not arrived yet. Could you check where it is? ".repeat(16);
    let document = json!({
        "schema_version": 1,
        "event": "message.received",
        "case_id": case_id,
        "idempotency_key": key,
        "channel": {"kind": "email", "name": "bench"},
        "source": {"message_id": format!("<{n}@example.com>"),
                   "imap": {"mailbox": "INBOX", "uidvalidity": 1, "uid": n}},
        "conversation": {"key": format!("<{n}@example.com>"), "is_new": true, "hints": []},
        "sender": {"name": "Jane Customer", "address": "jane@example.com", "kind": "person"},
        "recipients": {"to": ["support@example.com"], "cc": []},
        "subject": "Where is my order?",
        "body": {"text": text, "html": null, "reply_text": "Hello, my order has not arrived yet."},
        "attachments": [],
        "sent_at": "2025-01-01T12:00:00Z",
        "received_at": "2025-01-01T12:00:01Z",
        "language": "en",
        "classification": {"auto_submitted": false, "bounce": false, "mailing_list": false,
                           "loop_suspect": false},
        "raw_ref": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
    })
    .to_string();
    Entry {
        target: Target::Cases,
        idempotency_keys: vec![key, format!("email:bench@127.0.0.1:INBOX:sha256:{n:064}")],
        lookup_keys: 1,
        event: "message.received",
        channel: "bench".into(),
        case_id,
        document,
    }
}
