//! The slack channel's normalizer: the verified `event_callback` envelope (the wire bytes) and
//! the files the handler downloaded into case v1. Pure.
//!
//! The conversation is the chat: a thread (`thread_ts`) is one conversation, a direct message
//! channel is one until idle, and a top-level message in a watched channel opens its own
//! thread's conversation, so replies in that thread join it.

use std::sync::Arc;

use intake_normalizer::case::{
    Attachment, Body, Case, Classification, Conversation, Disposition, Event, Party, PartyKind,
    Recipients, ThreadHint,
};
use intake_normalizer::{Blob, NormalizeError, Normalized, SCHEMA_VERSION, sha256_hex};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::events::{Envelope, MessageEvent};
use crate::webhook::clean_field;
use crate::{FileContent, Normalize, NormalizeContext, SharedPolicy, Wire};

#[derive(Debug)]
pub struct SlackNormalizer {
    pub shared: Arc<SharedPolicy>,
}

fn unparsable(reason: &str) -> NormalizeError {
    NormalizeError::Unparsable {
        reason: reason.to_string(),
    }
}

impl Normalize for SlackNormalizer {
    fn normalize<'w>(
        &self,
        wire: &'w Wire,
        ctx: &NormalizeContext<'_>,
    ) -> Result<Normalized<'w>, NormalizeError> {
        let envelope: Envelope =
            serde_json::from_slice(&wire.bytes).map_err(|e| NormalizeError::Unparsable {
                reason: crate::webhook::json_problem(&e),
            })?;
        let event = envelope
            .event
            .as_ref()
            .ok_or_else(|| unparsable("event_callback without an event"))?;
        let raw_sha256 = wire
            .sha256
            .clone()
            .unwrap_or_else(|| sha256_hex(&wire.bytes));
        let mut blobs = vec![Blob {
            sha256: raw_sha256.clone(),
            bytes: wire.bytes.as_slice().into(),
        }];
        let attachments = attachments(event, wire, &mut blobs);
        let team = envelope.team_id.as_deref().unwrap_or("-");
        let text = event.text.clone().unwrap_or_default();
        let languages = self.shared.languages();
        let detected = languages.detect_hinted(&text, None);
        // A form or chat message has no quoted history: all of it is the new text.
        let reply_text = (!text.is_empty()).then(|| text.clone());
        let case = Case {
            schema_version: SCHEMA_VERSION,
            event: Event::MessageReceived,
            case_id: ctx.case_id.to_string(),
            idempotency_key: ctx.idempotency_key.to_string(),
            channel: ctx.channel.clone(),
            source: wire.source.clone(),
            conversation: Conversation {
                key: String::new(),
                is_new: true,
                hints: vec![chat_hint(team, event)],
            },
            sender: Party {
                name: None,
                address: clean_field(event.user.as_deref()),
                kind: PartyKind::Slack,
                telegram: None,
                discord: None,
            },
            recipients: Recipients::default(),
            subject: None,
            language: detected.map(|d| d.code.to_string()),
            language_source: detected.map(|d| d.source),
            body: Body {
                text,
                html: None,
                reply_text,
            },
            attachments,
            sent_at: event.ts.as_deref().and_then(ts_to_rfc3339),
            received_at: ctx.received_at.to_string(),
            classification: Classification::default(),
            authentication: None,
            location: None,
            contact: None,
            raw_ref: Some(format!("sha256:{raw_sha256}")),
        };
        Ok(Normalized { case, blobs })
    }
}

/// The chat signal: the thread when there is one, the DM channel, or the message's own thread.
fn chat_hint(team: &str, event: &MessageEvent) -> ThreadHint {
    let channel = event.channel.as_deref().unwrap_or("-");
    let value = match (&event.thread_ts, event.channel_type.as_deref()) {
        (Some(thread), _) => format!("slack:{team}:{channel}:{thread}"),
        (None, Some("im")) => format!("slack:{team}:{channel}"),
        (None, _) => format!(
            "slack:{team}:{channel}:{}",
            event.ts.as_deref().unwrap_or("-")
        ),
    };
    ThreadHint {
        signal: "chat".into(),
        value,
        used: false,
        reason: String::new(),
    }
}

fn attachments<'w>(
    event: &MessageEvent,
    wire: &'w Wire,
    blobs: &mut Vec<Blob<'w>>,
) -> Vec<Attachment> {
    event
        .files
        .iter()
        .map(|file| {
            let content = wire
                .files
                .iter()
                .find(|f| f.id == file.id)
                .map(|f| &f.content);
            let content_type = file
                .mimetype
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into());
            let filename = clean_field(file.name.as_deref());
            match content {
                Some(FileContent::Bytes(bytes)) => {
                    let sha256 = sha256_hex(bytes);
                    blobs.push(Blob {
                        sha256: sha256.clone(),
                        bytes: bytes.as_slice().into(),
                    });
                    Attachment {
                        filename,
                        content_type,
                        size: bytes.len() as u64,
                        sha256: sha256.clone(),
                        disposition: Disposition::Attachment,
                        blob_ref: Some(format!("sha256:{sha256}")),
                        omitted_reason: None,
                    }
                }
                omitted => Attachment {
                    filename,
                    content_type,
                    size: file.size.unwrap_or(0),
                    sha256: String::new(),
                    disposition: Disposition::Attachment,
                    blob_ref: None,
                    omitted_reason: Some(match omitted {
                        Some(FileContent::Omitted { reason }) => reason.clone(),
                        _ => "not downloaded".into(),
                    }),
                },
            }
        })
        .collect()
}

/// Slack's `ts` (`"1355517523.000005"`, seconds since the epoch) as RFC 3339.
fn ts_to_rfc3339(ts: &str) -> Option<String> {
    let seconds: i64 = ts.split('.').next()?.parse().ok()?;
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_is_a_unix_time() {
        assert_eq!(
            ts_to_rfc3339("1355517523.000005").as_deref(),
            Some("2012-12-14T20:38:43Z")
        );
        assert_eq!(ts_to_rfc3339("x"), None);
    }
}
