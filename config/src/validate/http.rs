//! `[http]`: where the one HTTP server listens and the limits every route shares (a body size
//! cap and how long a client may take to send a request), so a slow or oversized push cannot
//! tie up the server.

use std::net::SocketAddr;
use std::time::Duration;

use super::duration;
use crate::error::ConfigErrors;
use crate::raw::RawHttp;
use crate::types::HttpConfig;

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

pub(super) fn http(raw: RawHttp, errors: &mut ConfigErrors) -> HttpConfig {
    let text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = text.parse::<SocketAddr>().unwrap_or_else(|_| {
        errors.push(
            "http.listen",
            format!(
                "{text:?} is not a socket address; expected IP:port such as \"127.0.0.1:8080\""
            ),
        );
        SocketAddr::from(([127, 0, 0, 1], 0))
    });
    let max_body_bytes = super::email::size(
        raw.max_body_bytes,
        HttpConfig::DEFAULT_MAX_BODY_BYTES,
        "http.max_body_bytes",
        errors,
    );
    let header_timeout = duration(
        "http.header_timeout",
        raw.header_timeout,
        HttpConfig::DEFAULT_HEADER_TIMEOUT,
        Duration::from_millis(1),
        errors,
    );
    let body_timeout = duration(
        "http.body_timeout",
        raw.body_timeout,
        HttpConfig::DEFAULT_BODY_TIMEOUT,
        Duration::from_millis(1),
        errors,
    );
    HttpConfig {
        listen,
        max_body_bytes,
        header_timeout,
        body_timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Value;

    #[test]
    fn limits_default_and_parse() {
        let mut errors = ConfigErrors::default();
        let http = http(RawHttp::default(), &mut errors);
        assert_eq!(http.max_body_bytes, 10 * 1024 * 1024);
        assert_eq!(http.header_timeout, Duration::from_secs(10));
        assert_eq!(http.body_timeout, Duration::from_secs(30));
        let raw = RawHttp {
            max_body_bytes: Some(Value::String("64 KiB".into())),
            ..RawHttp::default()
        };
        assert_eq!(http_of(raw, &mut errors).max_body_bytes, 65_536);
        assert!(errors.is_empty(), "{errors}");
        let raw = RawHttp {
            max_body_bytes: Some(Value::Integer(0)),
            ..RawHttp::default()
        };
        http_of(raw, &mut errors);
        assert!(
            errors.to_string().contains("http.max_body_bytes"),
            "{errors}"
        );
    }

    fn http_of(raw: RawHttp, errors: &mut ConfigErrors) -> HttpConfig {
        http(raw, errors)
    }
}
