//! The case document, schema version 1: what downstream helpdesks read from the stream.
//!
//! The JSON Schema in `docs/case.schema.json` describes exactly these types; every produced case
//! is validated against it in tests. Changing a field is a versioned, documented event.

use serde::{Deserialize, Serialize};

pub use crate::language::LanguageSource;

/// The schema version written into every case and into the stream entry's `v` field.
pub const SCHEMA_VERSION: u32 = 1;

/// One customer message, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub schema_version: u32,
    pub event: Event,
    /// UUIDv7, assigned by the gateway when the message is received.
    pub case_id: String,
    pub idempotency_key: String,
    pub channel: ChannelRef,
    pub source: Source,
    pub conversation: Conversation,
    pub sender: Party,
    pub recipients: Recipients,
    pub subject: Option<String>,
    pub body: Body,
    pub attachments: Vec<Attachment>,
    /// RFC 3339; what the sender claims (the Date header), null when absent or unparsable.
    pub sent_at: Option<String>,
    /// RFC 3339; when Intake took the message off its channel.
    pub received_at: String,
    /// ISO 639-1 code, null when unsure.
    pub language: Option<String>,
    /// Where `language` came from; null exactly when `language` is. Added within v1:
    /// documents written before it lack the field.
    #[serde(default)]
    pub language_source: Option<LanguageSource>,
    pub classification: Classification,
    /// Sender authentication as the operator's own server judged it (`Authentication-Results`
    /// with the configured authserv-id); null when none is configured or none was found.
    /// Added within v1: documents written before it lack the field.
    #[serde(default)]
    pub authentication: Option<Authentication>,
    /// Blob reference (`sha256:<hex>`) of the raw wire payload.
    pub raw_ref: Option<String>,
    /// A place the sender shared (a chat location or venue). Added within v1: absent when
    /// the message shared none.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub location: Option<Location>,
    /// A contact card the sender shared. Added within v1: absent when none.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub contact: Option<SharedContact>,
}

/// A shared location; `title` and `address` are set for a venue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub title: Option<String>,
    pub address: Option<String>,
}

/// A shared contact card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedContact {
    pub phone_number: String,
    pub first_name: String,
    pub last_name: Option<String>,
    /// The contact's user id on the chat service, when it has one.
    pub user_id: Option<String>,
    pub vcard: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    #[serde(rename = "message.received")]
    MessageReceived,
    #[serde(rename = "message.edited")]
    MessageEdited,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::MessageReceived => "message.received",
            Event::MessageEdited => "message.edited",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Telegram,
    Discord,
    Webhook,
    Pipe,
    /// Intake's own signed webhook (`type = "api"`).
    Api,
    Slack,
    Whatsapp,
    Sms,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Telegram => "telegram",
            ChannelKind::Discord => "discord",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Pipe => "pipe",
            ChannelKind::Api => "api",
            ChannelKind::Slack => "slack",
            ChannelKind::Whatsapp => "whatsapp",
            ChannelKind::Sms => "sms",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRef {
    pub kind: ChannelKind,
    /// The operator's name for the channel (`[[channels]] name`).
    pub name: String,
}

/// Provider identities of the message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The RFC 5322 Message-ID without angle brackets (email), or the provider's message id.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub imap: Option<ImapSource>,
    /// Telegram's identities of the update and message. Added within v1.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub telegram: Option<TelegramSource>,
    /// Discord's identities of the message. Added within v1.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub discord: Option<DiscordSource>,
}

