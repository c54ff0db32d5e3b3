//! Each channel type's table as written (`[[channels]]` with its `type`), read key by key.

use toml::Value;

use super::DurationText;
use super::fields::Fields;
use crate::error::join;

/// `type = "api"`: Intake's own signed webhook.
#[derive(Debug, Default)]
pub(crate) struct RawApi {
    pub name: Option<String>,
    pub secret_env: Option<String>,
    pub secret_file: Option<String>,
    pub token_env: Option<String>,
    pub token_file: Option<String>,
    pub inline_secret: bool,
    pub store_raw: Option<bool>,
}

/// `type = "slack"`: the Events API.
#[derive(Debug, Default)]
pub(crate) struct RawSlack {
    pub name: Option<String>,
    pub signing_secret_env: Option<String>,
    pub signing_secret_file: Option<String>,
    pub bot_token_env: Option<String>,
    pub bot_token_file: Option<String>,
    pub inline_secret: bool,
    pub channels: Option<Vec<String>>,
    pub api_url: Option<String>,
    pub max_file_bytes: Option<Value>,
}

#[derive(Debug, Default)]
pub(crate) struct RawWhatsapp {
    pub name: Option<String>,
    pub app_secret_env: Option<String>,
    pub app_secret_file: Option<String>,
    pub verify_token_env: Option<String>,
    pub verify_token_file: Option<String>,
    pub access_token_env: Option<String>,
    pub access_token_file: Option<String>,
    /// `app_secret`, `verify_token` or `access_token` written inline.
    pub inline_secret: bool,
    pub api_url: Option<String>,
    /// An integer byte count or a string such as `"16 MiB"`.
    pub max_media_bytes: Option<Value>,
}

#[derive(Debug, Default)]
pub(crate) struct RawSms {
    pub name: Option<String>,
    pub public_url: Option<String>,
    pub account_sid: Option<String>,
    pub auth_token_env: Option<String>,
    pub auth_token_file: Option<String>,
    pub inline_auth_token: bool,
    /// An integer byte count or a string such as `"5 MiB"`.
    pub max_media_bytes: Option<Value>,
}

#[derive(Debug, Default)]
pub(crate) struct RawPipe {
    pub name: Option<String>,
    /// An integer byte count or a string such as `"25 MiB"`.
    pub max_message_bytes: Option<Value>,
}

#[derive(Debug, Default)]
pub(crate) struct RawDiscord {
    pub name: Option<String>,
    pub token_env: Option<String>,
    pub token_file: Option<String>,
    pub inline_token: bool,
    /// Integers or strings (snowflakes exceed what some TOML writers keep exact).
    pub guild_channels: Option<Vec<Value>>,
    pub direct_messages: Option<bool>,
    pub ignore_bots: Option<bool>,
    pub api_url: Option<String>,
    pub gateway_url: Option<String>,
    /// An integer byte count or a string such as `"25 MiB"`.
    pub max_file_bytes: Option<Value>,
    pub batch_size: Option<i64>,
    pub poison_after: Option<i64>,
}

#[derive(Debug, Default)]
pub(crate) struct RawTelegram {
    pub name: Option<String>,
    pub token_env: Option<String>,
    pub token_file: Option<String>,
    pub inline_token: bool,
    pub mode: Option<String>,
    pub api_url: Option<String>,
    pub chats: Option<String>,
    pub group_messages: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret_env: Option<String>,
    pub webhook_secret_file: Option<String>,
    pub inline_webhook_secret: bool,
    pub delete_webhook: Option<bool>,
    pub poll_timeout: Option<DurationText>,
    pub batch_size: Option<i64>,
    /// An integer byte count or a string such as `"20 MiB"`.
    pub max_file_bytes: Option<Value>,
    pub poison_after: Option<i64>,
}

#[derive(Debug, Default)]
pub(crate) struct RawEmail {
    pub name: Option<String>,
    pub host: Option<String>,
    pub port: Option<i64>,
    pub tls: Option<String>,
    pub allow_insecure: Option<bool>,
    pub tls_ca_file: Option<String>,
    pub authserv_id: Option<String>,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    pub inline_password: bool,
    pub mailbox: Option<String>,
    pub after_ingest: Option<RawAfterIngest>,
    pub idle: Option<bool>,
    pub poll_interval: Option<DurationText>,
    pub batch_size: Option<i64>,
    /// An integer byte count or a string such as `"25 MiB"`.
    pub max_message_bytes: Option<Value>,
    pub poison_after: Option<i64>,
}

#[derive(Debug)]
pub(crate) enum RawAfterIngest {
    /// `after_ingest = "seen"` (or any other word, checked later).
    Word(String),
    /// `after_ingest = { move_to = "..." }`; `None` when `move_to` is missing or not a string.
    MoveTo(Option<String>),
}
impl RawEmail {
    pub(super) fn read(mut f: Fields<'_>) -> RawEmail {
        let raw = RawEmail {
            name: f.required("name"),
            host: f.required("host"),
            port: f.take("port"),
            tls: f.take("tls"),
            allow_insecure: f.take("allow_insecure"),
            tls_ca_file: f.take("tls_ca_file"),
            authserv_id: f.take("authserv_id"),
            username: f.required("username"),
            password_env: f.take("password_env"),
            password_file: f.take("password_file"),
            inline_password: f.take_unlisted("password"),
            mailbox: f.take("mailbox"),
            after_ingest: f
                .take::<Value>("after_ingest")
                .and_then(|v| after_ingest(v, &mut f)),
            idle: f.take("idle"),
            poll_interval: f.take("poll_interval"),
            batch_size: f.take("batch_size"),
            max_message_bytes: f.take("max_message_bytes"),
            poison_after: f.take("poison_after"),
        };
        f.finish();
        raw
    }
}

