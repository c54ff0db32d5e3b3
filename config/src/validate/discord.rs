//! `[[channels]] type = "discord"`: a Discord bot. Checks the name, the support channel ids
//! (TOML integers or strings of digits), the URL overrides (the token travels to them, so
//! plaintext only to loopback), the limits, and resolves the token.

use toml::Value;

use super::email::{is_loopback, is_valid_name, poison_after, size};
use super::secret::{self, SecretSource};
use crate::error::{ConfigErrors, join};
use crate::raw::RawDiscord;
use crate::types::{DiscordConfig, Secret};

const DEFAULT_MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;
const DEFAULT_BATCH_SIZE: usize = 100;
const MAX_BATCH_SIZE: usize = 1000;

pub(super) fn validate(
    raw: RawDiscord,
    path: &str,
    secrets: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> DiscordConfig {
    let at = |key: &str| join(path, key);
    if raw.name.as_deref().is_some_and(|name| !is_valid_name(name)) {
        errors.push(
            at("name"),
            "must be non-empty and use only A-Z a-z 0-9 _ . -",
        );
    }
    if raw.inline_token {
        errors.push(
            at("token"),
            "inline tokens are not allowed; use token_env = \"VAR\" or token_file = \"/path\"",
        );
    }
    let (var, file) = (raw.token_env.as_deref(), raw.token_file.as_deref());
    if var.is_none() && file.is_none() {
        errors.push(
            at("token_env"),
            "missing; set token_env (an environment variable) or token_file",
        );
    }
    let token = secret::resolve_keys(path, "token", var, file, secrets, errors);
    if token
        .as_ref()
        .is_some_and(|t| t.expose().trim().is_empty() || t.expose().contains(char::is_whitespace))
    {
        errors.push(at("token"), "the token is empty or contains whitespace");
    }

    let guild_channels = channel_ids(raw.guild_channels, &at("guild_channels"), errors);
    let direct_messages = raw.direct_messages.unwrap_or(true);
    if guild_channels.is_empty() && !direct_messages {
        errors.push(
            at("guild_channels"),
            "no support channel and direct_messages = false: the bot would read nothing",
        );
    }
    let api_url = raw
        .api_url
        .map(|url| url_override(url, &["https", "http"], &at("api_url"), errors));
    let gateway_url = raw
        .gateway_url
        .map(|url| url_override(url, &["wss", "ws"], &at("gateway_url"), errors));
    let max_file_bytes = size(
        raw.max_file_bytes,
        DEFAULT_MAX_FILE_BYTES,
        &at("max_file_bytes"),
        errors,
    );
    let batch_size = match raw.batch_size {
        None => DEFAULT_BATCH_SIZE,
        Some(n) if (1..=MAX_BATCH_SIZE as i64).contains(&n) => n as usize,
        Some(_) => {
            errors.push(
                at("batch_size"),
                format!("must be between 1 and {MAX_BATCH_SIZE}"),
            );
            DEFAULT_BATCH_SIZE
        }
    };
    DiscordConfig {
        name: raw.name.unwrap_or_default(),
        token: token.unwrap_or_else(|| Secret::new("")),
        guild_channels,
        direct_messages,
        ignore_bots: raw.ignore_bots.unwrap_or(true),
        api_url,
        gateway_url,
        max_file_bytes,
        batch_size,
        poison_after: poison_after(raw.poison_after, &at("poison_after"), errors),
    }
}

/// Snowflakes as TOML integers or strings of digits; duplicates are an error (a typo).
fn channel_ids(values: Option<Vec<Value>>, path: &str, errors: &mut ConfigErrors) -> Vec<u64> {
    let mut ids = Vec::new();
    for (i, value) in values.unwrap_or_default().into_iter().enumerate() {
        let at = format!("{path}[{i}]");
        let id = match &value {
            Value::Integer(n) => u64::try_from(*n).ok(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match id {
            Some(id) if id > 0 && ids.contains(&id) => {
                errors.push(at, format!("channel {id} is listed twice"));
            }
            Some(id) if id > 0 => ids.push(id),
            _ => errors.push(
                at,
                format!(
                    "expected a channel id (an integer or a string of digits), found {}",
                    value.type_str()
                ),
            ),
        }
    }
    ids
}

/// A URL override: one of `schemes`; the plaintext one (the last) only to a loopback host,
/// since the token is sent there. Returned without a trailing slash.
fn url_override(url: String, schemes: &[&str], path: &str, errors: &mut ConfigErrors) -> String {
    let url = url.trim().trim_end_matches('/').to_string();
    let Some((scheme, rest)) = url.split_once("://") else {
        errors.push(
            path,
            format!("expected a {}:// URL", schemes.join(":// or ")),
        );
        return url;
    };
    let host = host_of(rest);
    let secure = schemes.first().is_some_and(|s| *s == scheme);
    if !schemes.contains(&scheme) || host.is_empty() {
        errors.push(
            path,
            format!("expected a {}:// URL", schemes.join(":// or ")),
        );
    } else if !secure && !is_loopback(host) {
        errors.push(
            path,
            format!("{scheme}:// would send the bot token in cleartext; it is allowed only to a loopback host"),
        );
    }
    url
}

/// The host of `host[:port][/path]`, brackets kept for IPv6.
fn host_of(rest: &str) -> &str {
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
}