/// Where a Discord message was posted. Ids are snowflakes as decimal strings (they exceed
/// the integers JSON readers handle exactly).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscordSource {
    /// The DM channel, thread or support channel.
    pub channel_id: String,
    pub message_id: String,
    /// Null in a direct message.
    pub guild_id: Option<String>,
    /// Set when the message is in a thread: the support channel the thread belongs to.
    pub thread_parent_id: Option<String>,
    /// Set when this delivery is an edit (`message.edited`): the edit's time, RFC 3339.
    pub edited_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramSource {
    pub update_id: i64,
    pub chat_id: i64,
    /// `private`, `group`, `supergroup` or `channel`.
    pub chat_type: String,
    /// The message's id within its chat (an edit keeps the original's).
    pub message_id: i64,
    /// The forum topic's thread id, when the message is in one.
    pub thread_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImapSource {
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uid: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Stable key shared by every message of one conversation.
    pub key: String,
    /// True when the message opens a conversation rather than continuing one.
    pub is_new: bool,
    pub hints: Vec<ThreadHint>,
}

/// One threading signal and what was made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadHint {
    /// `in_reply_to`, `references`, `subject_tag`, `plus_address`, `message_id`, ...
    pub signal: String,
    pub value: String,
    pub used: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub name: Option<String>,
    pub address: Option<String>,
    pub kind: PartyKind,
    /// The Telegram account behind a `telegram` sender. Added within v1.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub telegram: Option<TelegramUser>,
    /// The Discord account behind a `discord` sender. Added within v1.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub discord: Option<DiscordUser>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscordUser {
    /// The user's snowflake, as a decimal string.
    pub id: String,
    pub username: String,
    /// The display name the user chose, when set.
    pub global_name: Option<String>,
    pub bot: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramUser {
    pub id: i64,
    pub username: Option<String>,
    /// The IETF language tag of the user's Telegram client (a hint, not the message's language).
    pub language_code: Option<String>,
    pub is_bot: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// An RFC 5322 mailbox.
    #[default]
    Email,
    Telegram,
    Discord,
    /// A phone number in E.164 form (`+14155550100`): WhatsApp and SMS senders.
    Phone,
    /// A Slack user id (`U…`), with the workspace's team id: `T…/U…`.
    Slack,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipients {
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// The full text: text/plain, or text derived from HTML.
    pub text: String,
    /// Sanitized HTML, null when the message had none.
    pub html: Option<String>,
    /// The new text without quoted history and signature; null when not determined.
    pub reply_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub disposition: Disposition,
    /// Blob reference (`sha256:<hex>`); null when the bytes were not stored.
    #[serde(rename = "ref")]
    pub blob_ref: Option<String>,
    /// Why the bytes were not stored, when `ref` is null.
    pub omitted_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Attachment,
    Inline,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// Written by a machine rather than a person (RFC 3834 and vendor headers).
    pub auto_submitted: bool,
    pub out_of_office: bool,
    pub bounce: Option<Bounce>,
    /// The List-Id (or `true`-ish marker) when the message came through a mailing list.
    pub mailing_list: Option<String>,
    pub loop_suspect: bool,
    /// Why each flag was set, e.g. `auto-submitted: auto-replied`.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounce {
    pub kind: BounceKind,
    pub original_message_id: Option<String>,
    pub failed_recipient: Option<String>,
    /// The RFC 3463 status code, e.g. `5.1.1`.
    pub status: Option<String>,
}

/// Whether retrying delivery could help, from the RFC 3463 status class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceKind {
    /// Status 5.x.x: the address or message is refused for good.
    Permanent,
    /// Status 4.x.x: the sending server may still succeed.
    Transient,
    /// No status code could be read.
    #[default]
    Unknown,
}

/// DKIM, SPF and DMARC verdicts from one trusted `Authentication-Results` header (RFC 8601).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// The authserv-id of the header the verdicts were read from (lowercase).
    pub authserv_id: String,
    pub dkim: Option<AuthResult>,
    pub spf: Option<AuthResult>,
    pub dmarc: Option<AuthResult>,
}

/// One method's verdict: `pass`, `fail`, `none`, `neutral`, `softfail`, `temperror`, ...
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResult {
    pub result: String,
    /// The domain the verdict is about: DKIM `header.d`, SPF `smtp.mailfrom`, DMARC
    /// `header.from`. It need not be the From domain; a helpdesk must compare them itself.
    pub domain: Option<String>,
}
