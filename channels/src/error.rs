//! Errors at the channel boundary, classified for the worker's retry decision.

/// A channel failure. The worker reconnects with capped backoff on every variant; the
/// classification decides how loudly it reports and how /readyz reads.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("cannot connect to {endpoint}: {detail}")]
    Connect { endpoint: String, detail: String },
    #[error("tls handshake with {endpoint} failed: {detail}")]
    Tls { endpoint: String, detail: String },
    #[error("authentication as {username} rejected by {endpoint}")]
    Auth { endpoint: String, username: String },
    #[error("mailbox {mailbox:?} unavailable: {detail}")]
    Mailbox { mailbox: String, detail: String },
    #[error("protocol error: {detail}")]
    Protocol { detail: String },
    #[error("checkpoint store failed: {detail}")]
    Checkpoint { detail: String },
    #[error("channel shut down")]
    Shutdown,
}

impl ChannelError {
    /// True when retrying the same operation may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ChannelError::Connect { .. }
                | ChannelError::Protocol { .. }
                | ChannelError::Checkpoint { .. }
        )
    }

    /// Short label for metrics and /readyz.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelError::Connect { .. } => "connect",
            ChannelError::Tls { .. } => "tls",
            ChannelError::Auth { .. } => "auth",
            ChannelError::Mailbox { .. } => "mailbox",
            ChannelError::Protocol { .. } => "protocol",
            ChannelError::Checkpoint { .. } => "checkpoint",
            ChannelError::Shutdown => "shutdown",
        }
    }
}
