//! Opening an IMAP session: TCP connect with a timeout, TLS per `config.tls` (implicit, STARTTLS
//! or none), the greeting, LOGIN, capabilities and SELECT.
//!
//! Errors are mapped to the channel's variants (Connect, Tls, Auth, Mailbox, Protocol) and never
//! carry the password or server text: only the endpoint, the username and the kind of failure.

use std::sync::Arc;
use std::time::Duration;

use async_imap::imap_proto::{Response, Status};
use async_imap::types::Capabilities;
use intake_config::{EmailConfig, TlsMode};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, RootCertStore};

use super::proto::{self, ImapSession, ImapStream, describe, timed};
use crate::ChannelError;

/// Upper bound for TCP connect plus TLS handshake plus greeting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What the server supports among the extensions the channel uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerCapabilities {
    /// RFC 2177 IDLE: push notification of new mail.
    pub idle: bool,
    /// RFC 6851 MOVE: atomic `UID MOVE`.
    pub move_supported: bool,
    /// RFC 4315 UIDPLUS: `UID EXPUNGE` of exactly our messages.
    pub uidplus: bool,
}

impl ServerCapabilities {
    fn from_capabilities(caps: &Capabilities) -> Self {
        ServerCapabilities {
            idle: caps.has_str("IDLE"),
            move_supported: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
        }
    }
}

/// The SELECT results the channel needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Selected {
    pub uidvalidity: u32,
    pub uidnext: Option<u32>,
    pub exists: u32,
}

/// `host:port`, for errors and logs.
pub(crate) fn endpoint(config: &EmailConfig) -> String {
    format!("{}:{}", config.host, config.port)
}

/// Connects, secures and logs in. The session is authenticated, no mailbox selected.
pub(crate) async fn login(
    config: &EmailConfig,
) -> Result<(ImapSession, ServerCapabilities), ChannelError> {
    let endpoint = endpoint(config);
    let client = match tokio::time::timeout(CONNECT_TIMEOUT, open(config, &endpoint)).await {
        Ok(client) => client?,
        Err(_) => {
            return Err(ChannelError::Connect {
                endpoint,
                detail: format!("no greeting within {}s", CONNECT_TIMEOUT.as_secs()),
            });
        }
    };
    let login = timed("LOGIN", async {
        client
            .login_with_capabilities(&config.username, config.password.expose())
            .await
            .map_err(|(error, _client)| login_error(config, &endpoint, error))
    });
    let (mut session, caps) = login.await?;
    let caps = match caps {
        Some(caps) => caps,
        None => {
            timed("CAPABILITY", async {
                session
                    .capabilities()
                    .await
                    .map_err(|e| proto::protocol("CAPABILITY", e))
            })
            .await?
        }
    };
    Ok((session, ServerCapabilities::from_capabilities(&caps)))
}

/// SELECTs `mailbox` read-write and reads UIDVALIDITY, UIDNEXT and EXISTS.
pub(crate) async fn select(
    session: &mut ImapSession,
    mailbox: &str,
) -> Result<Selected, ChannelError> {
    let selected = timed("SELECT", async {
        session.select(mailbox).await.map_err(|e| match e {
            // The server's words stay out: they may echo anything.
            e @ (async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_)) => {
                ChannelError::Mailbox {
                    mailbox: mailbox.to_string(),
                    detail: describe(&e),
                }
            }
            other => proto::protocol("SELECT", other),
        })
    })
    .await?;
    let Some(uidvalidity) = selected.uid_validity else {
        return Err(ChannelError::Mailbox {
            mailbox: mailbox.to_string(),
            detail: "server reported no UIDVALIDITY".into(),
        });
    };
    Ok(Selected {
        uidvalidity,
        uidnext: selected.uid_next,
        exists: selected.exists,
    })
}

