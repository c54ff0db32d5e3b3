//! `[[channels]] type = "telegram"`: a Telegram bot. Checks the mode and its keys, the API URL
//! (HTTPS unless loopback: the token travels in every request URL), the chat filters and limits,
//! and resolves the token and the webhook secret. Error messages never echo either.

use std::time::Duration;

use super::duration;
use super::email::{is_loopback, is_valid_name, poison_after, size};
use super::secret::{self, SecretSource};
use crate::error::{ConfigErrors, join};
use crate::raw::RawTelegram;
use crate::types::{GroupMessages, Secret, TelegramChats, TelegramConfig, TelegramMode};

pub(super) const DEFAULT_API_URL: &str = "https://api.telegram.org";
/// Telegram's own getFile limit for bots on the public Bot API.
const DEFAULT_MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;
const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(25);
/// Telegram holds a long poll for at most 50 s.
const MAX_POLL_TIMEOUT: Duration = Duration::from_secs(50);
const MAX_BATCH_SIZE: usize = 100;
/// Half of what one getUpdates returns: the rest is handed out while the first half is being
/// committed, so fetching overlaps the Redis round trips.
const DEFAULT_BATCH_SIZE: usize = 50;

pub(super) fn validate(
    mut raw: RawTelegram,
    path: &str,
    secrets: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> TelegramConfig {
    let at = |key: &str| join(path, key);
    if raw.name.as_deref().is_some_and(|name| !is_valid_name(name)) {
        errors.push(
            at("name"),
            "must be non-empty and use only A-Z a-z 0-9 _ . -",
        );
    }
    let name = raw.name.take().unwrap_or_default();

    if raw.inline_token {
        errors.push(
            at("token"),
            "inline tokens are not allowed; use token_env = \"VAR\" or token_file = \"/path\"",
        );
    }
    let (token_env, token_file) = (raw.token_env.as_deref(), raw.token_file.as_deref());
    if token_env.is_none() && token_file.is_none() {
        errors.push(
            at("token_env"),
            "missing; set token_env (an environment variable) or token_file",
        );
    }
    let token = secret::resolve_keys(path, "token", token_env, token_file, secrets, errors);
    if let Some(token) = &token
        && !is_bot_token(token.expose())
    {
        let key = if token_env.is_some() {
            "token_env"
        } else {
            "token_file"
        };
        errors.push(
            at(key),
            "the value does not look like a bot token (<bot id>:<secret>, as @BotFather gives it)",
        );
    }

    let mode = mode(&mut raw, path, secrets, errors);
    let api_url = api_url(raw.api_url.as_deref(), &at("api_url"), errors);
    let chats = match raw.chats.as_deref() {
        None | Some("private") => TelegramChats::Private,
        Some("all") => TelegramChats::All,
        Some(other) => {
            let message =
                format!("{other:?} is not a chat filter; expected \"private\" or \"all\"");
            errors.push(at("chats"), message);
            TelegramChats::Private
        }
    };
    let group_messages = match raw.group_messages.as_deref() {
        None | Some("mentions") => GroupMessages::Mentions,
        Some("all") => GroupMessages::All,
        Some(other) => {
            let message =
                format!("{other:?} is not a group filter; expected \"mentions\" or \"all\"");
            errors.push(at("group_messages"), message);
            GroupMessages::Mentions
        }
    };
    if raw.group_messages.is_some() && chats == TelegramChats::Private {
        errors.push(
            at("group_messages"),
            "only used with chats = \"all\" (private chats have no groups)",
        );
    }
    let batch_size = match raw.batch_size {
        None => DEFAULT_BATCH_SIZE,
        Some(n) => match usize::try_from(n) {
            Ok(n) if (1..=MAX_BATCH_SIZE).contains(&n) => n,
            _ => {
                let message = format!("{n} is out of range; expected 1..={MAX_BATCH_SIZE}");
                errors.push(at("batch_size"), message);
                DEFAULT_BATCH_SIZE
            }
        },
    };
    TelegramConfig {
        name,
        token: token.unwrap_or_else(|| Secret::new("")),
        mode,
        api_url,
        chats,
        group_messages,
        max_file_bytes: size(
            raw.max_file_bytes,
            DEFAULT_MAX_FILE_BYTES,
            &at("max_file_bytes"),
            errors,
        ),
        batch_size,
        poison_after: poison_after(raw.poison_after, &at("poison_after"), errors),
    }
}

fn mode(
    raw: &mut RawTelegram,
    path: &str,
    secrets: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> TelegramMode {
    let at = |key: &str| join(path, key);
    let webhook_only = "only used with mode = \"webhook\"";
    let polling_only = "only used with mode = \"polling\"";
    match raw.mode.as_deref() {
        None | Some("polling") => {
            for (key, set) in [
                ("webhook_url", raw.webhook_url.is_some()),
                ("webhook_secret_env", raw.webhook_secret_env.is_some()),
                ("webhook_secret_file", raw.webhook_secret_file.is_some()),
            ] {
                if set {
                    errors.push(at(key), webhook_only);
                }
            }
            let timeout = duration(
                &at("poll_timeout"),
                raw.poll_timeout.take(),
                DEFAULT_POLL_TIMEOUT,
                Duration::from_secs(1),
                errors,
            );
            if timeout > MAX_POLL_TIMEOUT {
                errors.push(
                    at("poll_timeout"),
                    "must be at most 50s (Telegram's longest poll)",
                );
            }
            TelegramMode::Polling {
                timeout: timeout.min(MAX_POLL_TIMEOUT),
                delete_webhook: raw.delete_webhook.unwrap_or(false),
            }
        }
        Some("webhook") => {
            if raw.delete_webhook.is_some() {
                errors.push(at("delete_webhook"), polling_only);
            }
            if raw.poll_timeout.is_some() {
                errors.push(at("poll_timeout"), polling_only);
            }
            if raw.inline_webhook_secret {
                errors.push(
                    at("webhook_secret"),
                    "inline secrets are not allowed; use webhook_secret_env or webhook_secret_file",
                );
            }
            let (var, file) = (
                raw.webhook_secret_env.as_deref(),
                raw.webhook_secret_file.as_deref(),
            );
            if var.is_none() && file.is_none() {
                errors.push(
                    at("webhook_secret_env"),
                    "missing; webhook mode needs the secret Telegram echoes in \
                     X-Telegram-Bot-Api-Secret-Token (webhook_secret_env or webhook_secret_file)",
                );
            }
            let secret = secret::resolve_keys(path, "webhook_secret", var, file, secrets, errors);
            if let Some(secret) = &secret
                && !is_secret_token(secret.expose())
            {
                let key = if var.is_some() {
                    "webhook_secret_env"
                } else {
                    "webhook_secret_file"
                };
                errors.push(
                    at(key),
                    "the value must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)",
                );
            }
            let url = match raw.webhook_url.as_deref() {
                None => {
                    errors.push(
                        at("webhook_url"),
                        "missing; the public https:// URL Telegram should call \
                         (routed to /webhooks/<name>)",
                    );
                    String::new()
                }
                Some(url) if !url.starts_with("https://") || url.len() <= "https://".len() => {
                    errors.push(
                        at("webhook_url"),
                        "must be an https:// URL (Telegram's rule)",
                    );
                    url.to_string()
                }
                Some(url) => url.to_string(),
            };
            TelegramMode::Webhook {
                url,
                secret: secret.unwrap_or_else(|| Secret::new("")),
            }
        }
        Some(other) => {
            let message = format!("{other:?} is not a mode; expected \"polling\" or \"webhook\"");
            errors.push(at("mode"), message);
            TelegramMode::Polling {
                timeout: DEFAULT_POLL_TIMEOUT,
                delete_webhook: false,
            }
        }
    }
}

/// `https://host[:port][/path]`, or `http://` to a loopback host only: the token is in every
/// request's URL.
fn api_url(url: Option<&str>, path: &str, errors: &mut ConfigErrors) -> String {
    let Some(url) = url else {
        return DEFAULT_API_URL.to_string();
    };
    let url = url.trim_end_matches('/');
    let Some((scheme, rest)) = url.split_once("://") else {
        errors.push(path, "expected a URL such as https://api.telegram.org");
        return url.to_string();
    };
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = match host_port.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => host_port,
    };
    if host.is_empty() {
        errors.push(path, "missing host, e.g. https://api.telegram.org");
    } else if scheme == "http" && !is_loopback(host) {
        errors.push(
            path,
            "http:// would send the bot token in cleartext; use https:// (http:// is allowed \
             only for a loopback host)",
        );
    } else if scheme != "http" && scheme != "https" {
        errors.push(path, format!("scheme must be https://, not {scheme}://"));
    }
    url.to_string()
}

/// `<digits>:<token chars>`, as @BotFather issues them.
fn is_bot_token(token: &str) -> bool {
    token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.len() <= 20
            && id.chars().all(|c| c.is_ascii_digit())
            && !secret.is_empty()
            && secret
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    })
}

fn is_secret_token(secret: &str) -> bool {
    (1..=256).contains(&secret.len())
        && secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes() {
        assert!(is_bot_token("123456:ABC-def_9"));
        assert!(!is_bot_token("123456"));
        assert!(!is_bot_token("abc:def"));
        assert!(!is_bot_token("1:bad/char"));
        assert!(is_secret_token("s3cr-et_"));
        assert!(!is_secret_token(""));
        assert!(!is_secret_token("has space"));
    }
}
