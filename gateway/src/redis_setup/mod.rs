//! What the Redis server behind Intake keeps after a crash: its persistence and eviction
//! settings and version, read from the server itself and put in plain words.
//!
//! Intake acks a message once its entry is in Redis (and, per `[redis] durability`, on replicas
//! or fsynced). What a Redis crash then loses is the server's business: `appendonly`,
//! `appendfsync` and `save` decide it. A `maxmemory-policy` that evicts keys breaks the
//! invariant outright (an evicted idempotency key lets a redelivery append a second entry; an
//! evicted stream loses cases), so it is refused. Used by `intake check`, at start-up of
//! `intake run`, and by the sink before its first append (`sink/durability.rs`), which covers
//! a Redis that was down when the gateway started.

mod assess;

use intake_config::Durability;
use redis::{RedisResult, Value};

pub use assess::assess;

/// What the server says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFacts {
    /// `redis_version` from `INFO server`; None when INFO is not allowed.
    pub version: Option<String>,
    /// The persistence and eviction settings, or why they could not be read (CONFIG renamed
    /// away or not allowed to this user, as on many managed services).
    pub settings: Result<Settings, String>,
    /// `connected_slaves` from `INFO replication`.
    pub connected_replicas: Option<u32>,
}

/// The `CONFIG GET` values that decide what a crash or a full memory loses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub appendonly: String,
    pub appendfsync: String,
    pub maxmemory_policy: String,
    /// RDB save points, e.g. "3600 1 300 100 60 10000"; empty when snapshots are off.
    pub save: String,
}

/// How a finding weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    /// Worth knowing: acknowledged messages can be lost in a crash, or the setup is unknown.
    Warn,
    /// Intake must not run against this server.
    Refuse,
}

/// One plain-words statement about the setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// `persistence`, `eviction` or `durability`.
    pub topic: &'static str,
    pub text: String,
}

/// Every finding about one server, for one durability setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupReport {
    pub version: Option<String>,
    pub findings: Vec<Finding>,
}

impl SetupReport {
    /// The refusals joined into one message; None when Intake may run.
    pub fn refusal(&self) -> Option<String> {
        let refusals: Vec<&str> = self
            .findings
            .iter()
            .filter(|f| f.level == Level::Refuse)
            .map(|f| f.text.as_str())
            .collect();
        (!refusals.is_empty()).then(|| refusals.join("; "))
    }

    /// Logs every finding: ok at info, warnings at warn, refusals at error.
    pub fn log(&self) {
        let version = self.version.as_deref().unwrap_or("unknown");
        for f in &self.findings {
            match f.level {
                Level::Ok => tracing::info!(topic = f.topic, redis_version = version, "{}", f.text),
                Level::Warn => {
                    tracing::warn!(topic = f.topic, redis_version = version, "{}", f.text)
                }
                Level::Refuse => {
                    tracing::error!(topic = f.topic, redis_version = version, "{}", f.text)
                }
            }
        }
    }
}

/// Reads the server's facts in one round trip and assesses them for `durability`. Fails only
/// when the round trip does (Redis unreachable); a command the server refuses is a fact.
pub async fn inspect(
    conn: &mut impl redis::aio::ConnectionLike,
    durability: &Durability,
) -> RedisResult<SetupReport> {
    let facts = read_facts(conn).await?;
    Ok(assess(&facts, durability))
}

const SETTINGS: [&str; 4] = ["appendonly", "appendfsync", "maxmemory-policy", "save"];

/// `INFO server`, `INFO replication` and one `CONFIG GET` per setting (one name per call, so
/// servers before 7.0 answer too), pipelined.
pub async fn read_facts(conn: &mut impl redis::aio::ConnectionLike) -> RedisResult<ServerFacts> {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    pipe.cmd("INFO").arg("server");
    pipe.cmd("INFO").arg("replication");
    for name in SETTINGS {
        pipe.cmd("CONFIG").arg("GET").arg(name);
    }
    let replies: Vec<RedisResult<Value>> = pipe.query_async(conn).await?;
    let mut replies = replies.into_iter();
    let mut next = || {
        replies.next().unwrap_or_else(|| {
            Err(redis::RedisError::from((
                redis::ErrorKind::Client,
                "fewer replies than commands",
            )))
        })
    };
    let server = info_text(next());
    let replication = info_text(next());
    let mut values = Vec::with_capacity(SETTINGS.len());
    let mut unreadable = None;
    for name in SETTINGS {
        match config_value(next(), name) {
            Ok(value) => values.push(value),
            Err(reason) => {
                unreadable.get_or_insert(reason);
            }
        }
    }
    let settings = match (unreadable, values.as_slice()) {
        (None, [appendonly, appendfsync, policy, save]) => Ok(Settings {
            appendonly: appendonly.clone(),
            appendfsync: appendfsync.clone(),
            maxmemory_policy: policy.clone(),
            save: save.clone(),
        }),
        (Some(reason), _) => Err(reason),
        (None, _) => Err("CONFIG GET answered oddly".to_string()),
    };
    Ok(ServerFacts {
        version: server
            .as_deref()
            .and_then(|t| info_field(t, "redis_version")),
        settings,
        connected_replicas: replication
            .as_deref()
            .and_then(|t| info_field(t, "connected_slaves"))
            .and_then(|n| n.parse().ok()),
    })
}

fn info_text(reply: RedisResult<Value>) -> Option<String> {
    reply.ok().and_then(text)
}

/// `field:value` of an INFO reply.
fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// The value of one `CONFIG GET name` reply (a `[name, value]` array, or a map under RESP3);
/// Err says why it cannot be read.
fn config_value(reply: RedisResult<Value>, name: &str) -> Result<String, String> {
    let value = reply.map_err(|e| match e.code() {
        Some("NOPERM") => "CONFIG GET is not allowed to this Redis user".to_string(),
        _ if e.to_string().to_lowercase().contains("unknown command") => {
            "CONFIG is disabled on this server".to_string()
        }
        _ => format!("CONFIG GET failed: {}", e.code().unwrap_or("error")),
    })?;
    let pairs: Vec<(String, String)> = match value {
        Value::Map(pairs) => pairs
            .into_iter()
            .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
            .collect(),
        Value::Array(items) => {
            let items: Vec<String> = items.into_iter().filter_map(text).collect();
            items
                .chunks_exact(2)
                .map(|kv| (kv[0].clone(), kv[1].clone()))
                .collect()
        }
        _ => Vec::new(),
    };
    pairs
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .ok_or_else(|| format!("CONFIG GET {name} returned nothing"))
}

fn text(value: Value) -> Option<String> {
    redis::from_redis_value(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_info_fields() {
        let info = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n";
        assert_eq!(info_field(info, "redis_version").as_deref(), Some("7.0.15"));
        assert_eq!(info_field(info, "redis"), None);
    }

    #[test]
    fn reads_config_replies_in_both_protocols() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let resp2 = Value::Array(vec![bulk("appendonly"), bulk("yes")]);
        assert_eq!(config_value(Ok(resp2), "appendonly"), Ok("yes".into()));
        let resp3 = Value::Map(vec![(bulk("save"), bulk(""))]);
        assert_eq!(config_value(Ok(resp3), "save"), Ok(String::new()));
        let denied = redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::NoPerm),
            "no permissions",
        ));
        let reason = config_value(Err(denied), "save").err().unwrap_or_default();
        assert!(reason.contains("not allowed"), "{reason}");
    }
}
