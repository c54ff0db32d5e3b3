//! The validated, typed configuration the gateway runs on. Secrets are resolved already and are
//! redacted in `Debug`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A resolved secret (password, token). `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself: call only where it is handed to a protocol, never for logging.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub redis: RedisConfig,
    pub http: HttpConfig,
    pub blobs: BlobsConfig,
    pub conversations: ConversationsConfig,
    pub runtime: RuntimeConfig,
    pub channels: Vec<ChannelConfig>,
}

/// The process's async runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuntimeConfig {
    /// Threads that run the HTTP server and the rest; None: one per core. (Each channel worker
    /// has a thread of its own, and normalizing large batches a pool of its own.)
    pub worker_threads: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedisConfig {
    /// redis:// or rediss:// URL; may carry a password, hence a secret. Use
    /// [`RedisConfig::display_url`] for logs.
    pub url: Secret,
    pub stream: String,
    pub dead_letter_stream: String,
    pub dedupe_ttl: Duration,
    /// What Intake waits for after appending a batch, before it acks the batch's messages.
    pub durability: Durability,
}

/// What an append must reach before its messages are acked on their channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// The script's reply alone: the entries are in Redis' memory and, per its `appendfsync`,
    /// on their way to disk.
    #[default]
    Append,
    /// `WAIT replicas timeout`: at least `replicas` replicas acknowledged the batch.
    Replicas { replicas: u32, timeout: Duration },
    /// `WAITAOF 1 replicas timeout` (Redis 7.2 or later): the primary fsynced the batch to its
    /// append-only file, and `replicas` replicas (0: none asked) fsynced it to theirs.
    Aof { replicas: u32, timeout: Duration },
}

impl Durability {
    /// The config word (`durability = "..."`).
    pub fn word(&self) -> &'static str {
        match self {
            Durability::Append => "append",
            Durability::Replicas { .. } => "replicas",
            Durability::Aof { .. } => "aof",
        }
    }
}

impl RedisConfig {
    /// The URL with any userinfo replaced, safe for logs and errors.
    pub fn display_url(&self) -> String {
        redact_userinfo(self.url.expose())
    }

    /// The prefix shared by every auxiliary key of this deployment (idempotency keys,
    /// checkpoints): the stream's hash tag when it has one, otherwise `{<stream>}`, so that all
    /// keys the append script touches hash to the stream's slot on Redis Cluster.
    pub fn key_prefix(&self) -> String {
        match hash_tag(&self.stream) {
            Some(tag) => format!("{{{tag}}}"),
            None => format!("{{{}}}", self.stream),
        }
    }
}

/// The Redis Cluster hash tag of a key: the text between the first `{` and the next `}` when
/// non-empty.
pub fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let rest = &key[open + 1..];
    let close = rest.find('}')?;
    (close > 0).then(|| &rest[..close])
}

fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://[redacted]@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// The largest request body any route accepts; larger ones get 413.
    pub max_body_bytes: u64,
    /// How long a client may take to send a request's head (line and headers); then 408.
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body; then 408.
    pub body_timeout: Duration,
}

impl HttpConfig {
    pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;
    pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

