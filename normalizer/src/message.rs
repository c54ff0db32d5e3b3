//! Messages from messaging providers (WhatsApp, SMS): the channel reads its provider's payload
//! into a [`MessageInput`], and this builds the case the same way for all of them.
//!
//! A chat has no subject, no quoted history and no reply headers: the text is the new text,
//! the conversation is the chat (a `chat` hint the gateway resolves, one conversation per
//! contact until it is idle), and files the channel fetched become attachments stored as blobs.

use std::borrow::Cow;

use crate::case::{
    Address, Attachment, Body, Case, ChannelRef, Classification, Conversation, Disposition, Event,
    Party, Recipients, SCHEMA_VERSION, Source, ThreadHint,
};
use crate::email::thread::NOT_YET_RESOLVED;
use crate::language::LanguageDetector;
use crate::{Blob, Normalized, sha256_hex};

/// What a messaging channel read from one message of its payload: `'a` is the wire payload's
/// lifetime (the blobs borrow it), `'c` the delivery context's.
#[derive(Debug)]
pub struct MessageInput<'a, 'c> {
    pub channel: ChannelRef,
    pub case_id: &'c str,
    pub idempotency_key: &'c str,
    pub received_at: &'c str,
    /// The provider's id of the message (`wamid.…`, `SM…`).
    pub message_id: Option<String>,
    /// The provider's id of the message this one answers, when it says.
    pub in_reply_to: Option<String>,
    pub sender: Party,
    /// The number (or account) the customer wrote to.
    pub recipient: Option<Address>,
    /// The message's text, or a plain rendering of what it carries (a location, a contact card,
    /// a caption); may be empty (a photo alone).
    pub text: String,
    /// RFC 3339, from the provider's timestamp.
    pub sent_at: Option<String>,
    /// The chat hint's value, `<channel name>:<contact>`: one conversation per contact.
    pub chat: String,
    pub files: Vec<MessageFile<'a>>,
    /// The payload exactly as it came off the wire (the raw blob).
    pub raw: &'a [u8],
    pub raw_sha256: Option<&'c str>,
    pub languages: &'c LanguageDetector,
}

/// One file of a message.
#[derive(Debug)]
pub struct MessageFile<'a> {
    pub filename: Option<String>,
    /// The MIME type the provider declared; `application/octet-stream` when it did not.
    pub content_type: String,
    pub content: FileBytes<'a>,
}

#[derive(Debug)]
pub enum FileBytes<'a> {
    Fetched(&'a [u8]),
    /// Not downloaded: the attachment keeps its name and type, `ref` null, `sha256` empty and
    /// `size` 0, and says why.
    Omitted {
        reason: String,
    },
}

/// The case of one message, and the blobs it refers to (the raw payload first).
pub fn normalize_message<'a>(input: MessageInput<'a, '_>) -> Normalized<'a> {
    let raw_sha256 = input
        .raw_sha256
        .map_or_else(|| sha256_hex(input.raw), str::to_owned);
    let raw_ref = format!("sha256:{raw_sha256}");
    let mut blobs = vec![Blob {
        sha256: raw_sha256,
        bytes: Cow::Borrowed(input.raw),
    }];
    let attachments = input
        .files
        .into_iter()
        .map(|file| attachment(file, &mut blobs))
        .collect();
    let text = input.text.trim().to_string();
    let detected = input.languages.detect_hinted(&text, None);
    let hints = vec![ThreadHint {
        signal: "chat".into(),
        value: input.chat.clone(),
        used: false,
        reason: NOT_YET_RESOLVED.into(),
    }];
    let case = Case {
        schema_version: SCHEMA_VERSION,
        event: Event::MessageReceived,
        case_id: input.case_id.to_owned(),
        idempotency_key: input.idempotency_key.to_owned(),
        channel: input.channel,
        source: Source {
            message_id: input.message_id.and_then(clean),
            in_reply_to: input.in_reply_to.and_then(clean).into_iter().collect(),
            references: Vec::new(),
            imap: None,
            telegram: None,
        },
        conversation: Conversation {
            // Provisional: the gateway resolves the chat hint to the contact's conversation.
            key: format!("chat:{}", input.chat),
            is_new: true,
            hints,
        },
        sender: Party {
            name: input.sender.name.and_then(clean),
            address: input.sender.address.and_then(clean),
            kind: input.sender.kind,
            telegram: None,
        },
        recipients: Recipients {
            to: input.recipient.into_iter().collect(),
            cc: Vec::new(),
        },
        subject: None,
        body: Body {
            reply_text: (!text.is_empty()).then(|| text.clone()),
            text,
            html: None,
        },
        attachments,
        sent_at: input.sent_at,
        received_at: input.received_at.to_owned(),
        language: detected.map(|d| d.code.to_owned()),
        language_source: detected.map(|d| d.source),
        classification: Classification::default(),
        authentication: None,
        raw_ref: Some(raw_ref),
        location: None,
        contact: None,
    };
    Normalized { case, blobs }
}

