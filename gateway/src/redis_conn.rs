//! Connecting to Redis: one auto-reconnecting connection manager shared by the sink and the
//! checkpoint store, plus a watcher that keeps /readyz truthful while no batch is in flight.

use std::time::Duration;

use intake_config::RedisConfig;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio_util::sync::CancellationToken;

use crate::error::GatewayError;
use crate::health::Health;

/// Health part name of the Redis connection.
pub const REDIS_PART: &str = "redis";

/// A lazily connecting manager: the gateway starts even while Redis is down and catches up
/// when it returns. Timeouts bound how long a paused or unreachable Redis can stall a batch.
pub fn connect(config: &RedisConfig) -> Result<ConnectionManager, GatewayError> {
    let client = redis::Client::open(config.url.expose()).map_err(|e| GatewayError::RedisUrl {
        url: config.display_url(),
        detail: e.to_string(),
    })?;
    let manager_config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(Duration::from_secs(10)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(2));
    ConnectionManager::new_lazy_with_config(client, manager_config).map_err(|e| {
        GatewayError::RedisUrl {
            url: config.display_url(),
            detail: e.to_string(),
        }
    })
}

/// Whether a Redis failure is worth retrying: connection-level failures, timeouts and server
/// states that pass (LOADING, BUSY, OOM, READONLY during failover, TRYAGAIN, MASTERDOWN), a
/// lost script cache (NOSCRIPT), and a part of a batch held back by the append script's gate
/// because an earlier part failed (GATE). The rest is a refusal.
pub fn is_transient(e: &redis::RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.code(),
            Some(
                "LOADING"
                    | "BUSY"
                    | "OOM"
                    | "READONLY"
                    | "TRYAGAIN"
                    | "MASTERDOWN"
                    | "NOSCRIPT"
                    | "GATE"
            )
        )
}

/// Pings Redis every `every` until `stop`, reporting up/down to `health`.
pub async fn watch(
    mut conn: ConnectionManager,
    health: Health,
    every: Duration,
    stop: CancellationToken,
) {
    loop {
        let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
        match pong {
            Ok(_) => health.up(REDIS_PART),
            Err(e) => health.down(REDIS_PART, &e.to_string()),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
