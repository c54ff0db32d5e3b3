//! Raw structs -> typed [`Config`]: defaults, ranges, enum words, cross-field rules and secret
//! resolution, every problem collected with its key path.
//!
//! Pure apart from reading environment variables (through the injected `env`), secret files
//! and CA files; never touches the network. Where a value is invalid the typed result carries a
//! placeholder, which is harmless: any collected error means the caller gets the errors, not the
//! config.

mod api;
mod conversations;
mod discord;
mod durability;
mod email;
mod http;
mod push;
mod runtime;
mod secret;
mod slack;
mod telegram;

pub use api::signing_key;

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::error::{ConfigErrors, join};
use crate::raw::{DurationText, RawBlobs, RawChannel, RawConfig, RawRedis};
use crate::types::{BlobsConfig, ChannelConfig, Config, RedisConfig, hash_tag};
pub(crate) use secret::SecretSource;

/// Reads an environment variable: `std::env::var` in production, a map in tests.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
const DEFAULT_STREAM: &str = "intake:cases";
const DEFAULT_DEAD_LETTER_STREAM: &str = "intake:dead";
const DEFAULT_DEDUPE_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);
const DEFAULT_BLOBS_DIR: &str = "/var/lib/intake/blobs";

/// Checks everything, adding problems to `errors`; the result is meaningful only when no error
/// was added (here or before, while reading the raw structs).
/// `base_dir` anchors relative paths (`[blobs] dir`): the config file's folder.
pub(crate) fn validate(
    raw: RawConfig,
    secrets: SecretSource<'_>,
    base_dir: Option<&Path>,
    errors: &mut ConfigErrors,
) -> Config {
    Config {
        redis: redis(raw.redis, secrets, errors),
        http: http::http(raw.http, errors),
        blobs: blobs(raw.blobs, base_dir, errors),
        conversations: conversations::conversations(raw.conversations, errors),
        runtime: runtime::runtime(raw.runtime, errors),
        channels: channels(raw.channels, secrets, errors),
    }
}

fn redis(raw: RawRedis, secrets: SecretSource<'_>, errors: &mut ConfigErrors) -> RedisConfig {
    if raw.inline_password {
        errors.push("redis.password", secret::INLINE_PASSWORD);
    }
    let password = secret::resolve_optional(
        "redis",
        raw.password_env.as_deref(),
        raw.password_file.as_deref(),
        secrets,
        errors,
    );
    let url = raw.url.as_deref().unwrap_or(DEFAULT_REDIS_URL);
    let url = secret::redis_url(url, password.as_ref(), errors);

    let stream = raw.stream.unwrap_or_else(|| DEFAULT_STREAM.into());
    let dead_letter_stream = raw
        .dead_letter_stream
        .unwrap_or_else(|| DEFAULT_DEAD_LETTER_STREAM.into());
    check_streams(&stream, &dead_letter_stream, errors);

    let dedupe_ttl = duration(
        "redis.dedupe_ttl",
        raw.dedupe_ttl,
        DEFAULT_DEDUPE_TTL,
        // Redis expires keys in whole seconds; `EX 0` is an error.
        Duration::from_secs(1),
        errors,
    );
    let durability = durability::durability(raw.durability, raw.replicas, raw.wait_timeout, errors);
    RedisConfig {
        url,
        stream,
        dead_letter_stream,
        dedupe_ttl,
        durability,
    }
}

fn check_streams(stream: &str, dead: &str, errors: &mut ConfigErrors) {
    if stream.is_empty() {
        errors.push("redis.stream", "must not be empty");
    }
    if dead.is_empty() {
        errors.push("redis.dead_letter_stream", "must not be empty");
    }
    if !stream.is_empty() && stream == dead {
        errors.push(
            "redis.dead_letter_stream",
            format!("must differ from redis.stream (both are {stream:?})"),
        );
    }
    let (tag, dead_tag) = (hash_tag(stream), hash_tag(dead));
    if (tag.is_some() || dead_tag.is_some()) && tag != dead_tag {
        let show = |t: Option<&str>| t.map_or("none".to_string(), |t| format!("{{{t}}}"));
        errors.push(
            "redis.dead_letter_stream",
            format!(
                "hash tag {} differs from redis.stream's ({}): the append script writes both \
                 keys in one atomic step, which Redis Cluster allows only on one slot, so give \
                 both the same hash tag, e.g. \"{{intake}}:cases\" and \"{{intake}}:dead\"",
                show(dead_tag),
                show(tag),
            ),
        );
    }
}