    /// Listening on `listen` with the default limits.
    pub fn new(listen: SocketAddr) -> Self {
        HttpConfig {
            listen,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            header_timeout: Self::DEFAULT_HEADER_TIMEOUT,
            body_timeout: Self::DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// Threading and loop detection, shared by every channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationsConfig {
    /// How long a message id, subject tag or plus-address token keeps pointing at its
    /// conversation.
    pub ttl: Duration,
    /// Subject patterns that name a ticket; None means the built-in set (`[Case #123]`, Jira
    /// keys, ServiceNow numbers).
    pub subject_tags: Option<Vec<SubjectTagConfig>>,
    /// Chat channels: one conversation per chat, thread or contact until it is idle this long.
    pub chat_idle_window: Duration,
    /// A sender with more than `loop_threshold` messages within `loop_window` is flagged
    /// `loop_suspect` (the mail is still ingested).
    pub loop_window: Duration,
    pub loop_threshold: u32,
    /// ISO 639-1 codes `language` may take; None: every language the detector knows. A
    /// short list is both faster (about 3x) and more accurate for a known customer base.
    pub languages: Option<Vec<String>>,
}

impl Default for ConversationsConfig {
    fn default() -> Self {
        ConversationsConfig {
            ttl: Duration::from_secs(180 * 24 * 3600),
            subject_tags: None,
            chat_idle_window: Duration::from_secs(24 * 3600),
            loop_window: Duration::from_secs(600),
            loop_threshold: 20,
            languages: None,
        }
    }
}

/// One subject pattern: `name` labels the hint (`case:123`); the first capture group (or the
/// whole match) is the ticket id. Validated to compile as a `regex` crate pattern.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectTagConfig {
    pub name: String,
    pub pattern: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BlobsConfig {
    /// Content-addressed directory (by sha256) for raw messages and attachments.
    pub dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChannelConfig {
    Email(EmailConfig),
    Api(ApiConfig),
    Slack(SlackConfig),
    Telegram(TelegramConfig),
    Discord(DiscordConfig),
    Whatsapp(crate::WhatsappConfig),
    Sms(crate::SmsConfig),
    Pipe(crate::PipeConfig),
}

impl ChannelConfig {
    /// The `type` the entry was written with.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Email(_) => "email",
            ChannelConfig::Api(_) => "api",
            ChannelConfig::Slack(_) => "slack",
            ChannelConfig::Telegram(_) => "telegram",
            ChannelConfig::Discord(_) => "discord",
            ChannelConfig::Whatsapp(_) => "whatsapp",
            ChannelConfig::Sms(_) => "sms",
            ChannelConfig::Pipe(_) => "pipe",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::Email(e) => &e.name,
            ChannelConfig::Api(a) => &a.name,
            ChannelConfig::Slack(s) => &s.name,
            ChannelConfig::Telegram(t) => &t.name,
            ChannelConfig::Discord(d) => &d.name,
            ChannelConfig::Whatsapp(w) => &w.name,
            ChannelConfig::Sms(s) => &s.name,
            ChannelConfig::Pipe(p) => &p.name,
        }
    }
}

/// `type = "api"`: Intake's own webhook for forms, widgets and in-house tools, at
/// `POST /webhooks/<name>`. At least one of `secret` and `token` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    pub name: String,
    /// Standard Webhooks signing secret (`whsec_<base64>`), already base64-decoded.
    pub secret: Option<Secret>,
    /// Bearer token for clients that cannot sign.
    pub token: Option<Secret>,
    /// Keep each posted body in the blob store (`raw_ref`). Off by default: the case holds
    /// every field the body may have (attachments are stored either way), and storing the body
    /// costs an fsync per batch, about 4x the throughput.
    pub store_raw: bool,
}

/// `type = "slack"`: the Slack Events API at `POST /webhooks/<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackConfig {
    pub name: String,
    pub signing_secret: Secret,
    /// Downloads shared files; None keeps their metadata only (`omitted_reason`).
    pub bot_token: Option<Secret>,
    /// Channel ids (C…) whose messages are cases besides direct messages; empty: DMs only.
    pub channels: Vec<String>,
    /// The Web API base (`https://slack.com/api`); tests point it at a fake.
    pub api_url: String,
    /// Files larger than this are not downloaded (kept as metadata with a reason).
    pub max_file_bytes: u64,
}

/// `[[channels]] type = "discord"`: a Discord bot reading DMs and support channels.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscordConfig {
    pub name: String,
    /// The bot token. Sent as `Authorization: Bot <token>`: never logged.
    pub token: Secret,
    /// Support channels (snowflakes); their threads are watched too.
    pub guild_channels: Vec<u64>,
    pub direct_messages: bool,
    /// Ignore messages written by bots (the bot's own are always ignored).
    pub ignore_bots: bool,
    /// The REST base (`https://discord.com`; a test's fake): requests go to `<api_url>/api/v10`.
    pub api_url: Option<String>,
    /// The gateway URL; by default the one `GET /gateway/bot` names.
    pub gateway_url: Option<String>,
    /// Attachments larger than this are not downloaded: the case keeps their metadata with an
    /// `omitted_reason`.
    pub max_file_bytes: u64,
    pub batch_size: usize,
    /// How many times in a row one message may fail to append while others succeed before it
    /// is dead-lettered.
    pub poison_after: u32,
}

