//! The Bot API through teloxide's client (`teloxide_core::Bot` and its `Requester` methods),
//! with every failure turned into a [`ChannelError`] in our own words.
//!
//! The token is part of every request URL (`<api>/bot<token>/<method>`), and reqwest's errors
//! quote the URL; teloxide's JSON errors quote the whole response body. So no error text from
//! either is passed on: only the method, the kind of failure (timed out, refused, HTTP status),
//! and for API errors Telegram's description with the token masked.

use std::time::Duration;

use futures::StreamExt as _;
use intake_config::{Secret, TelegramConfig};
use teloxide_core::Bot;
use teloxide_core::errors::{ApiError, RequestError};
use teloxide_core::net::Download as _;
use teloxide_core::payloads::{DeleteWebhookSetters as _, SetWebhookSetters as _};
use teloxide_core::requests::{JsonRequest, Payload, Requester as _};
use teloxide_core::types::FileId;

use super::filter::BotIdentity;
use crate::{ChannelError, FileContent};

/// One bot's client.
#[derive(Clone)]
pub struct Api {
    bot: Bot,
    token: Secret,
    /// `scheme://host[:port]` of the API, for messages (no path, no token).
    endpoint: String,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// getUpdates with the result left as JSON, so the channel hands the normalizer the update as
/// the API sent it rather than teloxide's typed (and lossy) view. Still sent by teloxide's
/// client: `JsonRequest` is its request type.
#[derive(Debug, Clone, serde::Serialize)]
struct RawGetUpdates {
    offset: i64,
    limit: u8,
    timeout: u32,
    allowed_updates: [&'static str; 4],
}

impl Payload for RawGetUpdates {
    type Output = Vec<serde_json::Value>;
    const NAME: &'static str = "getUpdates";

