//! What every push channel's HTTP handler shares: the refusals it answers with, counted by
//! channel and reason, logged without the body and at most once a minute per channel and
//! reason (a flood of forged requests must not flood the log).
//!
//! Verification happens over the raw bytes before any parsing, in constant time
//! ([`constant_time_eq`]); a refused request appends nothing.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::push::PushRefused;

/// Why a webhook request was not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The signature, secret header or bearer token is missing or wrong, or the timestamp is
    /// stale: 401.
    #[error("unauthorized: {reason}")]
    Unauthorized { reason: &'static str },
    /// A verification handshake with the wrong token (WhatsApp's `hub.verify_token`): 403.
    #[error("forbidden: {reason}")]
    Forbidden { reason: &'static str },
    /// Verified, but not a payload this channel understands: 400, naming the problem (never
    /// echoing the body).
    #[error("bad request: {detail}")]
    BadRequest { detail: String },
    /// The body is not of the content type the provider sends: 415.
    #[error("unsupported content type")]
    UnsupportedMediaType,
    /// Not durable now; the provider should retry: 503 with Retry-After.
    #[error(transparent)]
    Refused(#[from] PushRefused),
}

impl WebhookError {
    /// Only a refusal (Redis down, queue full) may succeed when retried as is.
    pub fn is_transient(&self) -> bool {
        matches!(self, WebhookError::Refused(_))
    }

    /// Short label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            WebhookError::Unauthorized { reason } | WebhookError::Forbidden { reason } => reason,
            WebhookError::BadRequest { .. } => "bad_request",
            WebhookError::UnsupportedMediaType => "unsupported_media_type",
            WebhookError::Refused(refused) => refused.kind(),
        }
    }

    /// Counts and (rate-limited) logs this refusal for `channel`, then answers it.
    pub fn respond(self, channel: &str) -> Response {
        record(channel, self.reason(), &self.to_string());
        self.into_response()
    }
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebhookError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            WebhookError::Forbidden { .. } => StatusCode::FORBIDDEN,
            WebhookError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            WebhookError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            WebhookError::Refused(refused) => return refused.into_response(),
        };
        (status, format!("{self}\n")).into_response()
    }
}

/// Compares two secrets (or MACs) in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// When each (channel, reason) last logged, and how many refusals it left unlogged since.
type LastLogged = HashMap<(String, &'static str), (Instant, u64)>;

/// How often one channel and reason may log a refusal.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// `intake_webhook_rejections_total{channel, reason}`, and a warn line at most once a minute per
/// channel and reason with the number suppressed since.
pub fn record(channel: &str, reason: &'static str, detail: &str) {
    metrics::counter!("intake_webhook_rejections_total", "channel" => channel.to_string(), "reason" => reason).increment(1);
    static LAST: LazyLock<Mutex<LastLogged>> = LazyLock::new(Mutex::default);
    let mut last = LAST.lock().unwrap_or_else(PoisonError::into_inner);
    let now = Instant::now();
    let entry = last
        .entry((channel.to_string(), reason))
        .or_insert((now - LOG_EVERY, 0));
    if now.duration_since(entry.0) >= LOG_EVERY {
        let suppressed = entry.1;
        *entry = (now, 0);
        drop(last);
        tracing::warn!(
            channel,
            reason,
            detail,
            suppressed,
            "webhook request refused"
        );
    } else {
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn statuses_follow_the_reason() {
        let status = |e: WebhookError| e.into_response().status().as_u16();
        assert_eq!(
            status(WebhookError::Unauthorized {
                reason: "bad_signature"
            }),
            401
        );
        assert_eq!(
            status(WebhookError::Forbidden {
                reason: "verify_token"
            }),
            403
        );
        assert_eq!(status(WebhookError::BadRequest { detail: "x".into() }), 400);
        assert_eq!(status(WebhookError::UnsupportedMediaType), 415);
        assert_eq!(status(PushRefused::Busy.into()), 503);
    }
}
