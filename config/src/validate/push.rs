//! `[[channels]] type = "whatsapp" | "sms" | "pipe"`: names, URLs, limits, and the secrets each
//! provider signs with, resolved by reference only (`*_env` / `*_file`).

use super::email::{is_valid_name, size};
use super::secret::{self, SecretSource};
use crate::error::{ConfigErrors, join};
use crate::raw::{RawPipe, RawSms, RawWhatsapp};
use crate::types::Secret;
use crate::{PipeConfig, SmsConfig, WhatsappConfig};

const DEFAULT_GRAPH_API: &str = "https://graph.facebook.com/v21.0";
/// WhatsApp's own ceiling for media (documents) is 100 MB; most are far smaller.
const DEFAULT_WHATSAPP_MEDIA_BYTES: u64 = 100 * 1024 * 1024;
/// Twilio accepts MMS media up to 5 MB.
const DEFAULT_SMS_MEDIA_BYTES: u64 = 5 * 1024 * 1024;
const DEFAULT_PIPE_MESSAGE_BYTES: u64 = 25 * 1024 * 1024;

pub(super) fn whatsapp(
    raw: RawWhatsapp,
    path: &str,
    secrets: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> WhatsappConfig {
    let name = name(raw.name, path, errors);
    if raw.inline_secret {
        errors.push(
            join(path, "app_secret"),
            "inline secrets are not allowed; use app_secret_env, verify_token_env and \
             access_token_env (or their _file forms)",
        );
    }
    let mut required = |stem: &str, var: Option<String>, file: Option<String>| {
        required_secret(path, stem, var, file, secrets, errors)
    };
    let app_secret = required("app_secret", raw.app_secret_env, raw.app_secret_file);
    let verify_token = required("verify_token", raw.verify_token_env, raw.verify_token_file);
    let access_token = required("access_token", raw.access_token_env, raw.access_token_file);
    let api_url = http_url(
        raw.api_url,
        DEFAULT_GRAPH_API,
        &join(path, "api_url"),
        errors,
    );
    let max_media_bytes = size(
        raw.max_media_bytes,
        DEFAULT_WHATSAPP_MEDIA_BYTES,
        &join(path, "max_media_bytes"),
        errors,
    );
    WhatsappConfig {
        name,
        app_secret,
        verify_token,
        access_token,
        api_url: api_url.trim_end_matches('/').to_string(),
        max_media_bytes,
    }
}

pub(super) fn sms(
    raw: RawSms,
    path: &str,
    secrets: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> SmsConfig {
    let name = name(raw.name, path, errors);
    // Required keys that are `None` were already reported as missing.
    let public_url = raw.public_url.map_or_else(String::new, |url| {
        http_url(Some(url), "", &join(path, "public_url"), errors)
    });
    let account_sid = raw.account_sid.unwrap_or_default();
    if raw_sid_invalid(&account_sid) {
        errors.push(
            join(path, "account_sid"),
            "expected a Twilio account SID: \"AC\" followed by 32 hex digits",
        );
    }
    if raw.inline_auth_token {
        errors.push(
            join(path, "auth_token"),
            "inline secrets are not allowed; use auth_token_env = \"VAR\" or auth_token_file",
        );
    }
    let auth_token = required_secret(
        path,
        "auth_token",
        raw.auth_token_env,
        raw.auth_token_file,
        secrets,
        errors,
    );
    let max_media_bytes = size(
        raw.max_media_bytes,
        DEFAULT_SMS_MEDIA_BYTES,
        &join(path, "max_media_bytes"),
        errors,
    );
    SmsConfig {
        name,
        public_url,
        account_sid,
        auth_token,
        max_media_bytes,
    }
}

pub(super) fn pipe(raw: RawPipe, path: &str, errors: &mut ConfigErrors) -> PipeConfig {
    PipeConfig {
        name: name(raw.name, path, errors),
        max_message_bytes: size(
            raw.max_message_bytes,
            DEFAULT_PIPE_MESSAGE_BYTES,
            &join(path, "max_message_bytes"),
            errors,
        ),
    }
}

fn name(name: Option<String>, path: &str, errors: &mut ConfigErrors) -> String {
    // A missing name was already reported.
    if name.as_deref().is_some_and(|name| !is_valid_name(name)) {
        errors.push(
            join(path, "name"),
            "must be non-empty and use only A-Z a-z 0-9 _ . -",
        );
    }
    name.unwrap_or_default()
}

/// The secret named by `<stem>_env` or `<stem>_file`, one of which must be set; an empty
/// placeholder when it cannot be had (the error or warning is recorded).
fn required_secret(
    path: &str,
    stem: &str,
    var: Option<String>,
    file: Option<String>,
    secrets: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> Secret {
    if var.is_none() && file.is_none() {
        errors.push(
            join(path, &format!("{stem}_env")),
            format!("missing; set {stem}_env (an environment variable) or {stem}_file"),
        );
        return Secret::new("");
    }
    secret::resolve_keys(path, stem, var.as_deref(), file.as_deref(), secrets, errors)
        .unwrap_or_else(|| Secret::new(""))
}

/// An `http://` or `https://` URL with a host; `default` when absent.
fn http_url(url: Option<String>, default: &str, path: &str, errors: &mut ConfigErrors) -> String {
    let Some(url) = url else {
        return default.to_string();
    };
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    match host {
        Some(host) if !host.is_empty() => url,
        _ => {
            errors.push(
                path,
                "expected an http:// or https:// URL with a host, e.g. https://example.com/path",
            );
            url
        }
    }
}

fn raw_sid_invalid(sid: &str) -> bool {
    let well_formed = sid.len() == 34
        && sid.starts_with("AC")
        && sid
            .get(2..)
            .is_some_and(|hex| hex.chars().all(|c| c.is_ascii_hexdigit()));
    // Empty: reported as missing already.
    !sid.is_empty() && !well_formed
}
