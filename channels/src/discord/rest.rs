//! The REST calls of the Discord channel: history pages, channel lookups, attachment downloads.
//!
//! serenity's HTTP client only hands out successful responses, and its rate limiter does not
//! follow a proxy base URL, so these few calls go through reqwest (which serenity uses too)
//! with Discord's rate limits honoured here: a 429 waits its `retry_after` (body) or
//! `Retry-After` (header) and retries; a response saying the bucket is empty
//! (`X-RateLimit-Remaining: 0`) delays the next call of that route by `X-RateLimit-Reset-After`.
//! Errors carry our own words and status codes only, never response text or the token.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Response, StatusCode};
use serde::Deserialize;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::ChannelError;

/// Discord's REST API version.
const API: &str = "/api/v10";
/// Rate-limited retries of one call before it fails (transiently).
const MAX_RATE_LIMITED: u32 = 8;
/// The longest wait a 429 may impose before we give up on this call.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(30);

/// What a call returned: a body, or a status the caller decides about.
pub(super) enum Reply {
    Ok(Vec<u8>),
    /// 403 / 404: no permission, or gone.
    Refused(StatusCode),
}

/// A channel as `GET /channels/{id}` describes it.
#[derive(Debug, Deserialize)]
pub(super) struct ChannelObject {
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default)]
    pub guild_id: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
}

