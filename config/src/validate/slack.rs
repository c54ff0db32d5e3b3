//! `[[channels]] type = "slack"`: the Slack Events API. The signing secret is required; a bot
//! token is needed only to download shared files; `channels` lists the channel ids whose
//! messages become cases besides direct messages.

use super::email::is_valid_name;
use super::secret::{self, SecretSource};
use crate::error::{ConfigErrors, join};
use crate::raw::RawSlack;
use crate::types::{Secret, SlackConfig};

const DEFAULT_API_URL: &str = "https://slack.com/api";
const DEFAULT_MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;

pub(super) fn validate(
    raw: RawSlack,
    path: &str,
    secrets: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> SlackConfig {
    if raw.name.as_deref().is_some_and(|name| !is_valid_name(name)) {
        errors.push(
            join(path, "name"),
            "must be non-empty and use only A-Z a-z 0-9 _ . -",
        );
    }
    if raw.inline_secret {
        errors.push(join(path, "signing_secret"), secret::inline_secret(path));
    }
    let signing_secret = secret::resolve_named_required(
        path,
        "signing_secret",
        raw.signing_secret_env.as_deref(),
        raw.signing_secret_file.as_deref(),
        secrets,
        errors,
    );
    let bot_token = secret::resolve_keys(
        path,
        "bot_token",
        raw.bot_token_env.as_deref(),
        raw.bot_token_file.as_deref(),
        secrets,
        errors,
    );
    let channels = raw.channels.unwrap_or_default();
    for (i, id) in channels.iter().enumerate() {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            errors.push(
                format!("{}[{i}]", join(path, "channels")),
                "must be a Slack channel id such as \"C0123456789\" (not a #name)",
            );
        }
    }
    let api_url = raw
        .api_url
        .unwrap_or_else(|| DEFAULT_API_URL.into())
        .trim_end_matches('/')
        .to_string();
    if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
        errors.push(join(path, "api_url"), "must be an http:// or https:// URL");
    }
    let max_file_bytes = super::email::size(
        raw.max_file_bytes,
        DEFAULT_MAX_FILE_BYTES,
        &join(path, "max_file_bytes"),
        errors,
    );
    SlackConfig {
        name: raw.name.unwrap_or_default(),
        signing_secret: signing_secret.unwrap_or_else(|| Secret::new("")),
        bot_token,
        channels,
        api_url,
        max_file_bytes,
    }
}
