//! Discord normalization: a message object as Discord sent it (a gateway `MESSAGE_CREATE` or
//! `MESSAGE_UPDATE` payload's `d`, or one item of a channel's history) -> [`Case`].
//!
//! Parsed with serde into our own small structs (no SDK types), every field the case does not
//! need ignored, every optional one defaulted, so a new field Discord adds never refuses a
//! message. The channel says what the bytes cannot: where the message was posted (the thread's
//! parent, the guild of a history item) and whether this delivery is an edit, in
//! [`DiscordSource`]; the files it downloaded are handed in by attachment id.

mod model;

use std::borrow::Cow;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::case::{
    Attachment, Body, Case, ChannelKind, ChannelRef, Classification, Conversation, DiscordSource,
    DiscordUser, Disposition, Event, Party, PartyKind, Recipients, SCHEMA_VERSION, Source,
    ThreadHint,
};
use crate::error::NormalizeError;
use crate::language::LanguageDetector;
use crate::normalized::{Blob, Normalized};
use crate::sha256_hex;

pub use model::{DiscordMessage, parse_message};

/// One file the channel fetched for a message, by the attachment id it appears under.
#[derive(Debug, Clone, Copy)]
pub enum DiscordFile<'a> {
    Bytes(&'a [u8]),
    /// Not downloaded; the reason goes into the case (`omitted_reason`).
    Omitted(&'a str),
}

/// Everything about one delivery that is not in its bytes.
#[derive(Debug, Clone)]
pub struct DiscordContext<'a> {
    pub channel_name: &'a str,
    pub case_id: &'a str,
    pub idempotency_key: &'a str,
    pub received_at: &'a str,
    /// Where it was posted, as the channel knows it; `None` derives it from the bytes alone.
    pub source: Option<&'a DiscordSource>,
    /// Hex SHA-256 of the raw bytes when the caller computed it already.
    pub raw_sha256: Option<&'a str>,
    pub languages: &'a LanguageDetector,
}

/// The value of the conversation hint that names one message (its own, or the one replied to):
/// snowflakes are unique across Discord, so the id alone names it.
pub fn message_hint(message_id: &str) -> String {
    format!("discord:{message_id}")
}

/// Normalizes one Discord message. `files` looks up a downloaded attachment by its id.
pub fn normalize_discord<'a>(
    raw: &'a [u8],
    ctx: &DiscordContext<'_>,
    files: &dyn Fn(&str) -> Option<DiscordFile<'a>>,
) -> Result<Normalized<'a>, NormalizeError> {
    let message = parse_message(raw)?;
    let source = ctx.source.cloned().unwrap_or_else(|| DiscordSource {
        channel_id: message.channel_id.0.clone(),
        message_id: message.id.0.clone(),
        guild_id: message.guild_id.as_ref().map(|g| g.0.clone()),
        thread_parent_id: None,
        edited_at: None,
    });
    let event = match source.edited_at {
        Some(_) => Event::MessageEdited,
        None => Event::MessageReceived,
    };
    let replied_to = message
        .message_reference
        .as_ref()
        .and_then(|r| r.message_id.as_ref())
        .map(|id| id.0.clone());

    let chat_key = format!("discord:{}:{}", ctx.channel_name, source.channel_id);
    let mut hints = vec![
        hint(
            "chat",
            format!("{}:{}", ctx.channel_name, source.channel_id),
        ),
        hint("message_id", message_hint(&message.id.0)),
    ];
    if let Some(parent) = &replied_to {
        hints.push(hint("in_reply_to", message_hint(parent)));
    }

    let text = body_text(&message);
    let detected = ctx.languages.detect_hinted(&message.content, None);
    let author = &message.author;
    let bot = author.bot.unwrap_or(false) || author.system.unwrap_or(false);
    let mut classification = Classification::default();
    if bot {
        classification.auto_submitted = true;
        classification
            .reasons
            .push("discord: author is a bot".into());
    }

    let raw_sha256 = ctx
        .raw_sha256
        .map_or_else(|| sha256_hex(raw), str::to_owned);
    let mut blobs = vec![Blob {
        sha256: raw_sha256.clone(),
        bytes: Cow::Borrowed(raw),
    }];
    let attachments = message
        .attachments
        .iter()
        .map(|a| attachment(a, files(&a.id.0), &mut blobs))
        .collect();

    let case = Case {
        schema_version: SCHEMA_VERSION,
        event,
        case_id: ctx.case_id.to_owned(),
        idempotency_key: ctx.idempotency_key.to_owned(),
        channel: ChannelRef {
            kind: ChannelKind::Discord,
            name: ctx.channel_name.to_owned(),
        },
        source: Source {
            message_id: Some(message.id.0.clone()),
            in_reply_to: replied_to.into_iter().collect(),
            references: Vec::new(),
            imap: None,
            telegram: None,
            discord: Some(source),
        },
        // Provisional: the chat; the gateway resolves hints (the idle window) into the key.
        conversation: Conversation {
            key: chat_key,
            is_new: false,
            hints,
        },
        sender: Party {
            name: clean(author.global_name.as_deref()).or_else(|| clean(Some(&author.username))),
            address: Some(author.id.0.clone()),
            kind: PartyKind::Discord,
            telegram: None,
            discord: Some(DiscordUser {
                id: author.id.0.clone(),
                username: author.username.clone(),
                global_name: clean(author.global_name.as_deref()),
                bot,
            }),
        },
        recipients: Recipients::default(),
        subject: None,
        body: Body {
            reply_text: Some(message.content.clone()).filter(|c| !c.trim().is_empty()),
            text,
            html: None,
        },
        attachments,
        sent_at: message.timestamp.as_deref().and_then(rfc3339),
        received_at: ctx.received_at.to_owned(),
        language: detected.map(|d| d.code.to_owned()),
        language_source: detected.map(|d| d.source),
        classification,
        authentication: None,
        raw_ref: Some(format!("sha256:{raw_sha256}")),
        location: None,
        contact: None,
    };
    Ok(Normalized { case, blobs })
}