impl RawApi {
    pub(super) fn read(mut f: Fields<'_>) -> RawApi {
        let raw = RawApi {
            name: f.required("name"),
            secret_env: f.take("secret_env"),
            secret_file: f.take("secret_file"),
            token_env: f.take("token_env"),
            token_file: f.take("token_file"),
            inline_secret: f.take_unlisted("secret") | f.take_unlisted("token"),
            store_raw: f.take("store_raw"),
        };
        f.finish();
        raw
    }
}

impl RawSlack {
    pub(super) fn read(mut f: Fields<'_>) -> RawSlack {
        let raw = RawSlack {
            name: f.required("name"),
            signing_secret_env: f.take("signing_secret_env"),
            signing_secret_file: f.take("signing_secret_file"),
            bot_token_env: f.take("bot_token_env"),
            bot_token_file: f.take("bot_token_file"),
            inline_secret: f.take_unlisted("signing_secret") | f.take_unlisted("bot_token"),
            channels: f.take("channels"),
            api_url: f.take("api_url"),
            max_file_bytes: f.take("max_file_bytes"),
        };
        f.finish();
        raw
    }
}

impl RawWhatsapp {
    pub(super) fn read(mut f: Fields<'_>) -> RawWhatsapp {
        let mut raw = RawWhatsapp {
            name: f.required("name"),
            app_secret_env: f.take("app_secret_env"),
            app_secret_file: f.take("app_secret_file"),
            verify_token_env: f.take("verify_token_env"),
            verify_token_file: f.take("verify_token_file"),
            access_token_env: f.take("access_token_env"),
            access_token_file: f.take("access_token_file"),
            inline_secret: false,
            api_url: f.take("api_url"),
            max_media_bytes: f.take("max_media_bytes"),
        };
        for key in ["app_secret", "verify_token", "access_token"] {
            raw.inline_secret |= f.take_unlisted(key);
        }
        f.finish();
        raw
    }
}

impl RawSms {
    pub(super) fn read(mut f: Fields<'_>) -> RawSms {
        let raw = RawSms {
            name: f.required("name"),
            public_url: f.required("public_url"),
            account_sid: f.required("account_sid"),
            auth_token_env: f.take("auth_token_env"),
            auth_token_file: f.take("auth_token_file"),
            inline_auth_token: f.take_unlisted("auth_token"),
            max_media_bytes: f.take("max_media_bytes"),
        };
        f.finish();
        raw
    }
}

impl RawPipe {
    pub(super) fn read(mut f: Fields<'_>) -> RawPipe {
        let raw = RawPipe {
            name: f.required("name"),
            max_message_bytes: f.take("max_message_bytes"),
        };
        f.finish();
        raw
    }
}

impl RawTelegram {
    pub(super) fn read(mut f: Fields<'_>) -> RawTelegram {
        let raw = RawTelegram {
            name: f.required("name"),
            token_env: f.take("token_env"),
            token_file: f.take("token_file"),
            inline_token: f.take_unlisted("token"),
            mode: f.take("mode"),
            api_url: f.take("api_url"),
            chats: f.take("chats"),
            group_messages: f.take("group_messages"),
            webhook_url: f.take("webhook_url"),
            webhook_secret_env: f.take("webhook_secret_env"),
            webhook_secret_file: f.take("webhook_secret_file"),
            inline_webhook_secret: f.take_unlisted("webhook_secret"),
            delete_webhook: f.take("delete_webhook"),
            poll_timeout: f.take("poll_timeout"),
            batch_size: f.take("batch_size"),
            max_file_bytes: f.take("max_file_bytes"),
            poison_after: f.take("poison_after"),
        };
        f.finish();
        raw
    }
}

impl RawDiscord {
    pub(super) fn read(mut f: Fields<'_>) -> RawDiscord {
        let raw = RawDiscord {
            name: f.required("name"),
            token_env: f.take("token_env"),
            token_file: f.take("token_file"),
            inline_token: f.take_unlisted("token"),
            guild_channels: f.take("guild_channels"),
            direct_messages: f.take("direct_messages"),
            ignore_bots: f.take("ignore_bots"),
            api_url: f.take("api_url"),
            gateway_url: f.take("gateway_url"),
            max_file_bytes: f.take("max_file_bytes"),
            batch_size: f.take("batch_size"),
            poison_after: f.take("poison_after"),
        };
        f.finish();
        raw
    }
}

fn after_ingest(value: Value, f: &mut Fields<'_>) -> Option<RawAfterIngest> {
    let path = join(&f.path, "after_ingest");
    match value {
        Value::String(word) => Some(RawAfterIngest::Word(word)),
        Value::Table(table) => {
            let mut inner = Fields::new(table, &path, f.errors);
            let move_to = inner.required("move_to");
            inner.finish();
            Some(RawAfterIngest::MoveTo(move_to))
        }
        other => {
            let message = format!(
                "expected \"seen\", \"delete\" or {{ move_to = \"Folder\" }}, found {}",
                other.type_str()
            );
            f.errors.push(path, message);
            None
        }
    }
}
