//! Errors of the conversation store, classified for the worker's retry decision.

/// A lookup or record round trip that did not (certainly) happen.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConversationError {
    /// Redis unreachable, timed out, loading, out of memory: retry later.
    #[error("redis unavailable for conversations: {detail}")]
    Unavailable { detail: String },
    /// Redis refused the commands for a reason retrying will not fix (a key of the wrong type).
    #[error("redis rejected a conversation lookup: {detail}")]
    Rejected { detail: String },
}

impl ConversationError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ConversationError::Unavailable { .. })
    }

    pub(crate) fn from_redis(e: &redis::RedisError) -> Self {
        let detail = e.to_string();
        if crate::redis_conn::is_transient(e) {
            ConversationError::Unavailable { detail }
        } else {
            ConversationError::Rejected { detail }
        }
    }
}