fn attachment<'a>(file: MessageFile<'a>, blobs: &mut Vec<Blob<'a>>) -> Attachment {
    let content_type = if is_mime_type(&file.content_type) {
        file.content_type.to_ascii_lowercase()
    } else {
        "application/octet-stream".to_string()
    };
    let filename = file.filename.and_then(clean);
    match file.content {
        FileBytes::Fetched(bytes) => {
            let sha256 = sha256_hex(bytes);
            blobs.push(Blob {
                sha256: sha256.clone(),
                bytes: Cow::Borrowed(bytes),
            });
            Attachment {
                filename,
                content_type,
                size: bytes.len() as u64,
                blob_ref: Some(format!("sha256:{sha256}")),
                sha256,
                disposition: Disposition::Attachment,
                omitted_reason: None,
            }
        }
        FileBytes::Omitted { reason } => Attachment {
            filename,
            content_type,
            size: 0,
            sha256: String::new(),
            disposition: Disposition::Attachment,
            blob_ref: None,
            omitted_reason: Some(reason),
        },
    }
}

/// `type/subtype` of visible ASCII without spaces, as the case schema requires.
fn is_mime_type(value: &str) -> bool {
    let ok =
        |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
    value
        .split_once('/')
        .is_some_and(|(kind, sub)| ok(kind) && ok(sub))
}

/// Trimmed, control characters replaced by spaces, None when nothing is left: the schema's
/// `clean_string`.
fn clean(value: String) -> Option<String> {
    let cleaned: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::case::{ChannelKind, PartyKind};

    fn input<'a>(raw: &'a [u8], files: Vec<MessageFile<'a>>) -> MessageInput<'a, 'static> {
        MessageInput {
            channel: ChannelRef {
                kind: ChannelKind::Sms,
                name: "sms".into(),
            },
            case_id: "c",
            idempotency_key: "sms:AC1:SM1",
            received_at: "2026-11-30T10:00:00Z",
            message_id: Some("SM1".into()),
            in_reply_to: None,
            sender: Party {
                name: None,
                address: Some(" +14155550100 ".into()),
                kind: PartyKind::Phone,
                telegram: None,
            },
            recipient: None,
            text: " Where is my order?\n".into(),
            sent_at: None,
            chat: "sms:+14155550100".into(),
            files,
            raw,
            raw_sha256: None,
            languages: LanguageDetector::all(),
        }
    }

    #[test]
    fn text_is_the_new_text_and_the_chat_is_the_conversation() {
        let n = normalize_message(input(b"raw", Vec::new()));
        assert_eq!(n.case.body.text, "Where is my order?");
        assert_eq!(
            n.case.body.reply_text.as_deref(),
            Some("Where is my order?")
        );
        assert_eq!(n.case.sender.address.as_deref(), Some("+14155550100"));
        assert_eq!(n.case.conversation.hints[0].signal, "chat");
        assert_eq!(n.case.conversation.hints[0].value, "sms:+14155550100");
        assert_eq!(n.blobs.len(), 1, "the raw payload");
    }

    #[test]
    fn files_become_blobs_or_say_why_not() {
        let files = vec![
            MessageFile {
                filename: Some("a.jpg".into()),
                content_type: "image/jpeg".into(),
                content: FileBytes::Fetched(b"jpeg"),
            },
            MessageFile {
                filename: None,
                content_type: "not a type".into(),
                content: FileBytes::Omitted {
                    reason: "too large".into(),
                },
            },
        ];
        let n = normalize_message(input(b"raw", files));
        let [fetched, omitted] = &n.case.attachments[..] else {
            panic!("two attachments");
        };
        assert_eq!(
            fetched.blob_ref,
            Some(format!("sha256:{}", sha256_hex(b"jpeg")))
        );
        assert_eq!(fetched.size, 4);
        assert_eq!(n.blobs.len(), 2);
        assert_eq!(omitted.blob_ref, None);
        assert_eq!(omitted.omitted_reason.as_deref(), Some("too large"));
        assert_eq!(omitted.content_type, "application/octet-stream");
        assert_eq!(omitted.sha256, "");
    }
}
