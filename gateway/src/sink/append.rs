//! Pipelined, idempotent appends of a batch of entries through the append script.

use std::time::Duration;

use intake_config::RedisConfig;
use redis::aio::ConnectionManager;
use redis::{Script, Value};

use super::SinkError;

const APPEND_SCRIPT: &str = include_str!("append.lua");

/// Entries per script call. One call per batch is the fast path; the cap bounds how long one
/// call blocks Redis (a few milliseconds) and the size of one command.
pub const MAX_SCRIPT_ENTRIES: usize = 500;

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

    /// Appends `entries` in one round trip (one script call per [`MAX_SCRIPT_ENTRIES`]). The
    /// outer error means nothing is known about the batch (send it again: the script makes that
    /// safe); otherwise one result per entry, in order.
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
        let mut outcomes = Vec::with_capacity(entries.len());
        for (chunk, reply) in entries.chunks(MAX_SCRIPT_ENTRIES).zip(replies) {
            outcomes.extend(parse_reply(reply, chunk.len()));
        }
        Ok(outcomes)
    }

    async fn load_script(&mut self) -> Result<(), SinkError> {
        self.script
            .prepare_invoke()
            .load_async(&mut self.conn)
            .await
            .map(|_| ())
            .map_err(|e| SinkError::from_redis(&e))
    }

    /// One pipeline of script calls, each appending up to [`MAX_SCRIPT_ENTRIES`] entries.
    async fn send(
        &mut self,
        entries: &[Entry],
    ) -> redis::RedisResult<Vec<redis::RedisResult<Value>>> {
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for chunk in entries.chunks(MAX_SCRIPT_ENTRIES) {
            let nkeys: usize = chunk.iter().map(|e| e.idempotency_keys.len()).sum();
            let cmd = pipe
                .cmd("EVALSHA")
                .arg(self.script.get_hash())
                .arg(2 + nkeys)
                .arg(&self.cases_stream)
                .arg(&self.dead_stream);
            for entry in chunk {
                for key in &entry.idempotency_keys {
                    cmd.arg(format!("{}:idem:{key}", self.key_prefix));
                }
            }
            cmd.arg(self.ttl_secs).arg(chunk.len());
            for entry in chunk {
                let (target, doc_field) = match entry.target {
                    Target::Cases => (1, "case"),
                    Target::DeadLetters => (2, "dead_letter"),
                };
                let primary = entry.idempotency_keys.first().map_or("", String::as_str);
                cmd.arg(target)
                    .arg(entry.idempotency_keys.len())
                    .arg(entry.lookup_keys.max(1))
                    .arg(intake_normalizer::SCHEMA_VERSION)
                    .arg(entry.event)
                    .arg(&entry.channel)
                    .arg(primary)
                    .arg(&entry.case_id)
                    .arg(doc_field)
                    .arg(&entry.document);
            }
        }
        pipe.query_async(&mut self.conn).await
    }
}

fn is_noscript(reply: &redis::RedisResult<Value>) -> bool {
    matches!(reply, Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript))
}

/// The outcomes of one script call over `n` entries; a failed call fails all of them.
fn parse_reply(
    reply: redis::RedisResult<Value>,
    n: usize,
) -> Vec<Result<AppendOutcome, SinkError>> {
    let pairs: Result<Vec<(i64, String)>, SinkError> = reply
        .map_err(|e| SinkError::from_redis(&e))
        .and_then(|value| {
            let flat: Vec<Value> = redis::from_redis_value(value).map_err(|e| rejected(&e))?;
            flat.chunks(2)
                .map(|pair| match pair {
                    [flag, id] => Ok((
                        redis::from_redis_value_ref(flag).map_err(|e| rejected(&e))?,
                        redis::from_redis_value_ref(id).map_err(|e| rejected(&e))?,
                    )),
                    _ => Err(rejected(&"odd number of values")),
                })
                .collect()
        });
    match pairs {
        Ok(pairs) if pairs.len() == n => pairs
            .into_iter()
            .map(|(flag, id)| {
                Ok(if flag == 1 {
                    AppendOutcome::Appended(id)
                } else {
                    AppendOutcome::Duplicate(id)
                })
            })
            .collect(),
        Ok(pairs) => (0..n)
            .map(|_| {
                Err(rejected(&format!(
                    "{} outcomes for {n} entries",
                    pairs.len()
                )))
            })
            .collect(),
        Err(e) => vec![Err(e); n],
    }
}

fn rejected(e: &dyn std::fmt::Display) -> SinkError {
    SinkError::Rejected {
        detail: format!("unexpected reply from the append script: {e}"),
    }
}
