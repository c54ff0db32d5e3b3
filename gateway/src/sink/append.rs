//! Pipelined, idempotent appends of a batch of entries through the append script.

use std::time::Duration;

use intake_config::RedisConfig;
use redis::aio::ConnectionManager;
use redis::{Script, Value};

use super::SinkError;

const APPEND_SCRIPT: &str = include_str!("append.lua");

/// Which stream an entry goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Cases,
    DeadLetters,
}

/// One stream entry to append. `idempotency_keys` are unprefixed; the sink adds the deployment's
/// hash-tagged prefix.
#[derive(Debug, Clone)]
pub struct Entry {
    pub target: Target,
    pub idempotency_keys: Vec<String>,
    /// How many of `idempotency_keys`, from the first, find an earlier entry; the rest are
    /// only recorded.
    pub lookup_keys: usize,
    pub event: &'static str,
    pub channel: String,
    pub case_id: String,
    /// The case (or dead-letter) JSON document.
    pub document: String,
}

/// What happened to one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Appended now, with this stream entry id.
    Appended(String),
    /// Appended before (a redelivery); the id of that earlier entry.
    Duplicate(String),
}

impl AppendOutcome {
    pub fn entry_id(&self) -> &str {
        match self {
            AppendOutcome::Appended(id) | AppendOutcome::Duplicate(id) => id,
        }
    }
}

/// Appends entries to the case and dead-letter streams, exactly once per idempotency key.
#[derive(Clone)]
pub struct StreamSink {
    conn: ConnectionManager,
    script: Script,
    cases_stream: String,
    dead_stream: String,
    key_prefix: String,
    ttl_secs: u64,
}

impl std::fmt::Debug for StreamSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSink")
            .field("cases_stream", &self.cases_stream)
            .field("dead_stream", &self.dead_stream)
            .finish_non_exhaustive()
    }
}

impl StreamSink {
    pub fn new(conn: ConnectionManager, config: &RedisConfig) -> Self {
        StreamSink {
            conn,
            script: Script::new(APPEND_SCRIPT),
            cases_stream: config.stream.clone(),
            dead_stream: config.dead_letter_stream.clone(),
            key_prefix: config.key_prefix(),
            ttl_secs: config.dedupe_ttl.max(Duration::from_secs(1)).as_secs(),
        }
    }

    /// Appends `entries` in one round trip. The outer error means nothing is known about the
    /// batch (send it again: the script makes that safe); otherwise one result per entry, in
    /// order.
    pub async fn append(
        &mut self,
        entries: &[Entry],
    ) -> Result<Vec<Result<AppendOutcome, SinkError>>, SinkError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut replies = self
            .send(entries)
            .await
            .map_err(|e| SinkError::from_redis(&e))?;
        if replies.iter().any(is_noscript) {
            // Redis lost its script cache (a restart) since the last batch: load the script and
            // send the whole batch again, which the script makes safe.
            self.load_script().await?;
            replies = self
                .send(entries)
                .await
                .map_err(|e| SinkError::from_redis(&e))?;
        }
        Ok(replies.into_iter().map(parse_reply).collect())
    }

    async fn load_script(&mut self) -> Result<(), SinkError> {
        self.script
            .prepare_invoke()
            .load_async(&mut self.conn)
            .await
            .map(|_| ())
            .map_err(|e| SinkError::from_redis(&e))
    }

    async fn send(
        &mut self,
        entries: &[Entry],
    ) -> redis::RedisResult<Vec<redis::RedisResult<Value>>> {
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for entry in entries {
            let stream = match entry.target {
                Target::Cases => &self.cases_stream,
                Target::DeadLetters => &self.dead_stream,
            };
            let doc_field = match entry.target {
                Target::Cases => "case",
                Target::DeadLetters => "dead_letter",
            };
            let primary = entry
                .idempotency_keys
                .first()
                .map(String::as_str)
                .unwrap_or("");
            let cmd = pipe
                .cmd("EVALSHA")
                .arg(self.script.get_hash())
                .arg(1 + entry.idempotency_keys.len())
                .arg(stream);
            for key in &entry.idempotency_keys {
                cmd.arg(format!("{}:idem:{key}", self.key_prefix));
            }
            cmd.arg(self.ttl_secs)
                .arg(entry.lookup_keys.max(1))
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
                .arg(doc_field)
                .arg(&entry.document);
        }
        pipe.query_async(&mut self.conn).await
    }
}

fn is_noscript(reply: &redis::RedisResult<Value>) -> bool {
    matches!(reply, Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript))
}

fn parse_reply(reply: redis::RedisResult<Value>) -> Result<AppendOutcome, SinkError> {
    let value = reply.map_err(|e| SinkError::from_redis(&e))?;
    let parsed: Result<(i64, String), _> = redis::from_redis_value(value);
    match parsed {
        Ok((1, id)) => Ok(AppendOutcome::Appended(id)),
        Ok((_, id)) => Ok(AppendOutcome::Duplicate(id)),
        Err(e) => Err(SinkError::Rejected {
            detail: format!("unexpected reply from the append script: {e}"),
        }),
    }
}