/// `[[channels]] type = "telegram"`: a Telegram bot, polled or called by webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct TelegramConfig {
    pub name: String,
    /// The bot token (`<bot id>:<secret>`). It is part of every Bot API URL: never log those.
    pub token: Secret,
    pub mode: TelegramMode,
    /// The Bot API base URL (`https://api.telegram.org`; a local Bot API server or a test's).
    pub api_url: String,
    pub chats: TelegramChats,
    /// In groups (with `chats = "all"`): every message, or only those that mention or reply
    /// to the bot.
    pub group_messages: GroupMessages,
    /// Files larger than this are not downloaded: the case keeps their metadata with an
    /// `omitted_reason`.
    pub max_file_bytes: u64,
    /// Most updates the worker takes in one batch (1..=100). getUpdates always asks for up to
    /// 100, so with a smaller batch the next one is handed out while this one is committed.
    pub batch_size: usize,
    /// How many times in a row one update may fail to append while others succeed before it
    /// is dead-lettered.
    pub poison_after: u32,
}

impl TelegramConfig {
    /// The bot's numeric id: the part of the token before `:` (validated), stable across
    /// token rotation, hence the idempotency keys' scope.
    pub fn bot_id(&self) -> &str {
        self.token.expose().split_once(':').map_or("", |(id, _)| id)
    }
}

/// How updates reach Intake.
#[derive(Debug, Clone, PartialEq)]
pub enum TelegramMode {
    /// Our own getUpdates loop. `delete_webhook`: delete a webhook found set at start
    /// (otherwise it is only reported, and getUpdates answers 409 until someone deletes it).
    Polling {
        /// The long-poll timeout of each getUpdates call.
        timeout: Duration,
        delete_webhook: bool,
    },
    /// Telegram posts updates to `/webhooks/<name>`; `url` is the public HTTPS address to
    /// register, `secret` the `secret_token` Telegram echoes in every call.
    Webhook { url: String, secret: Secret },
}

/// Which chats' messages become cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelegramChats {
    /// One-to-one chats with the bot only.
    Private,
    /// Groups, supergroups and forum topics as well.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupMessages {
    /// Only messages that mention the bot or reply to one of its messages.
    Mentions,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS, port 993).
    Implicit,
    /// Plaintext greeting, then STARTTLS before login (port 143).
    Starttls,
    /// No TLS: only to a loopback host unless `allow_insecure = true`.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterIngest {
    Seen,
    Delete,
    MoveTo(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmailConfig {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub allow_insecure: bool,
    /// PEM file of extra CA certificates to trust besides the public web roots (an internal
    /// CA); read at each connect, so a rotated file is picked up without a restart.
    pub tls_ca_file: Option<PathBuf>,
    /// The authserv-id of the operator's own receiving MTA: only `Authentication-Results`
    /// headers it wrote are trusted (recorded in the case). None trusts none.
    pub authserv_id: Option<String>,
    pub username: String,
    pub password: Secret,
    pub mailbox: String,
    pub after_ingest: AfterIngest,
    pub idle: bool,
    pub poll_interval: Duration,
    pub batch_size: usize,
    pub max_message_bytes: u64,
    /// How many times in a row one message may fail to be fetched (while it still exists)
    /// before it is dead-lettered as `fetch_failed` and the channel moves past it.
    pub poison_after: u32,
}

impl EmailConfig {
    /// The account part of idempotency keys: stable across channel renames.
    pub fn account(&self) -> String {
        format!("{}@{}", self.username, self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tag_rules() {
        assert_eq!(hash_tag("{intake}:cases"), Some("intake"));
        assert_eq!(hash_tag("intake:cases"), None);
        assert_eq!(hash_tag("{}:cases"), None);
    }

    #[test]
    fn redacts_password_in_url() {
        let r = RedisConfig {
            url: Secret::new("redis://user:hunter2@db:6379/0"),
            stream: "intake:cases".into(),
            dead_letter_stream: "intake:dead".into(),
            dedupe_ttl: Duration::from_secs(1),
            durability: Durability::Append,
        };
        assert_eq!(r.display_url(), "redis://[redacted]@db:6379/0");
        assert!(!format!("{r:?}").contains("hunter2"));
        assert_eq!(r.key_prefix(), "{intake:cases}");
    }
}
