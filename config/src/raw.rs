//! The config as written: TOML tables read into raw structs whose fields are all optional and
//! loosely typed (strings for enums, durations and sizes), so that one bad value never hides
//! the next.
//!
//! Each field is deserialized on its own with serde; a value of the wrong TOML type or a key
//! nobody asked for is recorded with its key path and reading goes on. Meaning (ranges, enum
//! words, defaults, secrets) is checked later, in `validate`.

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::error::{ConfigErrors, join};

/// Channel `type`s this build knows.
pub(crate) const CHANNEL_TYPES: &[&str] = &[
    "email", "telegram", "whatsapp", "sms", "pipe", "api", "slack", "discord",
];

#[derive(Debug, Default)]
pub(crate) struct RawConfig {
    pub redis: RawRedis,
    pub http: RawHttp,
    pub blobs: RawBlobs,
    pub conversations: RawConversations,
    /// `None` when the key is missing or not an array of tables; an element is `None` when its
    /// `type` is missing or unknown (already reported; its other keys are not looked at).
    pub channels: Option<Vec<Option<RawChannel>>>,
}

#[derive(Debug, Default)]
pub(crate) struct RawRedis {
    pub url: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    pub inline_password: bool,
    pub stream: Option<String>,
    pub dead_letter_stream: Option<String>,
    pub dedupe_ttl: Option<DurationText>,
    pub durability: Option<String>,
    pub replicas: Option<i64>,
    pub wait_timeout: Option<DurationText>,
}

#[derive(Debug, Default)]
pub(crate) struct RawHttp {
    pub listen: Option<String>,
    /// An integer byte count or a string such as `"10 MiB"`.
    pub max_body_bytes: Option<Value>,
    pub header_timeout: Option<DurationText>,
    pub body_timeout: Option<DurationText>,
}

#[derive(Debug, Default)]
pub(crate) struct RawConversations {
    pub ttl: Option<DurationText>,
    pub subject_tags: Option<Vec<crate::types::SubjectTagConfig>>,
    pub loop_window: Option<DurationText>,
    pub loop_threshold: Option<i64>,
    pub chat_idle_window: Option<DurationText>,
    pub languages: Option<Vec<String>>,
}

#[derive(Debug, Default)]
pub(crate) struct RawBlobs {
    pub dir: Option<String>,
}

#[derive(Debug)]
pub(crate) enum RawChannel {
    Email(RawEmail),
    Api(RawApi),
    Slack(RawSlack),
    Telegram(RawTelegram),
    Discord(RawDiscord),
    Whatsapp(RawWhatsapp),
    Sms(RawSms),
    Pipe(RawPipe),
}

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

/// A humantime duration as written ("60s", "30d"), parsed in `validate`.
#[derive(Debug, serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct DurationText(pub String);

#[derive(Debug)]
pub(crate) enum RawAfterIngest {
    /// `after_ingest = "seen"` (or any other word, checked later).
    Word(String),
    /// `after_ingest = { move_to = "..." }`; `None` when `move_to` is missing or not a string.
    MoveTo(Option<String>),
}

impl RawConfig {
    pub(crate) fn from_table(table: Table, errors: &mut ConfigErrors) -> RawConfig {
        let mut top = Fields::new(table, "", errors);
        let redis = top.take::<Table>("redis");
        let http = top.take::<Table>("http");
        let blobs = top.take::<Table>("blobs");
        let conversations = top.take::<Table>("conversations");
        let channels = top.take::<Vec<Table>>("channels");
        top.finish();

        RawConfig {
            redis: redis.map_or_else(RawRedis::default, |t| RawRedis::read(t, errors)),
            http: http.map_or_else(RawHttp::default, |t| RawHttp::read(t, errors)),
            blobs: blobs.map_or_else(RawBlobs::default, |t| RawBlobs::read(t, errors)),
            conversations: conversations.map_or_else(RawConversations::default, |t| {
                RawConversations::read(t, errors)
            }),
            channels: channels.map(|tables| {
                let read = |(i, t)| RawChannel::read(t, &format!("channels[{i}]"), errors);
                tables.into_iter().enumerate().map(read).collect()
            }),
        }
    }
}

impl RawRedis {
    fn read(table: Table, errors: &mut ConfigErrors) -> RawRedis {
        let mut f = Fields::new(table, "redis", errors);
        let raw = RawRedis {
            url: f.take("url"),
            password_env: f.take("password_env"),
            password_file: f.take("password_file"),
            inline_password: f.take_unlisted("password"),
            stream: f.take("stream"),
            dead_letter_stream: f.take("dead_letter_stream"),
            dedupe_ttl: f.take("dedupe_ttl"),
            durability: f.take("durability"),
            replicas: f.take("replicas"),
            wait_timeout: f.take("wait_timeout"),
        };
        f.finish();
        raw
    }
}

impl RawHttp {
    fn read(table: Table, errors: &mut ConfigErrors) -> RawHttp {
        let mut f = Fields::new(table, "http", errors);
        let raw = RawHttp {
            listen: f.take("listen"),
            max_body_bytes: f.take("max_body_bytes"),
            header_timeout: f.take("header_timeout"),
            body_timeout: f.take("body_timeout"),
        };
        f.finish();
        raw
    }
}

impl RawConversations {
    fn read(table: Table, errors: &mut ConfigErrors) -> RawConversations {
        let mut f = Fields::new(table, "conversations", errors);
        let raw = RawConversations {
            ttl: f.take("ttl"),
            subject_tags: f.take("subject_tags"),
            loop_window: f.take("loop_window"),
            loop_threshold: f.take("loop_threshold"),
            chat_idle_window: f.take("chat_idle_window"),
            languages: f.take("languages"),
        };
        f.finish();
        raw
    }
}

