//! Errors at the channel boundary, classified for the worker's retry decision.
//!
//! No variant carries text the provider sent (a server's NO/BAD/BYE text or a parser's quote
//! of its input may hold message content): only our own words, names from the config, error
//! kinds and UIDs. That keeps logs and /readyz free of customer data.

use std::time::Duration;

/// A channel failure. The worker reconnects with capped backoff on every variant; the
/// classification decides how loudly it reports and how /readyz reads.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("cannot connect to {endpoint}: {detail}")]
    Connect { endpoint: String, detail: String },
    #[error("tls handshake with {endpoint} failed: {detail}")]
    Tls { endpoint: String, detail: String },
    /// `retry_in`: how long the channel waits before the next login, when it is the one
    /// retrying (servers lock accounts after repeated failed logins).
    #[error(
        "authentication as {username} rejected by {endpoint}{}",
        lockout_note(*retry_in)
    )]
    Auth {
        endpoint: String,
        username: String,
        retry_in: Option<Duration>,
    },
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

    /// The least time to wait before calling the channel again, when the channel asks for more
    /// than the worker's usual backoff: after a rejected login, so that repeated attempts do
    /// not get the account locked. The channel enforces it itself too (its next `receive`
    /// waits out the rest), so a caller that ignores it only wakes up early to wait again.
    pub fn retry_floor(&self) -> Option<Duration> {
        match self {
            ChannelError::Auth { retry_in, .. } => *retry_in,
            _ => None,
        }
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

fn lockout_note(retry_in: Option<Duration>) -> String {
    match retry_in {
        Some(delay) => format!(
            "; retrying in {} to avoid an account lockout",
            short_duration(delay)
        ),
        None => String::new(),
    }
}

/// `45s`, `2m`, `2m30s`, `1h`: how a person says a wait.
pub(crate) fn short_duration(delay: Duration) -> String {
    let secs = delay.as_secs();
    if secs == 0 {
        return format!("{}ms", delay.as_millis());
    }
    let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    for (value, unit) in [(hours, "h"), (minutes, "m"), (seconds, "s")] {
        if value > 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_errors_say_when_and_why_they_retry() {
        let error = ChannelError::Auth {
            endpoint: "imap.example.com:993".into(),
            username: "support".into(),
            retry_in: Some(Duration::from_secs(120)),
        };
        assert_eq!(
            error.to_string(),
            "authentication as support rejected by imap.example.com:993; \
             retrying in 2m to avoid an account lockout"
        );
        assert_eq!(error.retry_floor(), Some(Duration::from_secs(120)));
        let plain = ChannelError::Auth {
            endpoint: "e:1".into(),
            username: "u".into(),
            retry_in: None,
        };
        assert_eq!(plain.to_string(), "authentication as u rejected by e:1");
        assert_eq!(plain.retry_floor(), None);
        let connect = ChannelError::Connect {
            endpoint: "e:1".into(),
            detail: "refused".into(),
        };
        assert_eq!(connect.retry_floor(), None);
    }

    #[test]
    fn short_durations() {
        assert_eq!(short_duration(Duration::from_secs(30)), "30s");
        assert_eq!(short_duration(Duration::from_secs(150)), "2m30s");
        assert_eq!(short_duration(Duration::from_secs(300)), "5m");
        assert_eq!(short_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(short_duration(Duration::from_millis(250)), "250ms");
    }
}