fn hint(signal: &str, value: String) -> ThreadHint {
    ThreadHint {
        signal: signal.to_owned(),
        value,
        used: false,
        reason: "not yet resolved".to_owned(),
    }
}

/// The content, then each embed summarized as text (title, description, fields, footer), so
/// a helpdesk that reads only `body.text` still sees what a bot-made or link embed said.
fn body_text(message: &DiscordMessage) -> String {
    let mut text = message.content.clone();
    for embed in &message.embeds {
        let mut lines: Vec<String> = Vec::new();
        let title = [embed.title.as_deref(), embed.url.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        lines.push(format!("[embed] {title}").trim_end().to_owned());
        if let Some(author) = embed.author.as_ref().and_then(|a| a.name.as_deref()) {
            lines.push(format!("by {author}"));
        }
        lines.extend(embed.description.clone());
        for field in &embed.fields {
            lines.push(format!("{}: {}", field.name, field.value));
        }
        if let Some(footer) = embed.footer.as_ref().and_then(|f| f.text.as_deref()) {
            lines.push(footer.to_owned());
        }
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&lines.join("\n"));
    }
    text
}

fn attachment<'a>(
    meta: &model::DiscordAttachment,
    file: Option<DiscordFile<'a>>,
    blobs: &mut Vec<Blob<'a>>,
) -> Attachment {
    let content_type = meta
        .content_type
        .as_deref()
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|t| is_media_type(t))
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let (sha256, blob_ref, omitted_reason, size) = match file {
        Some(DiscordFile::Bytes(bytes)) => {
            let sha256 = sha256_hex(bytes);
            blobs.push(Blob {
                sha256: sha256.clone(),
                bytes: Cow::Borrowed(bytes),
            });
            let blob_ref = format!("sha256:{sha256}");
            (sha256, Some(blob_ref), None, bytes.len() as u64)
        }
        // Not fetched: an empty hash, never one of bytes we do not have (schema rule).
        Some(DiscordFile::Omitted(reason)) => {
            (String::new(), None, Some(reason.to_owned()), meta.size)
        }
        None => (
            String::new(),
            None,
            Some("not fetched".to_owned()),
            meta.size,
        ),
    };
    Attachment {
        filename: clean(Some(&meta.filename)),
        content_type,
        size,
        sha256,
        disposition: Disposition::Attachment,
        blob_ref,
        omitted_reason,
    }
}

/// `type/subtype` with the characters the schema allows.
fn is_media_type(value: &str) -> bool {
    let allowed =
        |s: &str| !s.is_empty() && s.bytes().all(|b| (b'!'..=b'~').contains(&b) && b != b'/');
    value
        .split_once('/')
        .is_some_and(|(kind, sub)| allowed(kind) && allowed(sub))
}

/// Trimmed, control characters removed, `None` when nothing is left.
fn clean(value: Option<&str>) -> Option<String> {
    let cleaned: String = value?.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

/// Discord's ISO 8601 timestamps, re-rendered as RFC 3339 (None when unparsable).
fn rfc3339(value: &str) -> Option<String> {
    OffsetDateTime::parse(value, &Rfc3339)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
}