impl RawBlobs {
    fn read(table: Table, errors: &mut ConfigErrors) -> RawBlobs {
        let mut f = Fields::new(table, "blobs", errors);
        let raw = RawBlobs { dir: f.take("dir") };
        f.finish();
        raw
    }
}

impl RawChannel {
    fn read(table: Table, path: &str, errors: &mut ConfigErrors) -> Option<RawChannel> {
        let mut f = Fields::new(table, path, errors);
        let known = CHANNEL_TYPES.join(", ");
        match f.take::<String>("type").as_deref() {
            Some("email") => Some(RawChannel::Email(RawEmail::read(f))),
            Some("api") => Some(RawChannel::Api(RawApi::read(f))),
            Some("slack") => Some(RawChannel::Slack(RawSlack::read(f))),
            Some("telegram") => Some(RawChannel::Telegram(RawTelegram::read(f))),
            Some("discord") => Some(RawChannel::Discord(RawDiscord::read(f))),
            Some("whatsapp") => Some(RawChannel::Whatsapp(RawWhatsapp::read(f))),
            Some("sms") => Some(RawChannel::Sms(RawSms::read(f))),
            Some("pipe") => Some(RawChannel::Pipe(RawPipe::read(f))),
            Some(other) => {
                let message = format!("unknown channel type {other:?}; known types: {known}");
                f.errors.push(join(path, "type"), message);
                None
            }
            None if f.failed => None,
            None => {
                let message = format!("missing; set the channel type, one of: {known}");
                f.errors.push(join(path, "type"), message);
                None
            }
        }
    }
}

impl RawEmail {
    fn read(mut f: Fields<'_>) -> RawEmail {
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
    fn read(mut f: Fields<'_>) -> RawApi {
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
    fn read(mut f: Fields<'_>) -> RawSlack {
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
    fn read(mut f: Fields<'_>) -> RawWhatsapp {
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
    fn read(mut f: Fields<'_>) -> RawSms {
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
    fn read(mut f: Fields<'_>) -> RawPipe {
        let raw = RawPipe {
            name: f.required("name"),
            max_message_bytes: f.take("max_message_bytes"),
        };
        f.finish();
        raw
    }
}

impl RawTelegram {
    fn read(mut f: Fields<'_>) -> RawTelegram {
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
    fn read(mut f: Fields<'_>) -> RawDiscord {
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

/// Reads the keys of one table, recording type errors and, in [`Fields::finish`], every key
/// that no one took. The keys taken are the keys known, so the two lists cannot drift.
struct Fields<'e> {
    table: Table,
    path: String,
    known: Vec<&'static str>,
    /// Whether any `take` failed on this table.
    failed: bool,
    errors: &'e mut ConfigErrors,
}

impl<'e> Fields<'e> {
    fn new(table: Table, path: &str, errors: &'e mut ConfigErrors) -> Fields<'e> {
        Fields {
            table,
            path: path.to_string(),
            known: Vec::new(),
            failed: false,
            errors,
        }
    }

    /// The value of `key` as a `T`; `None` when absent or of the wrong type (then recorded).
    /// The message names the expected and found TOML types, never the value.
    fn take<T: Expected>(&mut self, key: &'static str) -> Option<T> {
        self.known.push(key);
        let value = self.table.remove(key)?;
        let found = value.type_str();
        match value.try_into::<T>() {
            Ok(value) => Some(value),
            Err(_) => {
                let message = format!("expected {}, found {found}", T::EXPECTED);
                self.errors.push(join(&self.path, key), message);
                self.failed = true;
                None
            }
        }
    }

    /// Like [`Fields::take`], but a missing key is an error too.
    fn required<T: Expected>(&mut self, key: &'static str) -> Option<T> {
        let present = self.table.contains_key(key);
        let value = self.take(key);
        if !present {
            self.errors
                .push(join(&self.path, key), "missing required key");
        }
        value
    }

    /// Removes a key that is recognized only to be rejected (an inline `password`): reports
    /// whether it was present, without looking at its value and without listing it as known.
    fn take_unlisted(&mut self, key: &str) -> bool {
        self.table.remove(key).is_some()
    }

    fn finish(self) {
        let known = self.known.join(", ");
        for key in self.table.keys() {
            let message = format!("unknown key; expected one of: {known}");
            self.errors.push(join(&self.path, key), message);
        }
    }
}

/// A type a raw field is read as, with how to name it in a type error.
trait Expected: DeserializeOwned {
    const EXPECTED: &'static str;
}

impl Expected for String {
    const EXPECTED: &'static str = "a string";
}

impl Expected for i64 {
    const EXPECTED: &'static str = "an integer";
}

impl Expected for bool {
    const EXPECTED: &'static str = "true or false";
}

impl Expected for Table {
    const EXPECTED: &'static str = "a table";
}

impl Expected for Vec<Table> {
    const EXPECTED: &'static str = "an array of tables ([[channels]] entries)";
}

impl Expected for DurationText {
    const EXPECTED: &'static str = "a duration string such as \"60s\" or \"30d\"";
}

impl Expected for Value {
    const EXPECTED: &'static str = "a value";
}

impl Expected for Vec<crate::types::SubjectTagConfig> {
    const EXPECTED: &'static str =
        "an array of tables with `name` and `pattern` ([[conversations.subject_tags]])";
}

impl Expected for Vec<Value> {
    const EXPECTED: &'static str = "an array";
}

impl Expected for Vec<String> {
    const EXPECTED: &'static str = "an array of strings";
}
