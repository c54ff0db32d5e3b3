//! Errors of the stream sink, classified for the worker's retry decision.

/// An append that did not (certainly) happen.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    /// Redis unreachable, connection lost, timed out, loading, out of memory: retry later.
    #[error("redis unavailable: {detail}")]
    Unavailable { detail: String },
    /// Redis refused the command for a reason that retrying will not fix (wrong type at the
    /// stream key, script error).
    #[error("redis rejected the append: {detail}")]
    Rejected { detail: String },
    /// The server's setup could lose or duplicate entries (see `redis_setup`): nothing is
    /// appended until it is fixed. Retried, since an operator can fix it without a restart.
    #[error("redis setup refused: {detail}")]
    SetupRefused { detail: String },
}

impl SinkError {
    pub fn is_transient(&self) -> bool {
        matches!(self, SinkError::Unavailable { .. })
    }

    pub(crate) fn from_redis(e: &redis::RedisError) -> Self {
        // Connection-level failures, timeouts and server states that pass (LOADING, BUSY, OOM,
        // READONLY during failover, TRYAGAIN) are all worth retrying; so is a part of a batch
        // that the append script's gate held back because an earlier part failed (GATE). The
        // rest is a refusal.
        let transient = e.is_io_error()
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
            );
        let detail = e.to_string();
        if transient {
            SinkError::Unavailable { detail }
        } else {
            SinkError::Rejected { detail }
        }
    }
}
