//! The config as written: TOML tables read into raw structs whose fields are all optional and
//! loosely typed (strings for enums, durations and sizes), so that one bad value never hides
//! the next.
//!
//! Each field is deserialized on its own with serde; a value of the wrong TOML type or a key
//! nobody asked for is recorded with its key path and reading goes on. Meaning (ranges, enum
//! words, defaults, secrets) is checked later, in `validate`.
//!
//! This file holds the top-level tables; `channels.rs` each channel type's table and
//! `fields.rs` the key-by-key reader they all use.

mod channels;
mod fields;

use toml::{Table, Value};

pub(crate) use channels::*;
use fields::Fields;

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
    pub runtime: RawRuntime,
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
pub(crate) struct RawRuntime {
    pub worker_threads: Option<i64>,
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

/// A humantime duration as written ("60s", "30d"), parsed in `validate`.
#[derive(Debug, serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct DurationText(pub String);
impl RawConfig {
    pub(crate) fn from_table(table: Table, errors: &mut ConfigErrors) -> RawConfig {
        let mut top = Fields::new(table, "", errors);
        let redis = top.take::<Table>("redis");
        let http = top.take::<Table>("http");
        let blobs = top.take::<Table>("blobs");
        let conversations = top.take::<Table>("conversations");
        let runtime = top.take::<Table>("runtime");
        let channels = top.take::<Vec<Table>>("channels");
        top.finish();

        RawConfig {
            redis: redis.map_or_else(RawRedis::default, |t| RawRedis::read(t, errors)),
            http: http.map_or_else(RawHttp::default, |t| RawHttp::read(t, errors)),
            blobs: blobs.map_or_else(RawBlobs::default, |t| RawBlobs::read(t, errors)),
            conversations: conversations.map_or_else(RawConversations::default, |t| {
                RawConversations::read(t, errors)
            }),
            runtime: runtime.map_or_else(RawRuntime::default, |t| RawRuntime::read(t, errors)),
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

impl RawRuntime {
    fn read(table: Table, errors: &mut ConfigErrors) -> RawRuntime {
        let mut f = Fields::new(table, "runtime", errors);
        let raw = RawRuntime {
            worker_threads: f.take("worker_threads"),
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
