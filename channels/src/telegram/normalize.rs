//! The Telegram channel's normalizer: one update's JSON (the wire bytes) into case v1. Pure: the
//! files the update refers to were downloaded by the channel and come in `Wire.files`, matched
//! here by `file_id`; a file the channel could not or would not fetch keeps its metadata with
//! `omitted_reason`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use intake_normalizer::case::{
    Attachment, Body, ChannelRef, Classification, Conversation, Disposition, Event, Location,
    Party, PartyKind, Recipients, SharedContact, Source, TelegramSource, TelegramUser, ThreadHint,
};
use intake_normalizer::language::{LanguageHint, LanguageSource};
use intake_normalizer::{Blob, Case, NormalizeError, Normalized, SCHEMA_VERSION, sha256_hex};

use super::keys;
use super::wire::{Message, Update, UpdateKind};
use crate::{FileContent, Normalize, NormalizeContext, SharedPolicy, Wire};

const UNRESOLVED: &str = "not yet resolved";

/// Normalizer of one bot's updates.
#[derive(Debug)]
pub struct TelegramNormalizer {
    /// The token's numeric part: scopes message ids in threading hints.
    pub bot_id: String,
    pub shared: Arc<SharedPolicy>,
}

impl Normalize for TelegramNormalizer {
    fn normalize<'w>(
        &self,
        wire: &'w Wire,
        ctx: &NormalizeContext<'_>,
    ) -> Result<Normalized<'w>, NormalizeError> {
        let update: Update = serde_json::from_slice(&wire.bytes).map_err(|e| {
            NormalizeError::Unparsable {
                // serde's error names a line and column and what it expected, not the input.
                reason: format!(
                    "not a Telegram update ({:?} error at line {} column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
            }
        })?;
        let (kind, message) = update.message();
        let Some(message) = message else {
            return Err(NormalizeError::Unparsable {
                reason: "the update carries no message".into(),
            });
        };
        let raw_sha = wire
            .sha256
            .clone()
            .unwrap_or_else(|| sha256_hex(&wire.bytes));
        let mut blobs = vec![Blob {
            sha256: raw_sha.clone(),
            bytes: Cow::Borrowed(&wire.bytes),
        }];
        let attachments = attachments(message, wire, &mut blobs);
        let text = body_text(message);
        let sender = sender(message);
        let languages = self.shared.languages();
        // Chat messages are often too short to detect: the client's language is the hint.
        let hint = message
            .from
            .as_ref()
            .and_then(|u| u.language_code.as_deref())
            .map(|tag| LanguageHint {
                tag,
                source: LanguageSource::ChannelHint,
            });
        let detected = languages.detect_hinted(&text, hint);
        let own_id = keys::message_id(&self.bot_id, message.chat.id, message.message_id);
        let replied = message
            .reply_to_message
            .as_ref()
            .map(|r| keys::message_id(&self.bot_id, r.chat.id, r.message_id));
        let thread_id = message
            .is_topic_message
            .then_some(message.message_thread_id)
            .flatten();
        let edited = kind == UpdateKind::Edited;
        let conversation =
            conversation(ctx, message, thread_id, &own_id, replied.as_deref(), edited);
        let is_bot = message.from.as_ref().is_some_and(|u| u.is_bot);
        let case = Case {
            schema_version: SCHEMA_VERSION,
            event: if edited {
                Event::MessageEdited
            } else {
                Event::MessageReceived
            },
            case_id: ctx.case_id.to_owned(),
            idempotency_key: ctx.idempotency_key.to_owned(),
            channel: ChannelRef::clone(ctx.channel),
            source: Source {
                message_id: Some(own_id),
                in_reply_to: replied.into_iter().collect(),
                references: Vec::new(),
                imap: None,
                discord: None,
                telegram: Some(TelegramSource {
                    update_id: update.update_id,
                    chat_id: message.chat.id,
                    chat_type: chat_type(&message.chat.kind).to_owned(),
                    message_id: message.message_id,
                    thread_id,
                }),
            },
            conversation,
            sender,
            recipients: Recipients::default(),
            subject: None,
            body: Body {
                reply_text: Some(text.clone()).filter(|t| !t.is_empty()),
                text,
                html: None,
            },
            attachments,
            sent_at: rfc3339(if edited {
                message.edit_date.unwrap_or(message.date)
            } else {
                message.date
            }),
            received_at: ctx.received_at.to_owned(),
            language: detected.map(|d| d.code.to_owned()),
            language_source: detected.map(|d| d.source),
            classification: Classification {
                auto_submitted: is_bot,
                reasons: if is_bot {
                    vec!["telegram: sent by a bot".into()]
                } else {
                    Vec::new()
                },
                ..Classification::default()
            },
            authentication: None,
            raw_ref: Some(format!("sha256:{raw_sha}")),
            location: location(message),
            contact: message.contact.as_ref().map(|c| SharedContact {
                phone_number: c.phone_number.clone(),
                first_name: c.first_name.clone(),
                last_name: c.last_name.clone(),
                user_id: c.user_id.map(|id| id.to_string()),
                vcard: c.vcard.clone(),
            }),
        };
        Ok(Normalized { case, blobs })
    }

    fn dead_letter_headers(&self, wire: &Wire) -> BTreeMap<String, String> {
        // Only identities, never text.
        let mut headers = BTreeMap::new();
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&wire.bytes)
            && let Some(id) = value.get("update_id").and_then(serde_json::Value::as_i64)
        {
            headers.insert("update_id".into(), id.to_string());
        }
        headers
    }
}