/// A relative `dir` is taken from the config file's folder, not from wherever intake happens to
/// be started: the same file then means the same directory for `run`, `blob get` and a
/// systemd unit alike.
fn blobs(raw: RawBlobs, base_dir: Option<&Path>, errors: &mut ConfigErrors) -> BlobsConfig {
    let dir = raw.dir.unwrap_or_else(|| DEFAULT_BLOBS_DIR.into());
    if dir.trim().is_empty() {
        errors.push("blobs.dir", "must not be empty");
    }
    let dir = PathBuf::from(dir);
    let dir = match base_dir {
        // `./data/blobs` under `/etc/intake` reads better as `/etc/intake/data/blobs`.
        Some(base) if dir.is_relative() => base.join(
            dir.components()
                .filter(|c| *c != Component::CurDir)
                .collect::<PathBuf>(),
        ),
        _ => dir,
    };
    BlobsConfig { dir }
}

fn channels(
    raw: Option<Vec<Option<RawChannel>>>,
    secrets: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> Vec<ChannelConfig> {
    let Some(raw) = raw else {
        errors.push("channels", "at least one [[channels]] entry is required");
        return Vec::new();
    };
    if raw.is_empty() {
        errors.push("channels", "at least one [[channels]] entry is required");
    }
    let mut channels = Vec::new();
    let mut first_index_of_name: HashMap<String, usize> = HashMap::new();
    for (index, channel) in raw.into_iter().enumerate() {
        let path = format!("channels[{index}]");
        let channel = match channel {
            Some(RawChannel::Email(raw)) => {
                ChannelConfig::Email(email::validate(raw, &path, secrets, errors))
            }
            Some(RawChannel::Api(raw)) => {
                ChannelConfig::Api(api::validate(raw, &path, secrets, errors))
            }
            Some(RawChannel::Slack(raw)) => {
                ChannelConfig::Slack(slack::validate(raw, &path, secrets, errors))
            }
            Some(RawChannel::Telegram(raw)) => {
                ChannelConfig::Telegram(telegram::validate(raw, &path, secrets, errors))
            }
            Some(RawChannel::Whatsapp(raw)) => {
                ChannelConfig::Whatsapp(push::whatsapp(raw, &path, secrets, errors))
            }
            Some(RawChannel::Sms(raw)) => {
                ChannelConfig::Sms(push::sms(raw, &path, secrets, errors))
            }
            Some(RawChannel::Pipe(raw)) => ChannelConfig::Pipe(push::pipe(raw, &path, errors)),
            Some(RawChannel::Discord(raw)) => {
                ChannelConfig::Discord(discord::validate(raw, &path, secrets, errors))
            }
            None => continue,
        };
        let name = channel.name();
        if name.is_empty() {
            continue;
        }
        if let Some(first) = first_index_of_name.get(name) {
            errors.push(
                join(&path, "name"),
                format!("duplicate channel name {name:?} (already used by channels[{first}])"),
            );
        } else {
            first_index_of_name.insert(name.to_string(), index);
        }
        channels.push(channel);
    }
    channels
}

/// A humantime duration ("60s", "30d", "1h 30m") of at least `min`; `default` when absent, or
/// as placeholder when invalid.
fn duration(
    path: &str,
    text: Option<DurationText>,
    default: Duration,
    min: Duration,
    errors: &mut ConfigErrors,
) -> Duration {
    let Some(DurationText(text)) = text else {
        return default;
    };
    match humantime::parse_duration(&text) {
        Ok(value) if value >= min => value,
        Ok(_) => {
            let min = humantime::format_duration(min);
            errors.push(path, format!("must be at least {min}"));
            default
        }
        Err(e) => {
            let message =
                format!("{text:?} is not a duration ({e}); write e.g. \"60s\", \"15m\", \"30d\"");
            errors.push(path, message);
            default
        }
    }
}
