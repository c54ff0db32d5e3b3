//! Channel checkpoints kept in Redis, under the deployment's hash-tagged prefix, so they survive
//! restarts and every replica sees the same position.

use intake_channels::{ChannelError, CheckpointStore};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

#[derive(Clone)]
pub struct RedisCheckpoints {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCheckpoints")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisCheckpoints {
    /// `key_prefix` is the deployment's prefix, e.g. `{intake:cases}`.
    pub fn new(conn: ConnectionManager, key_prefix: &str) -> Self {
        RedisCheckpoints {
            conn,
            prefix: format!("{key_prefix}:checkpoint:"),
        }
    }
}

fn checkpoint_error(e: redis::RedisError) -> ChannelError {
    ChannelError::Checkpoint {
        detail: e.to_string(),
    }
}

impl CheckpointStore for RedisCheckpoints {
    async fn load(&self, key: &str) -> Result<Option<String>, ChannelError> {
        let mut conn = self.conn.clone();
        conn.get(format!("{}{key}", self.prefix))
            .await
            .map_err(checkpoint_error)
    }

    async fn save(&self, key: &str, value: &str) -> Result<(), ChannelError> {
        let mut conn = self.conn.clone();
        conn.set(format!("{}{key}", self.prefix), value)
            .await
            .map_err(checkpoint_error)
    }
}
