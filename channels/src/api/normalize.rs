//! The api channel's normalizer: the posted JSON into case v1. Pure; the handler has already
//! checked the body, so an error here means bytes that changed meaning (never expected) and
//! dead-letters the message with its raw bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use intake_normalizer::case::{
    Attachment, Body, Case, Classification, Conversation, Disposition, Event, Party, PartyKind,
    Recipients, ThreadHint,
};
use intake_normalizer::{Blob, NormalizeError, Normalized, SCHEMA_VERSION, sha256_hex};

use super::payload::{ApiMessage, decode};
use crate::webhook::clean_field;
use crate::{Normalize, NormalizeContext, SharedPolicy, Wire};

#[derive(Debug)]
pub struct ApiNormalizer {
    pub shared: Arc<SharedPolicy>,
    /// Keep the posted body as the case's raw blob (`store_raw`).
    pub store_raw: bool,
}

impl Normalize for ApiNormalizer {
    fn normalize<'w>(
        &self,
        wire: &'w Wire,
        ctx: &NormalizeContext<'_>,
    ) -> Result<Normalized<'w>, NormalizeError> {
        let message: ApiMessage =
            serde_json::from_slice(&wire.bytes).map_err(|e| NormalizeError::Unparsable {
                reason: crate::webhook::json_problem(&e),
            })?;
        // Without store_raw a message without attachments writes no blob, so its batch needs
        // no fsync before the append: the case itself carries every field of the body.
        let mut blobs = Vec::new();
        let raw_ref = self.store_raw.then(|| {
            let sha256 = wire
                .sha256
                .clone()
                .unwrap_or_else(|| sha256_hex(&wire.bytes));
            blobs.push(Blob {
                sha256: sha256.clone(),
                bytes: wire.bytes.as_slice().into(),
            });
            format!("sha256:{sha256}")
        });
        let mut attachments = Vec::new();
        for (i, posted) in message.attachments.iter().enumerate() {
            let bytes =
                decode(&posted.content_base64).ok_or_else(|| NormalizeError::Unparsable {
                    reason: format!("attachments[{i}].content_base64 is not base64"),
                })?;
            let sha256 = sha256_hex(&bytes);
            attachments.push(Attachment {
                filename: clean_field(posted.filename.as_deref()),
                content_type: posted.content_type.clone(),
                size: bytes.len() as u64,
                sha256: sha256.clone(),
                disposition: Disposition::Attachment,
                blob_ref: Some(format!("sha256:{sha256}")),
                omitted_reason: None,
            });
            blobs.push(Blob {
                sha256,
                bytes: bytes.into(),
            });
        }
        let hints = message
            .conversation_id
            .iter()
            .map(|conversation| ThreadHint {
                // One conversation per client conversation id, as for a chat.
                signal: "chat".into(),
                value: format!("{}:{conversation}", ctx.channel.name),
                used: false,
                reason: String::new(),
            })
            .collect();
        let languages = self.shared.languages();
        let address = clean_field(message.sender.address.as_deref());
        let kind = match &address {
            Some(a) if a.contains('@') => PartyKind::Email,
            _ => PartyKind::Other,
        };
        let detected = languages.detect_hinted(&message.text, None);
        // A form or chat message has no quoted history: all of it is the new text.
        let reply_text = (!message.text.is_empty()).then(|| message.text.clone());
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
                hints,
            },
            sender: Party {
                name: clean_field(message.sender.name.as_deref()),
                address,
                kind,
                telegram: None,
                discord: None,
            },
            recipients: Recipients::default(),
            subject: clean_field(message.subject.as_deref()),
            language: detected.map(|d| d.code.to_string()),
            language_source: detected.map(|d| d.source),
            body: Body {
                text: message.text,
                html: None,
                reply_text,
            },
            attachments,
            sent_at: None,
            received_at: ctx.received_at.to_string(),
            classification: Classification::default(),
            authentication: None,
            location: None,
            contact: None,
            raw_ref,
        };
        Ok(Normalized { case, blobs })
    }

    fn dead_letter_headers(&self, wire: &Wire) -> BTreeMap<String, String> {
        wire.source
            .message_id
            .iter()
            .map(|id| ("id".to_string(), id.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use intake_normalizer::case::{ChannelKind, ChannelRef};

    use super::*;

    fn normalize(store_raw: bool, body: &str) -> (Option<String>, usize) {
        let normalizer = ApiNormalizer {
            shared: Arc::default(),
            store_raw,
        };
        let wire = Wire {
            bytes: body.as_bytes().to_vec(),
            ..Wire::default()
        };
        let channel = ChannelRef {
            kind: ChannelKind::Api,
            name: "website".into(),
        };
        let ctx = NormalizeContext {
            channel: &channel,
            case_id: "c",
            idempotency_key: "api:website:1",
            received_at: "2026-11-30T10:00:00Z",
        };
        let normalized = normalizer.normalize(&wire, &ctx).unwrap();
        (normalized.case.raw_ref, normalized.blobs.len())
    }

    #[test]
    fn the_body_is_a_blob_only_with_store_raw() {
        let plain = r#"{"sender": {"name": "A"}, "text": "hi"}"#;
        assert_eq!(normalize(false, plain), (None, 0), "no blob, so no fsync");
        let (raw_ref, blobs) = normalize(true, plain);
        assert_eq!(
            raw_ref,
            Some(format!("sha256:{}", sha256_hex(plain.as_bytes())))
        );
        assert_eq!(blobs, 1);
        let with_file = r#"{"sender": {"name": "A"}, "text": "hi", "attachments": [{"content_type": "text/plain", "content_base64": "aGk="}]}"#;
        assert_eq!(
            normalize(false, with_file),
            (None, 1),
            "attachments are stored either way"
        );
    }
}