/// TCP, TLS per mode and the greeting; returns a client ready for LOGIN.
async fn open(
    config: &EmailConfig,
    endpoint: &str,
) -> Result<async_imap::Client<ImapStream>, ChannelError> {
    let tcp = TcpStream::connect((config.host.as_str(), config.port))
        .await
        .map_err(|e| ChannelError::Connect {
            endpoint: endpoint.to_string(),
            detail: e.to_string(),
        })?;
    // Latency matters more than packet count for IMAP's small commands.
    let _ = tcp.set_nodelay(true);
    match config.tls {
        TlsMode::Implicit => {
            let tls = handshake(config, endpoint, tcp).await?;
            let mut client = async_imap::Client::new(ImapStream::Tls(Box::new(tls)));
            read_greeting(&mut client, endpoint).await?;
            Ok(client)
        }
        TlsMode::Starttls => {
            let mut plain = async_imap::Client::new(ImapStream::Plain(tcp));
            read_greeting(&mut plain, endpoint).await?;
            plain
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| ChannelError::Tls {
                    endpoint: endpoint.to_string(),
                    detail: format!("STARTTLS refused: {}", describe(&e)),
                })?;
            // Anything the server sent after its OK is discarded with the plaintext client: it
            // would be a STARTTLS injection, not data.
            let ImapStream::Plain(tcp) = plain.into_inner() else {
                return Err(ChannelError::Tls {
                    endpoint: endpoint.to_string(),
                    detail: "unexpected transport before STARTTLS".into(),
                });
            };
            let tls = handshake(config, endpoint, tcp).await?;
            // No second greeting after STARTTLS (RFC 3501 6.2.1).
            Ok(async_imap::Client::new(ImapStream::Tls(Box::new(tls))))
        }
        TlsMode::None => {
            let mut client = async_imap::Client::new(ImapStream::Plain(tcp));
            read_greeting(&mut client, endpoint).await?;
            Ok(client)
        }
    }
}

/// Reads the server greeting: `* OK` (or `* PREAUTH`) goes on, `* BYE` is a refusal. Dovecot may
/// first send `* OK Waiting for authentication process to respond..` and the real greeting
/// later; the later one is read as an ordinary untagged response by the next command.
async fn read_greeting(
    client: &mut async_imap::Client<ImapStream>,
    endpoint: &str,
) -> Result<(), ChannelError> {
    let connect_error = |detail: String| ChannelError::Connect {
        endpoint: endpoint.to_string(),
        detail,
    };
    let greeting = client
        .read_response()
        .await
        .map_err(|e| connect_error(format!("reading greeting: {}", describe(&e.into()))))?
        .ok_or_else(|| connect_error("connection closed before greeting".into()))?;
    match greeting.parsed() {
        Response::Data {
            status: Status::Ok | Status::PreAuth,
            ..
        } => Ok(()),
        Response::Data {
            status: Status::Bye,
            ..
        } => Err(connect_error("server refused the connection (BYE)".into())),
        _ => Err(connect_error("unexpected greeting".into())),
    }
}

/// TLS handshake against the webpki roots, with the ring provider.
async fn handshake(
    config: &EmailConfig,
    endpoint: &str,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ChannelError> {
    let tls_error = |detail: String| ChannelError::Tls {
        endpoint: endpoint.to_string(),
        detail,
    };
    let server_name = ServerName::try_from(host(config).to_string())
        .map_err(|e| tls_error(format!("invalid server name: {e}")))?;
    let connector = TlsConnector::from(client_config(config).map_err(tls_error)?);
    connector
        .connect(server_name, tcp)
        .await
        .map_err(|e| tls_error(e.to_string()))
}

/// The host without the brackets an IPv6 literal may carry in config (`[::1]`).
fn host(config: &EmailConfig) -> &str {
    let host = config.host.as_str();
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// The public web roots plus the certificates of `tls_ca_file`, read anew at every connect so
/// a rotated CA file needs no restart.
fn client_config(config: &EmailConfig) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(file) = &config.tls_ca_file {
        let certs = CertificateDer::pem_file_iter(file)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("tls_ca_file {}: {e}", file.display()))?;
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(format!(
                "tls_ca_file {}: no usable CA certificate",
                file.display()
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(tls))
}

/// LOGIN failures: a NO/BAD is the credentials (or LOGINDISABLED); anything else is transport.
fn login_error(
    config: &EmailConfig,
    endpoint: &str,
    error: async_imap::error::Error,
) -> ChannelError {
    match error {
        async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => ChannelError::Auth {
            endpoint: endpoint.to_string(),
            username: config.username.clone(),
            retry_in: None,
        },
        // Validation rejects a CR/LF in username or password; say which without echoing it.
        async_imap::error::Error::Validate(_) => ChannelError::Auth {
            endpoint: endpoint.to_string(),
            username: config.username.clone(),
            retry_in: None,
        },
        other => proto::protocol("LOGIN", other),
    }
}