pub(super) struct Rest {
    client: reqwest::Client,
    base: String,
    auth: HeaderValue,
    /// Per route: not before this instant (the bucket was empty).
    next_allowed: HashMap<String, Instant>,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Rest {
    /// `base`: `https://discord.com` or a test's fake.
    pub(super) fn new(base: &str, token: &str) -> Result<Rest, ChannelError> {
        let mut auth =
            HeaderValue::from_str(&format!("Bot {token}")).map_err(|_| ChannelError::Refused {
                endpoint: base.to_string(),
                detail: "the token is not a valid header value".into(),
            })?;
        auth.set_sensitive(true);
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            // The form Discord asks bots to use: `DiscordBot ($url, $version)`.
            .user_agent(concat!(
                "DiscordBot (intake, ",
                env!("CARGO_PKG_VERSION"),
                ")"
            ))
            .build()
            .map_err(|e| ChannelError::Connect {
                endpoint: base.to_string(),
                detail: format!("http client: {}", e.without_url()),
            })?;
        Ok(Rest {
            client,
            base: base.trim_end_matches('/').to_string(),
            auth,
            next_allowed: HashMap::new(),
        })
    }

    pub(super) fn endpoint(&self) -> &str {
        &self.base
    }

    /// One page of `channel`'s messages after `after`, as Discord sent the JSON array.
    pub(super) async fn messages_after(
        &mut self,
        channel: u64,
        after: u64,
        limit: usize,
    ) -> Result<Reply, ChannelError> {
        let url = format!(
            "{}{API}/channels/{channel}/messages?after={after}&limit={limit}",
            self.base
        );
        self.get(&format!("messages:{channel}"), &url, true).await
    }

    /// What `channel` is (a DM, a text channel, a thread and its parent); None when we may
    /// not see it.
    pub(super) async fn channel(
        &mut self,
        channel: u64,
    ) -> Result<Option<ChannelObject>, ChannelError> {
        let url = format!("{}{API}/channels/{channel}", self.base);
        match self.get("channel", &url, true).await? {
            Reply::Refused(_) => Ok(None),
            Reply::Ok(body) => {
                serde_json::from_slice(&body)
                    .map(Some)
                    .map_err(|_| ChannelError::Protocol {
                        detail: format!(
                            "channel {channel}: the description is not a channel object"
                        ),
                    })
            }
        }
    }

    /// The bot's own user (`GET /users/@me`): checks the token.
    pub(super) async fn current_user(&mut self) -> Result<Option<Vec<u8>>, ChannelError> {
        let url = format!("{}{API}/users/@me", self.base);
        Ok(match self.get("users", &url, true).await? {
            Reply::Ok(body) => Some(body),
            Reply::Refused(_) => None,
        })
    }

    /// An attachment's bytes, unless larger than `max` (then None). The URL comes from the
    /// message; the token is not sent there (attachment URLs are signed).
    pub(super) async fn download(
        &mut self,
        url: &str,
        max: u64,
    ) -> Result<Result<Vec<u8>, String>, ChannelError> {
        let mut response = match self.send("attachments", url, false).await? {
            Ok(response) => response,
            Err(status) => {
                return Ok(Err(format!(
                    "download refused (status {})",
                    status.as_u16()
                )));
            }
        };
        if response.content_length().is_some_and(|len| len > max) {
            return Ok(Err(format!("larger than max_file_bytes ({max} bytes)")));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.io_error(&e))? {
            if (bytes.len() + chunk.len()) as u64 > max {
                return Ok(Err(format!("larger than max_file_bytes ({max} bytes)")));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Ok(bytes))
    }

    async fn get(&mut self, route: &str, url: &str, auth: bool) -> Result<Reply, ChannelError> {
        match self.send(route, url, auth).await? {
            Ok(response) => {
                let body = response.bytes().await.map_err(|e| self.io_error(&e))?;
                Ok(Reply::Ok(body.to_vec()))
            }
            Err(status) => Ok(Reply::Refused(status)),
        }
    }

    /// Sends a GET, waiting out rate limits. `Err(status)` for 403 and 404; 401 ends the
    /// channel (the token is wrong); other failures are transient errors.
    async fn send(
        &mut self,
        route: &str,
        url: &str,
        auth: bool,
    ) -> Result<Result<Response, StatusCode>, ChannelError> {
        for _ in 0..MAX_RATE_LIMITED {
            if let Some(at) = self.next_allowed.remove(route) {
                tokio::time::sleep_until(at).await;
            }
            let mut request = self.client.get(url);
            if auth {
                request = request.header(AUTHORIZATION, self.auth.clone());
            }
            let response = request.send().await.map_err(|e| self.io_error(&e))?;
            let status = response.status();
            if let Some(wait) = bucket_empty(response.headers()) {
                self.next_allowed
                    .insert(route.to_string(), Instant::now() + wait);
            }
            match status {
                s if s.is_success() => return Ok(Ok(response)),
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = retry_after(response).await;
                    warn!(
                        route,
                        wait_ms = wait.as_millis() as u64,
                        "discord rate limit, waiting"
                    );
                    tokio::time::sleep(wait).await;
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(ChannelError::Refused {
                        endpoint: self.base.clone(),
                        detail: "the bot token was rejected (401)".into(),
                    });
                }
                StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => return Ok(Err(status)),
                other => {
                    return Err(ChannelError::Connect {
                        endpoint: self.base.clone(),
                        detail: format!("{route}: status {}", other.as_u16()),
                    });
                }
            }
        }
        Err(ChannelError::Connect {
            endpoint: self.base.clone(),
            detail: format!("{route}: still rate limited after {MAX_RATE_LIMITED} tries"),
        })
    }

    fn io_error(&self, e: &reqwest::Error) -> ChannelError {
        debug!(error = %e.without_url_ref(), "discord request failed");
        ChannelError::Connect {
            endpoint: self.base.clone(),
            detail: if e.is_timeout() {
                "request timed out".into()
            } else {
                "request failed".into()
            },
        }
    }
}

trait WithoutUrlRef {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrlRef for reqwest::Error {
    /// The error without its URL (an attachment URL carries a signature).
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<url>");
        }
        text
    }
}

/// How long Discord asks us to wait after a 429: the body's `retry_after` (seconds, may be
/// fractional), else the `Retry-After` header, else a second; capped.
async fn retry_after(response: Response) -> Duration {
    #[derive(Deserialize)]
    struct Body {
        retry_after: f64,
    }
    let header = header_secs(response.headers(), "retry-after");
    let body = response.bytes().await.ok();
    let from_body = body
        .and_then(|b| serde_json::from_slice::<Body>(&b).ok())
        .map(|b| b.retry_after);
    let secs = from_body.or(header).unwrap_or(1.0);
    Duration::try_from_secs_f64(secs.max(0.0))
        .unwrap_or(MAX_RETRY_AFTER)
        .min(MAX_RETRY_AFTER)
}

/// `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset-After`: wait that long before the next
/// call of the route.
fn bucket_empty(headers: &HeaderMap) -> Option<Duration> {
    let remaining = headers.get("x-ratelimit-remaining")?.to_str().ok()?;
    if remaining.trim() != "0" {
        return None;
    }
    let secs = header_secs(headers, "x-ratelimit-reset-after")?;
    Duration::try_from_secs_f64(secs.max(0.0))
        .ok()
        .map(|d| d.min(MAX_RETRY_AFTER))
}

fn header_secs(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}