    fn timeout_hint(&self) -> Option<Duration> {
        Some(Duration::from_secs(u64::from(self.timeout)))
    }
}

/// The update kinds Intake ingests (everything else is neither fetched nor confirmed late).
pub const ALLOWED_UPDATES: [&str; 4] = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
];

impl Api {
    /// A client for `config`; `longest_poll` is the long-poll timeout the HTTP timeout must
    /// outlast.
    pub fn new(config: &TelegramConfig, longest_poll: Duration) -> Result<Api, ChannelError> {
        let endpoint = endpoint_of(&config.api_url);
        let url = reqwest::Url::parse(&config.api_url).map_err(|_| ChannelError::Connect {
            endpoint: endpoint.clone(),
            detail: "the api_url is not a URL".into(),
        })?;
        let client = teloxide_core::net::default_reqwest_settings()
            .timeout(longest_poll + Duration::from_secs(10))
            .build()
            .map_err(|_| ChannelError::Connect {
                endpoint: endpoint.clone(),
                detail: "cannot set up the HTTP client".into(),
            })?;
        let bot = Bot::with_client(config.token.expose(), client).set_api_url(url);
        Ok(Api {
            bot,
            token: config.token.clone(),
            endpoint,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// getMe: who the bot is (mentions and replies in groups must name it).
    pub async fn me(&self) -> Result<BotIdentity, ChannelError> {
        let me = self
            .bot
            .get_me()
            .await
            .map_err(|e| self.failure("getMe", e))?;
        Ok(BotIdentity {
            id: i64::try_from(me.user.id.0).unwrap_or_default(),
            username: me.user.username,
        })
    }

    /// Updates from `offset` on (which confirms every update below it).
    pub async fn updates(
        &self,
        offset: i64,
        limit: u8,
        timeout: Duration,
    ) -> Result<Vec<serde_json::Value>, ChannelError> {
        let payload = RawGetUpdates {
            offset,
            limit,
            timeout: u32::try_from(timeout.as_secs()).unwrap_or(u32::MAX),
            allowed_updates: ALLOWED_UPDATES,
        };
        JsonRequest::new(self.bot.clone(), payload)
            .await
            .map_err(|e| self.failure("getUpdates", e))
    }

    /// The webhook URL set for the bot, if any (getWebhookInfo).
    pub async fn webhook(&self) -> Result<Option<WebhookState>, ChannelError> {
        let info = self
            .bot
            .get_webhook_info()
            .await
            .map_err(|e| self.failure("getWebhookInfo", e))?;
        Ok(info.url.map(|url| WebhookState {
            url: url.to_string(),
            pending: info.pending_update_count,
            last_error: info.last_error_message.map(|m| self.redact(&m)),
        }))
    }

    /// setWebhook with the secret Telegram echoes in `X-Telegram-Bot-Api-Secret-Token`.
    pub async fn set_webhook(&self, url: &str, secret: &Secret) -> Result<(), ChannelError> {
        let url = reqwest::Url::parse(url).map_err(|_| ChannelError::Protocol {
            detail: "the webhook_url is not a URL".into(),
        })?;
        self.bot
            .set_webhook(url)
            .secret_token(secret.expose())
            .allowed_updates(Vec::new())
            .await
            .map(|_| ())
            .map_err(|e| self.failure("setWebhook", e))
    }

    /// deleteWebhook, keeping the pending updates (they are then fetched by getUpdates).
    pub async fn delete_webhook(&self) -> Result<(), ChannelError> {
        self.bot
            .delete_webhook()
            .drop_pending_updates(false)
            .await
            .map(|_| ())
            .map_err(|e| self.failure("deleteWebhook", e))
    }

    /// getFile and the download, at most `max` bytes. A file the API refuses, one over `max`
    /// and one whose download is refused (HTTP 4xx) are `Omitted` with the reason; a network
    /// failure is an error (the update is fetched again later).
    pub async fn fetch_file(
        &self,
        file_id: &str,
        known_size: Option<u64>,
        max: u64,
    ) -> Result<FileContent, ChannelError> {
        if let Some(size) = known_size.filter(|&s| s > max) {
            return Ok(omitted(format!(
                "too_large: {size} bytes, over max_file_bytes {max}"
            )));
        }
        let file = match self.bot.get_file(FileId(file_id.to_owned())).await {
            Ok(file) => file,
            Err(RequestError::Api(e)) => {
                return Ok(omitted(format!(
                    "refused by the bot api: {}",
                    self.redact(&e.to_string())
                )));
            }
            Err(e) => return Err(self.failure("getFile", e)),
        };
        let size = u64::from(file.meta.size);
        if size != u64::from(u32::MAX) && size > max {
            return Ok(omitted(format!(
                "too_large: {size} bytes, over max_file_bytes {max}"
            )));
        }
        let mut stream = self.bot.download_file_stream(&file.path);
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => {
                    if (bytes.len() + chunk.len()) as u64 > max {
                        return Ok(omitted(format!("too_large: over max_file_bytes {max}")));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Err(e) => match e.status() {
                    Some(status) if status.is_client_error() => {
                        return Ok(omitted(format!(
                            "download refused: http {}",
                            status.as_u16()
                        )));
                    }
                    _ => {
                        return Err(ChannelError::Connect {
                            endpoint: self.endpoint.clone(),
                            detail: format!("file download {}", network_kind(&e)),
                        });
                    }
                },
            }
        }
        Ok(FileContent::Bytes(bytes))
    }

    /// Telegram's text with the token masked (a description could echo a URL).
    fn redact(&self, text: &str) -> String {
        redact(text, self.token.expose())
    }

    /// A teloxide error as a channel error, with no URL, body or token in it.
    pub fn failure(&self, method: &str, error: RequestError) -> ChannelError {
        let endpoint = self.endpoint.clone();
        match error {
            RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => ChannelError::Protocol {
                detail: format!(
                    "{method}: 409 conflict: another getUpdates poller is using this bot \
                     (another intake, or another program with the same token); retrying"
                ),
            },
            RequestError::Api(ApiError::CantGetUpdates) => webhook_conflict(method),
            RequestError::Api(ApiError::Unknown(text)) if text.contains("webhook is active") => {
                webhook_conflict(method)
            }
            RequestError::Api(ApiError::Unknown(text)) if text.starts_with("Conflict") => {
                ChannelError::Protocol {
                    detail: format!("{method}: 409 conflict: {}; retrying", self.redact(&text)),
                }
            }
            RequestError::Api(ApiError::InvalidToken) => ChannelError::Auth {
                endpoint,
                username: format!("bot {}", bot_id(self.token.expose())),
                retry_in: None,
            },
            RequestError::Api(other) => ChannelError::Protocol {
                detail: format!(
                    "{method} refused by the bot api: {}",
                    self.redact(&other.to_string())
                ),
            },
            RequestError::RetryAfter(seconds) => ChannelError::Protocol {
                detail: format!(
                    "{method}: rate limited by the bot api; retry after {}s",
                    seconds.seconds()
                ),
            },
            RequestError::MigrateToChatId(_) => ChannelError::Protocol {
                detail: format!("{method}: the group moved to a supergroup"),
            },
            RequestError::Network(e) => ChannelError::Connect {
                endpoint,
                detail: format!("{method} {}", network_kind(&e)),
            },
            RequestError::InvalidJson { .. } => ChannelError::Protocol {
                detail: format!("{method}: unreadable bot api response"),
            },
            RequestError::Io(_) => ChannelError::Connect {
                endpoint,
                detail: format!("{method}: i/o error"),
            },
        }
    }
}

/// A webhook registered with Telegram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookState {
    pub url: String,
    pub pending: u32,
    pub last_error: Option<String>,
}

fn webhook_conflict(method: &str) -> ChannelError {
    ChannelError::Protocol {
        detail: format!(
            "{method}: 409 conflict: a webhook is set for this bot, so polling gets nothing; \
             delete it (intake telegram delete-webhook, or delete_webhook = true) or use \
             mode = \"webhook\"; retrying"
        ),
    }
}

fn omitted(reason: String) -> FileContent {
    FileContent::Omitted { reason }
}

/// What went wrong with a request, without the URL reqwest would quote.
fn network_kind(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else if let Some(status) = error.status() {
        format!("failed: http {}", status.as_u16())
    } else if error.is_body() || error.is_decode() {
        "failed: the response broke off".into()
    } else {
        "failed: request error".into()
    }
}

/// `https://host:port` of a URL, without path or credentials.
fn endpoint_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}")
}

/// The bot id part of a token (never the secret part).
pub fn bot_id(token: &str) -> &str {
    token.split_once(':').map_or("", |(id, _)| id)
}

/// `text` with every occurrence of the token, and of its secret part, masked.
pub fn redact(text: &str, token: &str) -> String {
    let mut out = text.to_owned();
    if !token.is_empty() {
        out = out.replace(token, "[redacted]");
    }
    if let Some((_, secret)) = token.split_once(':')
        && secret.len() >= 8
    {
        out = out.replace(secret, "[redacted]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_and_endpoints() {
        let token = "123:SECRETSECRET";
        assert_eq!(
            redact("GET /bot123:SECRETSECRET/getMe and SECRETSECRET", token),
            "GET /bot[redacted]/getMe and [redacted]"
        );
        assert_eq!(
            endpoint_of("https://api.telegram.org/x"),
            "https://api.telegram.org"
        );
        assert_eq!(endpoint_of("http://127.0.0.1:81"), "http://127.0.0.1:81");
        assert_eq!(bot_id(token), "123");
    }
}
