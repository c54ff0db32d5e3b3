//! Idempotent appends of a batch of entries through the append script: one pipeline of gated
//! script calls per batch, and a reload of the script when Redis lost it.

use std::time::Duration;

use intake_config::RedisConfig;
use redis::aio::ConnectionManager;
use redis::{Script, Value};

use super::SinkError;
use super::durability::Wait;
use super::entry::{AppendOutcome, Entry};
use super::parts::{self, Encoder};

const APPEND_SCRIPT: &str = include_str!("append.lua");

/// Appends entries to the case and dead-letter streams, exactly once per idempotency key.
#[derive(Clone)]
pub struct StreamSink {
    conn: ConnectionManager,
    script: Script,
    cases_stream: String,
    dead_stream: String,
    key_prefix: String,
    ttl_secs: u64,
    wait: Wait,
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
            wait: Wait::new(config),
        }
    }

    /// The same sink on another connection (a worker's own: `worker/thread.rs`), sharing
    /// what was learned of the server's setup.
    pub fn with_connection(&self, conn: ConnectionManager) -> Self {
        StreamSink {
            conn,
            ..self.clone()
        }
    }

    /// Reads and judges the server's setup now instead of before the first append; a setup
    /// that could lose or duplicate entries is `SetupRefused`.
    pub async fn check_setup(&mut self) -> Result<(), SinkError> {
        self.wait.ensure_setup(&mut self.conn).await
    }

    /// Appends `entries` in one round trip: one pipeline of script calls over parts of the
    /// batch (see [`parts::split`]), which Redis runs in order on one connection. A part runs
    /// only if the one before it ran to the end, so what is appended is always in receive
    /// order. The outer error means nothing is known about the batch (send it again: the script
    /// makes that safe); otherwise one result per entry, in order, where the entries after a
    /// failed one fail too.
    pub async fn append(
        &mut self,
        entries: &[Entry],
    ) -> Result<Vec<Result<AppendOutcome, SinkError>>, SinkError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        self.check_setup().await?;
        let parts = parts::split(entries, &self.key_prefix);
        let replies = self
            .send(&parts)
            .await
            .map_err(|e| SinkError::from_redis(&e))?;
        let mut outcomes = Vec::with_capacity(entries.len());
        let Some(Failed {
            at: failed,
            noscript: true,
        }) = collect(&parts, replies, &mut outcomes)
        else {
            return Ok(outcomes);
        };
        // Redis lost its script cache (a restart, SCRIPT FLUSH) since the last batch. The parts
        // before the failed one ran; load the script and send the rest again.
        outcomes.truncate(failed);
        let rest = &entries[failed..];
        let parts = parts::split(rest, &self.key_prefix);
        let resent = match self.load_script().await {
            Ok(()) => self
                .send(&parts)
                .await
                .map_err(|e| SinkError::from_redis(&e)),
            Err(e) => Err(e),
        };
        match resent {
            Ok(replies) => {
                collect(&parts, replies, &mut outcomes);
            }
            // What ran before stays known; the rest is retried by the caller.
            Err(e) => outcomes.extend(rest.iter().map(|_| Err(e.clone()))),
        }
        Ok(outcomes)
    }

    /// Whether Redis answers now: after a failed append, tells an outage (no answer) from a
    /// command Redis refused or would not read (it answers).
    pub async fn ping(&mut self) -> bool {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn)
            .await
            .is_ok()
    }

    async fn load_script(&mut self) -> Result<(), SinkError> {
        self.script
            .prepare_invoke()
            .load_async(&mut self.conn)
            .await
            .map(|_| ())
            .map_err(|e| SinkError::from_redis(&e))
    }

    /// One pipeline of gated script calls, then the configured wait; one reply per part, or
    /// an error for all when the wait was not met.
    async fn send(
        &mut self,
        parts: &[&[Entry]],
    ) -> redis::RedisResult<Vec<redis::RedisResult<Value>>> {
        let mut pipe = Encoder {
            sha: self.script.get_hash(),
            cases_stream: &self.cases_stream,
            dead_stream: &self.dead_stream,
            key_prefix: &self.key_prefix,
            ttl_secs: self.ttl_secs,
        }
        .pipeline(parts);
        self.wait.extend(&mut pipe);
        self.wait.settle(pipe.query_async(&mut self.conn).await?)
    }
}

