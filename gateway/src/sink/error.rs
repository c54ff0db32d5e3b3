//! Errors of the stream sink, classified for the worker's retry-or-dead-letter decision.

/// An append that did not (certainly) happen.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    /// Redis unreachable, or in a state that passes (LOADING, BUSY, OOM, READONLY during
    /// failover, TRYAGAIN), or a part held back by the gate: every message would fail the same
    /// way. Retry later; never a reason to dead-letter a message.
    #[error("redis unavailable: {detail}")]
    Unavailable { detail: String },
    /// The connection was lost or timed out mid-call: an outage, or a command Redis would not
    /// read (an argument over `proto-max-bulk-len` makes it close the connection). The worker
    /// tells the two apart by whether Redis answers right after.
    #[error("redis connection lost during the append: {detail}")]
    Dropped { detail: String },
    /// Redis refused this command (a script error, an argument it will not take): retrying the
    /// same entry fails the same way.
    #[error("redis rejected the append: {detail}")]
    Rejected { detail: String },
    /// Redis refuses every append (a key of the wrong type, an ACL without the needed keys or
    /// commands): an operator must fix the deployment; messages are kept, not dead-lettered.
    #[error("redis refuses appends: {detail}")]
    Misconfigured { detail: String },
    /// The server's setup could lose or duplicate entries (see `redis_setup`): nothing is
    /// appended until it is fixed. Retried, since an operator can fix it without a restart.
    #[error("redis setup refused: {detail}")]
    SetupRefused { detail: String },
}

impl SinkError {
    /// True when retrying the same append may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SinkError::Unavailable { .. } | SinkError::Dropped { .. }
        )
    }

    /// True when the failure may be caused by the entry itself rather than by Redis, so that
    /// the entry, retried alone and failing the same way while Redis answers, is poison.
    pub fn may_be_the_entry(&self) -> bool {
        matches!(self, SinkError::Dropped { .. } | SinkError::Rejected { .. })
    }

    pub(crate) fn from_redis(e: &redis::RedisError) -> Self {
        let detail = e.to_string();
        if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
            SinkError::Dropped { detail }
        } else if crate::redis_conn::is_transient(e) {
            SinkError::Unavailable { detail }
        } else if matches!(
            e.code(),
            Some("WRONGTYPE" | "NOPERM" | "NOAUTH" | "WRONGPASS")
        ) {
            SinkError::Misconfigured { detail }
        } else {
            SinkError::Rejected { detail }
        }
    }
}
