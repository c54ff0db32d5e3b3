//! What the WhatsApp and SMS handlers share beyond `webhook.rs`: the content-type check,
//! delivering the messages of one request together, and times in the case's format.

use axum::http::{HeaderMap, header};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Inbound;
use crate::push::{PushRefused, PushSender};
use crate::webhook::WebhookError;

/// Ok when the request's `Content-Type` is `expected` (parameters such as `charset` allowed).
pub(crate) fn require_content_type(
    headers: &HeaderMap,
    expected: &str,
) -> Result<(), WebhookError> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match essence {
        Some(value) if value.eq_ignore_ascii_case(expected) => Ok(()),
        _ => Err(WebhookError::UnsupportedMediaType),
    }
}

/// Delivers every message of one request at once and waits for all: Ok only when every one is
/// durable (the request may be acknowledged), else the first refusal (the provider retries the
/// whole request; those already in find their entries by idempotency key).
pub(crate) async fn deliver_all(
    sender: &PushSender,
    inbounds: Vec<Inbound>,
) -> Result<(), PushRefused> {
    let waits = inbounds.into_iter().map(|inbound| sender.deliver(inbound));
    futures::future::join_all(waits)
        .await
        .into_iter()
        .collect::<Result<Vec<()>, _>>()
        .map(|_| ())
}

/// A JSON parse error described without quoting the body (serde's messages can echo values).
pub(crate) fn json_problem(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Io | Category::Syntax => "malformed JSON",
        Category::Eof => "truncated JSON",
        Category::Data => "JSON of an unexpected shape",
    };
    format!("{what} at line {} column {}", error.line(), error.column())
}

/// Now, RFC 3339 in UTC.
pub(crate) fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// Unix seconds (as a provider writes them, a decimal string) as RFC 3339; None when unreadable.
pub(crate) fn unix_rfc3339(seconds: &str) -> Option<String> {
    let seconds: i64 = seconds.trim().parse().ok()?;
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_become_rfc3339() {
        assert_eq!(
            unix_rfc3339("1700000000").as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(unix_rfc3339("soon"), None);
    }

    #[test]
    fn content_type_ignores_parameters_but_not_the_type() {
        let mut headers = HeaderMap::new();
        assert!(require_content_type(&headers, "application/json").is_err());
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert!(require_content_type(&headers, "application/json").is_ok());
        assert!(require_content_type(&headers, "application/x-www-form-urlencoded").is_err());
    }
}