/// The first part of a send that failed.
struct Failed {
    /// Index into the sent entries of the part's first entry.
    at: usize,
    /// Redis did not know the script.
    noscript: bool,
}

/// Appends the outcomes of the entries of `parts`, from one reply per part, to `outcomes`, and
/// says which part failed first, if any.
fn collect(
    parts: &[&[Entry]],
    replies: Vec<redis::RedisResult<Value>>,
    outcomes: &mut Vec<Result<AppendOutcome, SinkError>>,
) -> Option<Failed> {
    let mut failed = None;
    let mut replies = replies.into_iter();
    let mut at = 0;
    for part in parts {
        let reply = replies.next().unwrap_or_else(|| {
            Err(redis::RedisError::from((
                redis::ErrorKind::Client,
                "fewer replies than script calls",
            )))
        });
        let noscript = is_noscript(&reply);
        let start = outcomes.len();
        outcomes.extend(parts::parse_reply(reply, part.len()));
        if failed.is_none() && outcomes[start..].iter().any(Result::is_err) {
            failed = Some(Failed { at, noscript });
        }
        at += part.len();
    }
    failed
}

fn is_noscript(reply: &redis::RedisResult<Value>) -> bool {
    matches!(reply, Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::sink::Target;

    fn entry(n: usize) -> Entry {
        Entry {
            target: Target::Cases,
            idempotency_keys: vec![format!("k{n}")],
            lookup_keys: 1,
            event: "message.received",
            channel: "support".into(),
            case_id: format!("c{n}"),
            document: "{}".into(),
        }
    }

    fn appended(n: usize) -> redis::RedisResult<Value> {
        Ok(Value::Array(
            (0..n)
                .flat_map(|i| [Value::Int(1), Value::BulkString(format!("{i}-0").into())])
                .collect(),
        ))
    }

    fn server_error(kind: redis::ServerErrorKind, text: &'static str) -> redis::RedisResult<Value> {
        Err(redis::RedisError::from((
            redis::ErrorKind::Server(kind),
            text,
        )))
    }

    #[test]
    fn the_first_failed_part_decides_the_resend() {
        let entries: Vec<Entry> = (0..7).map(entry).collect();
        let parts: Vec<&[Entry]> = vec![&entries[..3], &entries[3..5], &entries[5..]];
        let mut outcomes = Vec::new();
        let failed = collect(
            &parts,
            vec![
                appended(3),
                server_error(redis::ServerErrorKind::NoScript, "NOSCRIPT"),
                server_error(redis::ServerErrorKind::NoScript, "NOSCRIPT"),
            ],
            &mut outcomes,
        )
        .unwrap();
        assert_eq!((failed.at, failed.noscript), (3, true));
        assert_eq!(outcomes.len(), 7);
        assert!(outcomes[..3].iter().all(Result::is_ok));
        assert!(outcomes[3..].iter().all(Result::is_err));

        // A part that failed otherwise is reported, not resent, even if a later one lacks the
        // script.
        let mut outcomes = Vec::new();
        let failed = collect(
            &parts,
            vec![
                appended(3),
                server_error(redis::ServerErrorKind::ReadOnly, "READONLY"),
                server_error(redis::ServerErrorKind::NoScript, "NOSCRIPT"),
            ],
            &mut outcomes,
        )
        .unwrap();
        assert_eq!((failed.at, failed.noscript), (3, false));

        // Missing replies fail their parts instead of being skipped.
        let mut outcomes = Vec::new();
        let failed = collect(&parts, vec![appended(3)], &mut outcomes).unwrap();
        assert_eq!(failed.at, 3);
        assert_eq!(outcomes.len(), 7);

        let mut outcomes = Vec::new();
        assert!(
            collect(
                &parts,
                vec![appended(3), appended(2), appended(2)],
                &mut outcomes
            )
            .is_none()
        );
        assert!(outcomes.iter().all(Result::is_ok));
    }
}
