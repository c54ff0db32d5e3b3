//! The JSON body the api channel accepts (see `docs/api-channel.openapi.yaml`): our own small
//! structs, read by the handler (to answer 400 before anything is queued) and again by the
//! normalizer (which gets only the wire bytes).

use base64::Engine as _;
use serde::Deserialize;

use crate::webhook::WebhookError;

/// One message as a client posts it.
#[derive(Debug, Deserialize)]
pub struct ApiMessage {
    /// The delivery id; required with a bearer token (signed requests use `webhook-id`).
    #[serde(default)]
    pub id: Option<String>,
    pub sender: ApiSender,
    #[serde(default)]
    pub subject: Option<String>,
    pub text: String,
    /// The client's own conversation (a chat widget's session): one conversation per value.
    #[serde(default)]
    pub conversation_id: Option<String>,
    #[serde(default)]
    pub attachments: Vec<ApiAttachment>,
}

#[derive(Debug, Deserialize)]
pub struct ApiSender {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ApiAttachment {
    #[serde(default)]
    pub filename: Option<String>,
    pub content_type: String,
    pub content_base64: String,
}

/// The longest delivery id accepted: it becomes part of a Redis key.
pub const MAX_ID_LEN: usize = 200;

impl ApiMessage {
    /// Checks what serde cannot: a sender to answer, decodable attachments, a sane id.
    pub fn check(&self) -> Result<(), WebhookError> {
        let bad = |detail: &str| {
            Err(WebhookError::BadRequest {
                detail: detail.to_string(),
            })
        };
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        if blank(&self.sender.name) && blank(&self.sender.address) {
            return bad("sender needs a name or an address");
        }
        if let Some(id) = &self.id
            && !valid_id(id)
        {
            return bad("id must be 1 to 200 printable ASCII characters");
        }
        for (i, attachment) in self.attachments.iter().enumerate() {
            if decode(&attachment.content_base64).is_none() {
                return bad(&format!("attachments[{i}].content_base64 is not base64"));
            }
        }
        Ok(())
    }
}

/// A delivery id: printable ASCII without spaces, at most [`MAX_ID_LEN`] bytes.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The bytes of an attachment's `content_base64` (standard alphabet, padding optional).
pub fn decode(content: &str) -> Option<Vec<u8>> {
    let content = content.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(content)
        .ok()
}
