//! The WhatsApp channel's normalizer: one message of a notification (picked by its id from the
//! whole signed body) into a case. Sender: the customer's number (`+` and `wa_id`) and profile
//! name; text: the message's text, caption or a plain rendering (location, contact cards,
//! button replies); media: the files the handler fetched, by media id.

use std::collections::BTreeMap;
use std::sync::Arc;

use intake_normalizer::case::{Address, Party, PartyKind};
use intake_normalizer::message::{MessageFile, MessageInput, normalize_message};
use intake_normalizer::{NormalizeError, Normalized};

use super::payload::{Located, Message, Notification};
use crate::push_support::unix_rfc3339;
use crate::{Normalize, NormalizeContext, SharedPolicy, Wire};

#[derive(Debug)]
pub struct WhatsappNormalizer {
    pub shared: Arc<SharedPolicy>,
}

impl Normalize for WhatsappNormalizer {
    fn normalize<'w>(
        &self,
        wire: &'w Wire,
        ctx: &NormalizeContext<'_>,
    ) -> Result<Normalized<'w>, NormalizeError> {
        let notification = parse(&wire.bytes)?;
        let located = find(&notification, wire)?;
        let message = located.message;
        let profile_name = located
            .contacts
            .iter()
            .find(|c| c.wa_id.as_deref() == Some(message.from.as_str()))
            .or(located.contacts.first())
            .and_then(|c| c.profile.as_ref())
            .and_then(|p| p.name.clone());
        let files = message
            .media()
            .map(|media| MessageFile {
                filename: media.filename.clone(),
                content_type: media
                    .mime_type
                    .as_deref()
                    // `audio/ogg; codecs=opus`: the type without its parameters.
                    .and_then(|t| t.split(';').next())
                    .unwrap_or("application/octet-stream")
                    .trim()
                    .to_string(),
                content: wire.file_bytes(&media.id),
            })
            .into_iter()
            .collect();
        let languages = self.shared.languages();
        Ok(normalize_message(MessageInput {
            channel: ctx.channel.clone(),
            case_id: ctx.case_id,
            idempotency_key: ctx.idempotency_key,
            received_at: ctx.received_at,
            message_id: Some(message.id.clone()),
            in_reply_to: message.context.as_ref().and_then(|c| c.id.clone()),
            sender: Party {
                name: profile_name,
                address: Some(e164(&message.from)),
                kind: PartyKind::Phone,
                telegram: None,
                discord: None,
            },
            recipient: located
                .metadata
                .display_phone_number
                .as_deref()
                .map(|number| Address {
                    name: None,
                    address: Some(e164(number)),
                }),
            text: text(message),
            sent_at: message.timestamp.as_deref().and_then(unix_rfc3339),
            chat: format!("{}:{}", ctx.channel.name, message.from),
            files,
            raw: &wire.bytes,
            raw_sha256: wire.sha256.as_deref(),
            languages,
        }))
    }

    fn dead_letter_headers(&self, wire: &Wire) -> BTreeMap<String, String> {
        let mut headers = BTreeMap::new();
        if let Some(id) = &wire.source.message_id {
            headers.insert("message-id".to_string(), id.clone());
        }
        if let Ok(notification) = parse(&wire.bytes)
            && let Ok(located) = find(&notification, wire)
        {
            headers.insert("from".to_string(), e164(&located.message.from));
            headers.insert("type".to_string(), located.message.kind.clone());
        }
        headers
    }
}

fn parse(bytes: &[u8]) -> Result<Notification, NormalizeError> {
    serde_json::from_slice(bytes).map_err(|e| NormalizeError::Unparsable {
        reason: format!(
            "whatsapp notification: {}",
            crate::webhook::json_problem(&e)
        ),
    })
}

fn find<'n>(notification: &'n Notification, wire: &Wire) -> Result<Located<'n>, NormalizeError> {
    let id = wire.source.message_id.as_deref();
    notification
        .messages()
        .find(|located| Some(located.message.id.as_str()) == id)
        .ok_or_else(|| NormalizeError::Unparsable {
            reason: "the notification holds no message with the delivered id".into(),
        })
}

/// `wa_id`s are digits without the `+`; cases carry E.164, like SMS senders.
fn e164(number: &str) -> String {
    let number = number.trim();
    if number.starts_with('+') {
        number.to_string()
    } else {
        format!("+{number}")
    }
}

/// The message's text, or a plain rendering of what it carries.
fn text(message: &Message) -> String {
    let join = |parts: Vec<String>| parts.join("\n");
    match message.kind.as_str() {
        "text" => message
            .text
            .as_ref()
            .map(|t| t.body.clone())
            .unwrap_or_default(),
        "location" => message.location.as_ref().map_or_else(String::new, |l| {
            let mut parts = vec![format!(
                "Location: {}, {}",
                l.latitude.unwrap_or_default(),
                l.longitude.unwrap_or_default()
            )];
            parts.extend(l.name.clone());
            parts.extend(l.address.clone());
            join(parts)
        }),
        "contacts" => join(
            message
                .contacts
                .iter()
                .flatten()
                .map(|c| {
                    let mut parts = vec![format!(
                        "Contact: {}",
                        c.name
                            .as_ref()
                            .and_then(|n| n.formatted_name.clone())
                            .unwrap_or_default()
                    )];
                    parts.extend(c.phones.iter().filter_map(|p| p.phone.clone()));
                    parts.extend(c.emails.iter().filter_map(|e| e.email.clone()));
                    parts.join(" ")
                })
                .collect(),
        ),
        "button" => message
            .button
            .as_ref()
            .and_then(|b| b.text.clone())
            .unwrap_or_default(),
        "interactive" => message
            .interactive
            .as_ref()
            .and_then(|i| i.button_reply.as_ref().or(i.list_reply.as_ref()))
            .and_then(|r| r.title.clone())
            .unwrap_or_default(),
        _ => match message.media() {
            Some(media) => media.caption.clone().unwrap_or_default(),
            // `unsupported` (Meta could not render it) or a type newer than this code: say
            // what came rather than leave an empty case.
            None => format!("[whatsapp {} message]", message.kind),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn message(json: serde_json::Value) -> Message {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn replies_and_unknown_types_are_rendered_as_text() {
        let base = serde_json::json!({"from": "1", "id": "m", "timestamp": "1"});
        let with = |extra: serde_json::Value| {
            let mut m = base.clone();
            m.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            text(&message(m))
        };
        let button =
            serde_json::json!({"type": "button", "button": {"payload": "p", "text": "No"}});
        assert_eq!(with(button), "No");
        let list = serde_json::json!({"type": "interactive", "interactive": {"type": "list_reply",
            "list_reply": {"id": "1", "title": "Refund", "description": "d"}}});
        assert_eq!(with(list), "Refund");
        let unsupported = serde_json::json!({"type": "unsupported", "errors": [{"code": 131051}]});
        assert_eq!(with(unsupported), "[whatsapp unsupported message]");
        let photo = serde_json::json!({"type": "image", "image": {"id": "1"}});
        assert_eq!(with(photo), "", "a photo without caption has no text");
    }

    #[test]
    fn numbers_are_e164() {
        assert_eq!(e164("16505551234"), "+16505551234");
        assert_eq!(e164("+16505551234"), "+16505551234");
    }
}
