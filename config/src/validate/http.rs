//! `[http]`: where the one HTTP server listens and the limits every route shares (a body size
//! cap and how long a client may take to send a request), so a slow or oversized push cannot
//! tie up the server.

use std::net::SocketAddr;
use std::time::Duration;

use bytesize::ByteSize;
use toml::Value;

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
    let max_body_bytes = byte_size(
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

/// A byte count greater than 0: an integer, or a string such as "10 MiB" (bytesize syntax).
pub(super) fn byte_size(
    value: Option<Value>,
    default: u64,
    path: &str,
    errors: &mut ConfigErrors,
) -> u64 {
    let bytes = match value {
        None => return default,
        Some(Value::Integer(n)) => u64::try_from(n).ok(),
        Some(Value::String(text)) => match text.trim().parse::<ByteSize>() {
            Ok(size) => Some(size.as_u64()),
            Err(e) => {
                let message =
                    format!("{text:?} is not a size ({e}); write e.g. \"10 MiB\" or 10485760");
                errors.push(path, message);
                return default;
            }
        },
        Some(other) => {
            let message = format!(
                "expected a byte count or a size string such as \"10 MiB\", found {}",
                other.type_str()
            );
            errors.push(path, message);
            return default;
        }
    };
    match bytes {
        Some(bytes) if bytes > 0 => bytes,
        _ => {
            errors.push(path, "must be greater than 0");
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
