//! A small HTTP/1.1 GET client for push channels that fetch a message's files from their
//! provider (Slack's `url_private`, ...), over TLS (public web roots) or, for tests against a
//! local fake, plain HTTP. One request per connection, a size cap enforced while reading, one
//! deadline for the whole exchange. Errors never carry response bytes.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, RootCertStore};

/// Why a file could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("not an http(s) URL")]
    BadUrl,
    #[error("larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("answered HTTP {status}")]
    Status { status: u16 },
    #[error("no answer within {secs}s")]
    TimedOut { secs: u64 },
    #[error("{detail}")]
    Transport { detail: String },
}

impl FetchError {
    /// Worth another try later: the network or the server, not the file.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::BadUrl | FetchError::TooLarge { .. } => false,
            FetchError::Status { status } => *status == 429 || *status >= 500,
            FetchError::TimedOut { .. } | FetchError::Transport { .. } => true,
        }
    }
}

/// A fetched body and its declared type.
#[derive(Debug)]
pub struct Fetched {
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

/// The parts of a URL a GET needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, FetchError> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(FetchError::BadUrl);
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() || authority.contains('@') {
            return Err(FetchError::BadUrl);
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
                (host, port.parse().map_err(|_| FetchError::BadUrl)?)
            }
            _ => (authority, default_port),
        };
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        Ok(Target {
            tls,
            host: host.trim_start_matches('[').trim_end_matches(']').into(),
            port,
            path,
        })
    }
}

/// GETs `url` with an optional `Authorization` value, reading at most `max_bytes` of body,
/// all within `within`.
pub async fn get(
    url: &str,
    authorization: Option<&str>,
    max_bytes: u64,
    within: Duration,
) -> Result<Fetched, FetchError> {
    let target = Target::parse(url)?;
    let secs = within.as_secs();
    tokio::time::timeout(within, exchange(&target, authorization, max_bytes))
        .await
        .map_err(|_| FetchError::TimedOut { secs })?
}

async fn exchange(
    target: &Target,
    authorization: Option<&str>,
    max_bytes: u64,
) -> Result<Fetched, FetchError> {
    let transport = |e: &dyn std::fmt::Display| FetchError::Transport {
        detail: format!("{}:{}: {e}", target.host, target.port),
    };
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| transport(&e))?;
    let mut request = Request::get(&target.path)
        .header(header::HOST, &target.host)
        .header(header::USER_AGENT, "intake");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|_| FetchError::BadUrl)?;
    let response = if target.tls {
        let name = ServerName::try_from(target.host.clone()).map_err(|_| FetchError::BadUrl)?;
        let tls = TlsConnector::from(tls_config().map_err(|e| transport(&e))?)
            .connect(name, tcp)
            .await
            .map_err(|e| transport(&e))?;
        send(TokioIo::new(tls), request).await
    } else {
        send(TokioIo::new(tcp), request).await
    }
    .map_err(|e| transport(&e))?;
    let status = response.status();
    if status != StatusCode::OK {
        return Err(FetchError::Status {
            status: status.as_u16(),
        });
    }
    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_bytes) {
        return Err(FetchError::TooLarge { limit: max_bytes });
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let limit = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    let body = Limited::new(response.into_body(), limit)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                FetchError::TooLarge { limit: max_bytes }
            } else {
                transport(&"connection lost while reading the body")
            }
        })?;
    Ok(Fetched {
        content_type,
        bytes: body.to_bytes(),
    })
}

async fn send<IO>(
    io: IO,
    request: Request<Empty<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, hyper::Error>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
    // The connection task ends when the response is read and the sender dropped.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender.send_request(request).await
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(tls))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("https://files.slack.com/files-pri/T1-F1/a.png").unwrap();
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.path.as_str()),
            (true, "files.slack.com", 443, "/files-pri/T1-F1/a.png")
        );
        let t = Target::parse("http://127.0.0.1:8081?x=1").unwrap();
        assert_eq!((t.port, t.path.as_str()), (8081, "/?x=1"));
        assert_eq!(Target::parse("ftp://x/"), Err(FetchError::BadUrl));
        assert_eq!(Target::parse("https://u:p@x/"), Err(FetchError::BadUrl));
    }
}
