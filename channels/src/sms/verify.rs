//! Twilio's request signature: `X-Twilio-Signature` is the base64 HMAC-SHA1, keyed with the
//! auth token, of the URL Twilio called followed by every POST parameter's name and value,
//! sorted by name. The URL is the configured `public_url`: behind a proxy the URL Intake sees
//! is not the one Twilio signed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::webhook::WebhookError;

pub(crate) const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The string Twilio signs: the URL, then each parameter's name and value, sorted by name
/// (and, for a repeated name, by value), with nothing between them.
fn signed_text(url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut text = url.as_bytes().to_vec();
    for (name, value) in sorted {
        text.extend_from_slice(name.as_bytes());
        text.extend_from_slice(value.as_bytes());
    }
    text
}

fn mac(auth_token: &[u8], url: &str, params: &[(String, String)]) -> Option<Hmac<Sha1>> {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token).ok()?;
    mac.update(&signed_text(url, params));
    Some(mac)
}

/// Ok when `header` is Twilio's signature of `url` and `params` under `auth_token`.
pub(crate) fn verify(
    auth_token: &[u8],
    header: Option<&str>,
    url: &str,
    params: &[(String, String)],
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::Unauthorized {
        reason: "missing_signature",
    })?;
    let bad = WebhookError::Unauthorized {
        reason: "bad_signature",
    };
    let claimed = STANDARD.decode(header.trim()).map_err(|_| bad.clone())?;
    let mac = mac(auth_token, url, params).ok_or(bad.clone())?;
    // verify_slice compares in constant time.
    mac.verify_slice(&claimed).map_err(|_| bad)
}

/// The header value Twilio would send (tests, and the fake provider in them).
pub fn sign(auth_token: &[u8], url: &str, params: &[(String, String)]) -> String {
    mac(auth_token, url, params)
        .map(|mac| STANDARD.encode(mac.finalize().into_bytes()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Twilio's published example: auth token `12345`, this URL and these parameters.
    #[test]
    fn matches_twilios_published_example() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let expected = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        let mut shuffled = params();
        shuffled.reverse();
        assert_eq!(sign(b"12345", url, &shuffled), expected);
        assert_eq!(verify(b"12345", Some(expected), url, &params()), Ok(()));
    }

    #[test]
    fn refuses_another_url_parameter_or_token() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let good = sign(b"12345", url, &params());
        let reason = |r: Result<(), WebhookError>| r.err().map(|e| e.reason());
        let other_url = "http://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            reason(verify(b"12345", Some(&good), other_url, &params())),
            Some("bad_signature")
        );
        let mut changed = params();
        changed[2].1 = "9999".into();
        assert_eq!(
            reason(verify(b"12345", Some(&good), url, &changed)),
            Some("bad_signature")
        );
        assert_eq!(
            reason(verify(b"54321", Some(&good), url, &params())),
            Some("bad_signature")
        );
        assert_eq!(
            reason(verify(b"12345", None, url, &params())),
            Some("missing_signature")
        );
        assert_eq!(
            reason(verify(b"12345", Some("%%%"), url, &params())),
            Some("bad_signature")
        );
    }
}
