//! The SMS channel's normalizer: Twilio's form into a case. Sender: `From` (E.164, kind
//! `phone`); recipient: `To`; text: `Body`; attachments: the MMS media the handler fetched.

use std::collections::BTreeMap;
use std::sync::Arc;

use intake_normalizer::case::{Address, Party, PartyKind};
use intake_normalizer::message::{MessageFile, MessageInput, normalize_message};
use intake_normalizer::{NormalizeError, Normalized};

use super::form::Form;
use crate::{Normalize, NormalizeContext, SharedPolicy, Wire};

#[derive(Debug)]
pub struct SmsNormalizer {
    pub shared: Arc<SharedPolicy>,
}

impl Normalize for SmsNormalizer {
    fn normalize<'w>(
        &self,
        wire: &'w Wire,
        ctx: &NormalizeContext<'_>,
    ) -> Result<Normalized<'w>, NormalizeError> {
        let form = Form::parse(&wire.bytes);
        let from = form
            .get("From")
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .ok_or_else(|| NormalizeError::Unparsable {
                reason: "twilio message without From".into(),
            })?;
        let files = form
            .media()
            .into_iter()
            .enumerate()
            .map(|(index, item)| MessageFile {
                filename: Some(format!("media{index}")),
                content_type: item
                    .content_type
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                content: wire.file_bytes(item.url),
            })
            .collect();
        let languages = self.shared.languages();
        Ok(normalize_message(MessageInput {
            channel: ctx.channel.clone(),
            case_id: ctx.case_id,
            idempotency_key: ctx.idempotency_key,
            received_at: ctx.received_at,
            message_id: form.message_sid().map(str::to_string),
            in_reply_to: None,
            sender: Party {
                name: None,
                address: Some(from.to_string()),
                kind: PartyKind::Phone,
                telegram: None,
                discord: None,
            },
            recipient: form.get("To").map(|to| Address {
                name: None,
                address: Some(to.to_string()),
            }),
            text: form.get("Body").unwrap_or_default().to_string(),
            // Twilio's inbound webhook carries no send time.
            sent_at: None,
            chat: format!("{}:{from}", ctx.channel.name),
            files,
            raw: &wire.bytes,
            raw_sha256: wire.sha256.as_deref(),
            languages,
        }))
    }

    fn dead_letter_headers(&self, wire: &Wire) -> BTreeMap<String, String> {
        let form = Form::parse(&wire.bytes);
        let mut headers = BTreeMap::new();
        for (param, header) in [("From", "from"), ("To", "to"), ("MessageSid", "message-id")] {
            if let Some(value) = form.get(param) {
                headers.insert(header.to_string(), value.to_string());
            }
        }
        headers
    }
}
