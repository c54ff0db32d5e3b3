//! What a batch waits for after its append before it may be acked (`[redis] durability`), and
//! the check of the server's setup that runs before the first append of the process.
//!
//! The wait rides in the batch's own pipeline, after the script calls: `WAIT` and `WAITAOF`
//! count the writes of the connection they run on, and a separate round trip could run on a
//! new connection (the manager reconnects after Redis restarts), where there is nothing to
//! wait for and the answer would come back at once, for entries the restart may have lost.
//! A batch that Redis answers entirely with repeats writes nothing itself, so before the wait
//! the pipeline writes one small key (`<prefix>:sync`): the wait then covers every write
//! before it, the earlier appends those repeats found included (replication and the AOF are
//! one ordered stream).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use intake_config::{Durability, RedisConfig};
use redis::{ErrorKind, Pipeline, RedisError, RedisResult, ServerErrorKind, Value};

use super::SinkError;

/// The wait of one deployment, shared by every clone of the sink.
#[derive(Debug, Clone)]
pub(crate) struct Wait {
    mode: Durability,
    sync_key: String,
    /// Set once the server's setup was read and accepted; until then every append first
    /// reads it again (Redis may have been down at start-up, or refused and then fixed).
    setup_checked: Arc<AtomicBool>,
}

impl Wait {
    pub(crate) fn new(config: &RedisConfig) -> Self {
        Wait {
            mode: config.durability,
            sync_key: format!("{}:sync", config.key_prefix()),
            setup_checked: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Reads the server's setup unless that was done: a setup that could lose or duplicate
    /// entries (an evicting `maxmemory-policy`, `aof` on a server without WAITAOF) refuses
    /// every append until it is fixed. The report is logged once, when first accepted.
    pub(crate) async fn ensure_setup(
        &self,
        conn: &mut impl redis::aio::ConnectionLike,
    ) -> Result<(), SinkError> {
        if self.setup_checked.load(Ordering::Acquire) {
            return Ok(());
        }
        let report = crate::redis_setup::inspect(conn, &self.mode)
            .await
            .map_err(|e| SinkError::from_redis(&e))?;
        if let Some(refusal) = report.refusal() {
            return Err(SinkError::SetupRefused { detail: refusal });
        }
        if !self.setup_checked.swap(true, Ordering::AcqRel) {
            report.log();
        }
        Ok(())
    }

    /// Appends the wait to a batch's pipeline: nothing for `append`, else the sync write and
    /// `WAIT` or `WAITAOF`.
    pub(crate) fn extend(&self, pipe: &mut Pipeline) {
        let (replicas, timeout) = match self.mode {
            Durability::Append => return,
            Durability::Replicas { replicas, timeout } | Durability::Aof { replicas, timeout } => {
                (replicas, timeout.as_millis().max(1) as u64)
            }
        };
        // A millisecond timestamp: any value works, this one helps whoever looks at the key.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        pipe.cmd("SET")
            .arg(&self.sync_key)
            .arg(now)
            .arg("EX")
            .arg(60);
        match self.mode {
            Durability::Aof { .. } => pipe.cmd("WAITAOF").arg(1).arg(replicas).arg(timeout),
            _ => pipe.cmd("WAIT").arg(replicas).arg(timeout),
        };
    }

    /// Takes the wait's replies off the end of a batch's replies and checks them. When the
    /// batch is not durable as configured, every part that ran gets the wait's error instead
    /// of its entries (transient `TRYAGAIN` when too few replicas or fsyncs answered in time),
    /// so nothing of the batch is acked and the worker sends it again; a part that failed by
    /// itself keeps its own error, so a lost script is still reloaded and the rest resent.
    pub(crate) fn settle(
        &self,
        mut replies: Vec<RedisResult<Value>>,
    ) -> RedisResult<Vec<RedisResult<Value>>> {
        if self.mode == Durability::Append {
            return Ok(replies);
        }
        let (Some(wait), Some(sync)) = (replies.pop(), replies.pop()) else {
            return Err(not_durable("no reply to the wait".to_string()));
        };
        match self.verdict(sync, wait) {
            Ok(()) => Ok(replies),
            Err(e) => Ok(replies
                .into_iter()
                .map(|reply| reply.and_then(|_| Err(e.clone())))
                .collect()),
        }
    }

    /// Whether the sync write and the wait's reply show the batch durable as configured.
    fn verdict(&self, sync: RedisResult<Value>, wait: RedisResult<Value>) -> RedisResult<()> {
        sync?;
        match (self.mode, wait?) {
            (Durability::Append, _) => Ok(()),
            (Durability::Replicas { replicas, .. }, Value::Int(got)) => {
                if got >= i64::from(replicas) {
                    Ok(())
                } else {
                    Err(not_durable(format!(
                        "{got} of {replicas} replica(s) acknowledged the batch in time"
                    )))
                }
            }
            (Durability::Aof { replicas, .. }, Value::Array(counts)) => match counts.as_slice() {
                [Value::Int(local), Value::Int(got)] => {
                    if *local >= 1 && *got >= i64::from(replicas) {
                        Ok(())
                    } else {
                        Err(not_durable(format!(
                            "fsynced by {local} of 1 primary and {got} of {replicas} replica(s) \
                             in time"
                        )))
                    }
                }
                _ => Err(odd_reply()),
            },
            _ => Err(odd_reply()),
        }
    }
}

/// Transient: `TRYAGAIN` is among the codes the sink's errors treat as worth retrying.
fn not_durable(detail: String) -> RedisError {
    RedisError::from((
        ErrorKind::Server(ServerErrorKind::TryAgain),
        "batch not durable yet",
        detail,
    ))
}

fn odd_reply() -> RedisError {
    RedisError::from((ErrorKind::UnexpectedReturnType, "odd reply to the wait"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn wait(mode: Durability) -> Wait {
        let config = RedisConfig {
            url: intake_config::Secret::new("redis://127.0.0.1"),
            stream: "{intake}:cases".into(),
            dead_letter_stream: "{intake}:dead".into(),
            dedupe_ttl: Duration::from_secs(60),
            durability: mode,
        };
        Wait::new(&config)
    }

    fn replies(tail: Value) -> Vec<RedisResult<Value>> {
        let noscript = RedisError::from((ErrorKind::Server(ServerErrorKind::NoScript), "NOSCRIPT"));
        vec![Ok(Value::Nil), Err(noscript), Ok(Value::Okay), Ok(tail)]
    }

    /// The parts' replies after `settle`: Ok, or the error's code.
    fn settled(wait: &Wait, tail: Value) -> Vec<Result<(), String>> {
        match wait.settle(replies(tail)) {
            Ok(parts) => parts
                .into_iter()
                .map(|r| {
                    r.map(|_| ())
                        .map_err(|e| e.code().unwrap_or("?").to_string())
                })
                .collect(),
            Err(e) => vec![Err(format!("outer: {e}"))],
        }
    }

    #[test]
    fn counts_replicas_and_fsyncs() {
        let timeout = Duration::from_millis(100);
        let two = wait(Durability::Replicas {
            replicas: 2,
            timeout,
        });
        assert_eq!(two.sync_key, "{intake}:sync");
        let noscript = Err("NOSCRIPT".to_string());
        assert_eq!(settled(&two, Value::Int(2)), [Ok(()), noscript.clone()]);
        // Not durable: the part that ran fails (transiently), the script error stays.
        let short = settled(&two, Value::Int(1));
        assert_eq!(short, [Err("TRYAGAIN".to_string()), noscript.clone()]);
        let e = two.verdict(Ok(Value::Okay), Ok(Value::Int(1))).err();
        assert!(e.is_some_and(|e| SinkError::from_redis(&e).is_transient()));

        let aof = wait(Durability::Aof {
            replicas: 1,
            timeout,
        });
        let both = Value::Array(vec![Value::Int(1), Value::Int(1)]);
        assert_eq!(settled(&aof, both), [Ok(()), noscript.clone()]);
        let no_fsync = Value::Array(vec![Value::Int(0), Value::Int(1)]);
        let e = aof.verdict(Ok(Value::Okay), Ok(no_fsync)).err();
        assert!(e.is_some_and(|e| e.to_string().contains("0 of 1 primary")));
        assert!(
            aof.verdict(Ok(Value::Okay), Ok(Value::Int(1))).is_err(),
            "odd reply"
        );

        let append = wait(Durability::Append);
        assert_eq!(settled(&append, Value::Int(0)).len(), 4);
    }
}
