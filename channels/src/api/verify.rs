//! Authenticating an api request over its raw bytes, before anything is parsed.
//!
//! Standard Webhooks (standardwebhooks.com): the signature is the base64 HMAC-SHA256 of
//! `"{webhook-id}.{webhook-timestamp}.{body}"` keyed with the base64-decoded `whsec_` secret;
//! `webhook-signature` holds one or more space-separated `v1,<base64>` entries (several during
//! a secret rotation), any of which may match; a timestamp more than five minutes from now is
//! refused, so a captured request cannot be replayed later. The MAC is compared with
//! `verify_slice` (constant time). A bearer token is compared in constant time too.

use axum::http::HeaderMap;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::webhook::{WebhookError, constant_time_eq};

/// How far a signed request's timestamp may be from now, either way.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// How a request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authenticated {
    /// By signature; the delivery id is `webhook-id`.
    Signed { id: String },
    /// By bearer token; the delivery id is the body's `id`.
    Bearer,
}

/// The channel's credentials.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// The decoded `whsec_` key.
    pub signing_key: Option<Vec<u8>>,
    pub token: Option<String>,
}

fn unauthorized(reason: &'static str) -> WebhookError {
    WebhookError::Unauthorized { reason }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl Credentials {
    /// Checks `headers` and `body` against the credentials at time `now` (Unix seconds).
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<Authenticated, WebhookError> {
        if let Some(signature) = header(headers, "webhook-signature") {
            let Some(key) = &self.signing_key else {
                return Err(unauthorized("signing_not_configured"));
            };
            let id = header(headers, "webhook-id").ok_or(unauthorized("missing_webhook_id"))?;
            let timestamp =
                header(headers, "webhook-timestamp").ok_or(unauthorized("missing_timestamp"))?;
            verify_signature(key, id, timestamp, body, signature, now)?;
            return Ok(Authenticated::Signed { id: id.to_string() });
        }
        if let Some(value) = header(headers, "authorization") {
            let Some(token) = &self.token else {
                return Err(unauthorized("bearer_not_configured"));
            };
            let given = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or(unauthorized("bad_token"))?;
            return if constant_time_eq(given.trim().as_bytes(), token.as_bytes()) {
                Ok(Authenticated::Bearer)
            } else {
                Err(unauthorized("bad_token"))
            };
        }
        Err(unauthorized("missing_signature"))
    }
}

/// Verifies one Standard Webhooks delivery.
pub fn verify_signature(
    key: &[u8],
    id: &str,
    timestamp: &str,
    body: &[u8],
    signatures: &str,
    now: i64,
) -> Result<(), WebhookError> {
    let sent: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| unauthorized("bad_timestamp"))?;
    if (now - sent).abs() > TOLERANCE_SECS {
        return Err(unauthorized("stale_timestamp"));
    }
    let mac = signed_mac(key, id, timestamp.trim(), body);
    let matches = signatures
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .any(|candidate| mac.clone().verify_slice(&candidate).is_ok());
    if matches {
        Ok(())
    } else {
        Err(unauthorized("bad_signature"))
    }
}

fn signed_mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("hmac accepts any key length"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value for a delivery: `v1,<base64>`. For clients and tests.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = signed_mac(key, id, &timestamp.to_string(), body).finalize();
    let b64 = base64::engine::general_purpose::STANDARD.encode(mac.into_bytes());
    format!("v1,{b64}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // The Standard Webhooks specification's published test vector.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn key() -> Vec<u8> {
        intake_config::signing_key(SECRET).unwrap()
    }

    #[test]
    fn matches_the_published_vector() {
        assert_eq!(sign(&key(), ID, TIMESTAMP, BODY), SIGNATURE);
        let ts = TIMESTAMP.to_string();
        verify_signature(&key(), ID, &ts, BODY, SIGNATURE, TIMESTAMP + 10).unwrap();
        // One of several (a rotation) is enough.
        let several = format!("v1,AAAA {SIGNATURE} v2,xyz");
        verify_signature(&key(), ID, &ts, BODY, &several, TIMESTAMP).unwrap();
    }

    #[test]
    fn refuses_tampering_and_stale_timestamps() {
        let ts = TIMESTAMP.to_string();
        let reason = |r: Result<(), WebhookError>| r.unwrap_err().reason();
        let tampered = br#"{"test": 2432232315}"#;
        assert_eq!(
            reason(verify_signature(
                &key(),
                ID,
                &ts,
                tampered,
                SIGNATURE,
                TIMESTAMP
            )),
            "bad_signature"
        );
        assert_eq!(
            reason(verify_signature(
                &key(),
                "msg_other",
                &ts,
                BODY,
                SIGNATURE,
                TIMESTAMP
            )),
            "bad_signature"
        );
        let late = TIMESTAMP + TOLERANCE_SECS + 1;
        assert_eq!(
            reason(verify_signature(&key(), ID, &ts, BODY, SIGNATURE, late)),
            "stale_timestamp"
        );
        let early = TIMESTAMP - TOLERANCE_SECS - 1;
        assert_eq!(
            reason(verify_signature(&key(), ID, &ts, BODY, SIGNATURE, early)),
            "stale_timestamp"
        );
    }

    #[test]
    fn bearer_tokens_compare_whole() {
        let credentials = Credentials {
            signing_key: None,
            token: Some("t0ken".into()),
        };
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer t0ken".parse().unwrap());
        assert_eq!(
            credentials.authenticate(&headers, b"{}", 0).unwrap(),
            Authenticated::Bearer
        );
        headers.insert("authorization", "Bearer t0ke".parse().unwrap());
        assert!(credentials.authenticate(&headers, b"{}", 0).is_err());
        // A signed request on a channel without a secret is refused, not waved through.
        headers.insert("webhook-signature", SIGNATURE.parse().unwrap());
        let refused = credentials.authenticate(&headers, b"{}", 0).unwrap_err();
        assert_eq!(refused.reason(), "signing_not_configured");
    }
}
