//! What every push channel's HTTP handler shares: the refusals it answers with, counted by
//! channel and reason, logged without the body and at most once a minute per channel and
//! reason (a flood of forged requests must not flood the log).
//!
//! Verification happens over the raw bytes before any parsing, in constant time
//! ([`constant_time_eq`]); a refused request appends nothing.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
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

/// A webhook request's headers and whole body. The headers are moved out of the request:
/// axum's `HeaderMap` extractor clones the map, one allocation per header on every request.
/// The body is read as the `Bytes` extractor reads it, within the route's body limit.
#[derive(Debug)]
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Delivery {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let headers = std::mem::take(&mut parts.headers);
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Delivery { headers, body })
    }
}

/// Compares two secrets (or MACs) in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// 415 unless the request's `Content-Type` is `expected` (parameters such as `charset` allowed).
pub fn require_content_type(
    headers: &axum::http::HeaderMap,
    expected: &str,
) -> Result<(), WebhookError> {
    let media_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match media_type {
        Some(media_type) if media_type.eq_ignore_ascii_case(expected) => Ok(()),
        _ => Err(WebhookError::UnsupportedMediaType),
    }
}

/// Parses a verified body as `T`, or a 400 that names the problem (where, and which field)
/// without echoing any of the body: serde_json's messages quote values, so only its category,
/// position and our own field names are kept.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WebhookError> {
    serde_json::from_slice(body).map_err(|e| WebhookError::BadRequest {
        detail: json_problem(&e),
    })
}

/// What went wrong with a JSON body, in words that never quote it.
pub fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => format!("malformed JSON at {at}"),
        Category::Data => {
            let text = e.to_string();
            // `missing field `x``, `unknown field `x``: the names are the schema's, safe to show.
            let named = ["missing field `", "invalid length", "duplicate field `"]
                .iter()
                .any(|p| text.starts_with(p));
            if named {
                let message = text.split(" at line ").next().unwrap_or("invalid JSON");
                format!("{message} ({at})")
            } else if let Some(expected) = text
                .split(", expected ")
                .nth(1)
                .and_then(|rest| rest.split(" at line ").next())
            {
                format!("a value of the wrong type at {at}; expected {expected}")
            } else {
                format!("JSON of the wrong shape at {at}")
            }
        }
    }
}

/// A short field (a name, an address, a subject) as the case schema wants it: control
/// characters become spaces, trimmed, None when nothing is left.
pub fn clean_field(value: Option<&str>) -> Option<String> {
    let cleaned: String = value?
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// Now as Unix seconds, for timestamp checks.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Now, RFC 3339 in UTC: a push message's `received_at`.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
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
    #![allow(clippy::unwrap_used)]
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

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        text: String,
        count: u32,
    }

    #[test]
    fn json_problems_name_the_problem_without_the_body() {
        let problem = |body: &str| match parse_json::<Shape>(body.as_bytes()) {
            Err(WebhookError::BadRequest { detail }) => detail,
            other => panic!("{other:?}"),
        };
        let malformed = problem("{\"text\": \"secret");
        assert!(
            malformed.starts_with("malformed JSON at line 1 column "),
            "{malformed}"
        );
        assert!(!malformed.contains("secret"), "{malformed}");
        assert_eq!(
            problem("{\"text\": \"x\"}"),
            "missing field `count` (line 1 column 13)"
        );
        let wrong = problem("{\"text\": \"x\", \"count\": \"secret words\"}");
        assert!(wrong.contains("expected u32"), "{wrong}");
        assert!(!wrong.contains("secret"), "{wrong}");
    }

    #[test]
    fn content_type_must_match_ignoring_parameters() {
        let mut headers = axum::http::HeaderMap::new();
        assert!(require_content_type(&headers, "application/json").is_err());
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert!(require_content_type(&headers, "application/json").is_ok());
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            "text/plain".parse().unwrap(),
        );
        assert_eq!(
            require_content_type(&headers, "application/json"),
            Err(WebhookError::UnsupportedMediaType)
        );
    }

    #[tokio::test]
    async fn a_delivery_holds_the_requests_headers_and_whole_body() {
        let request = Request::builder()
            .method("POST")
            .header("content-type", "application/json")
            .header("webhook-id", "msg_1")
            .body(axum::body::Body::from("{\"text\":\"hi\"}"))
            .unwrap();
        let Delivery { headers, body } = Delivery::from_request(request, &()).await.unwrap();
        assert_eq!(headers.len(), 2);
        assert_eq!(headers["webhook-id"], "msg_1");
        assert_eq!(&body[..], b"{\"text\":\"hi\"}");
    }
}
