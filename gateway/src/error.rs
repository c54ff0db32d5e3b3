//! The gateway's error at its boundary (start-up and checks); runtime faults are retried inside
//! the workers and never surface here.

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("redis url {url} is invalid: {detail}")]
    RedisUrl { url: String, detail: String },
    #[error("blob directory {dir} is unusable: {detail}")]
    Blobs { dir: String, detail: String },
    #[error("cannot listen on {addr}: {detail}")]
    Listen { addr: String, detail: String },
    /// The Redis server's setup could lose or duplicate entries (an evicting
    /// `maxmemory-policy`, `durability = "aof"` on a server without WAITAOF).
    #[error("redis setup refused: {detail}")]
    RedisSetup { detail: String },
    #[error("invalid config: {detail}")]
    Config { detail: String },
    #[error("metrics recorder could not be installed: {detail}")]
    Metrics { detail: String },
}

impl GatewayError {
    /// Start-up errors are configuration or environment problems: retrying changes nothing.
    pub fn is_transient(&self) -> bool {
        matches!(self, GatewayError::Listen { .. })
    }
}
