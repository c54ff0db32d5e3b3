//! Verifying a request from Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256>` of
//! `v0:{X-Slack-Request-Timestamp}:{raw body}` keyed with the app's signing secret, checked in
//! constant time (`verify_slice`), and the timestamp within five minutes of now, so a captured
//! request cannot be replayed later.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::webhook::WebhookError;

/// How old (or how far ahead) a request's timestamp may be.
pub const TOLERANCE_SECS: i64 = 5 * 60;

fn unauthorized(reason: &'static str) -> WebhookError {
    WebhookError::Unauthorized { reason }
}

/// Checks the request's signature headers against `body` at time `now` (Unix seconds).
pub fn verify(
    signing_secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = header("x-slack-signature").ok_or(unauthorized("missing_signature"))?;
    let timestamp = header("x-slack-request-timestamp").ok_or(unauthorized("missing_timestamp"))?;
    let sent: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| unauthorized("bad_timestamp"))?;
    if (now - sent).abs() > TOLERANCE_SECS {
        return Err(unauthorized("stale_timestamp"));
    }
    let given = signature
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(unauthorized("bad_signature"))?;
    mac(signing_secret, timestamp.trim(), body)
        .verify_slice(&given)
        .map_err(|_| unauthorized("bad_signature"))
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("hmac accepts any key length"));
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The `X-Slack-Signature` value for a request: `v0=<hex>`. For tests and tools.
pub fn sign(signing_secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mac = mac(signing_secret, &timestamp.to_string(), body).finalize();
    format!("v0={}", hex::encode(mac.into_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // The example of Slack's "Verifying requests from Slack" documentation.
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: i64 = 1_531_420_618;
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn headers(signature: &str, timestamp: i64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-slack-signature", signature.parse().unwrap());
        headers.insert("x-slack-request-timestamp", timestamp.into());
        headers
    }

    #[test]
    fn matches_the_documented_example() {
        assert_eq!(sign(SECRET, TIMESTAMP, BODY), SIGNATURE);
        verify(SECRET, &headers(SIGNATURE, TIMESTAMP), BODY, TIMESTAMP + 60).unwrap();
    }

    #[test]
    fn refuses_tampering_and_replays() {
        let reason = |r: Result<(), WebhookError>| r.unwrap_err().reason();
        let now = TIMESTAMP;
        let tampered = &BODY[..BODY.len() - 1];
        assert_eq!(
            reason(verify(
                SECRET,
                &headers(SIGNATURE, TIMESTAMP),
                tampered,
                now
            )),
            "bad_signature"
        );
        assert_eq!(
            reason(verify(b"other", &headers(SIGNATURE, TIMESTAMP), BODY, now)),
            "bad_signature"
        );
        let later = TIMESTAMP + TOLERANCE_SECS + 1;
        assert_eq!(
            reason(verify(SECRET, &headers(SIGNATURE, TIMESTAMP), BODY, later)),
            "stale_timestamp"
        );
        assert_eq!(
            reason(verify(SECRET, &HeaderMap::new(), BODY, now)),
            "missing_signature"
        );
    }
}