/// The text, caption, or a placeholder for a sticker.
fn body_text(m: &Message) -> String {
    if let Some(text) = m.text_or_caption() {
        return text.to_owned();
    }
    if let Some(sticker) = &m.sticker {
        return match &sticker.emoji {
            Some(emoji) => format!("[sticker {emoji}]"),
            None => "[sticker]".to_owned(),
        };
    }
    String::new()
}

fn sender(m: &Message) -> Party {
    match (&m.from, &m.sender_chat) {
        // An anonymous admin or a channel writing as itself: the chat is the sender.
        (_, Some(chat)) => Party {
            name: chat.title.as_deref().and_then(clean),
            address: Some(chat.id.to_string()),
            kind: PartyKind::Telegram,
            telegram: None,
            discord: None,
        },
        (Some(user), None) => {
            let full = match &user.last_name {
                Some(last) => format!("{} {last}", user.first_name),
                None => user.first_name.clone(),
            };
            Party {
                name: clean(&full),
                address: Some(user.id.to_string()),
                kind: PartyKind::Telegram,
                discord: None,
                telegram: Some(TelegramUser {
                    id: user.id,
                    username: user.username.as_deref().and_then(clean),
                    language_code: user.language_code.as_deref().and_then(clean),
                    is_bot: user.is_bot,
                }),
            }
        }
        (None, None) => Party {
            name: None,
            address: None,
            kind: PartyKind::Telegram,
            telegram: None,
            discord: None,
        },
    }
}

/// The chat (or forum topic) as the `chat` hint, the replied-to message as a strong hint, and
/// the message's own id. An edit's own id is the original's: it joins the original's
/// conversation.
fn conversation(
    ctx: &NormalizeContext<'_>,
    m: &Message,
    thread_id: Option<i64>,
    own_id: &str,
    replied: Option<&str>,
    edited: bool,
) -> Conversation {
    let chat = keys::chat_hint(&ctx.channel.name, m.chat.id, thread_id);
    let mut hints = vec![hint("chat", &chat)];
    if let Some(parent) = replied {
        hints.push(hint("in_reply_to", parent));
    }
    if edited {
        hints.push(hint("in_reply_to", own_id));
    } else {
        hints.push(hint("message_id", own_id));
    }
    Conversation {
        key: format!("telegram:{chat}"),
        is_new: replied.is_none() && !edited,
        hints,
    }
}

fn hint(signal: &str, value: &str) -> ThreadHint {
    ThreadHint {
        signal: signal.to_owned(),
        value: value.to_owned(),
        used: false,
        reason: UNRESOLVED.to_owned(),
    }
}

fn attachments<'w>(m: &Message, wire: &'w Wire, blobs: &mut Vec<Blob<'w>>) -> Vec<Attachment> {
    m.files()
        .into_iter()
        .map(|file| {
            let fetched = wire.files.iter().find(|f| f.id == file.file_id);
            let disposition = if file.inline {
                Disposition::Inline
            } else {
                Disposition::Attachment
            };
            let base = Attachment {
                filename: file.file_name.and_then(clean),
                content_type: file.content_type.to_owned(),
                size: file.file_size.unwrap_or(0),
                // Not fetched: empty, as for every channel (the schema's rule).
                sha256: String::new(),
                disposition,
                blob_ref: None,
                omitted_reason: None,
            };
            match fetched.map(|f| &f.content) {
                Some(FileContent::Bytes(bytes)) => {
                    let sha = sha256_hex(bytes);
                    if !blobs.iter().any(|b| b.sha256 == sha) {
                        blobs.push(Blob {
                            sha256: sha.clone(),
                            bytes: Cow::Borrowed(bytes),
                        });
                    }
                    Attachment {
                        size: bytes.len() as u64,
                        blob_ref: Some(format!("sha256:{sha}")),
                        sha256: sha,
                        ..base
                    }
                }
                Some(FileContent::Omitted { reason }) => Attachment {
                    omitted_reason: Some(reason.clone()),
                    ..base
                },
                None => Attachment {
                    omitted_reason: Some("not fetched by the channel".into()),
                    ..base
                },
            }
        })
        .collect()
}

fn location(m: &Message) -> Option<Location> {
    if let Some(venue) = &m.venue {
        return Some(Location {
            latitude: venue.location.latitude,
            longitude: venue.location.longitude,
            title: clean(&venue.title),
            address: clean(&venue.address),
        });
    }
    m.location.as_ref().map(|l| Location {
        latitude: l.latitude,
        longitude: l.longitude,
        title: None,
        address: None,
    })
}

fn chat_type(kind: &str) -> &'static str {
    match kind {
        "group" => "group",
        "supergroup" => "supergroup",
        "channel" => "channel",
        _ => "private",
    }
}

/// Unix seconds as RFC 3339 UTC.
fn rfc3339(unix: i64) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    at.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// Trimmed, without control characters, non-empty: what the schema's clean strings are.
fn clean(value: &str) -> Option<String> {
    let cleaned: String = value
        .trim()
        .chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
