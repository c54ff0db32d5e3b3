//! The typed configs of the push channels that came with WhatsApp, SMS and the MTA pipe: a
//! provider (or the MTA) hands Intake a message and waits for the answer, so nothing here polls.

use crate::types::Secret;

/// `[[channels]] type = "whatsapp"`: the WhatsApp Cloud API webhook at `/webhooks/<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatsappConfig {
    pub name: String,
    /// The Meta app secret: key of the `X-Hub-Signature-256` HMAC over each POST's raw body.
    pub app_secret: Secret,
    /// What Meta's GET verification request must carry as `hub.verify_token`.
    pub verify_token: Secret,
    /// Bearer token for the Graph API, to fetch media.
    pub access_token: Secret,
    /// The Graph API base, with its version (`https://graph.facebook.com/v21.0`; a test's).
    pub api_url: String,
    /// Media larger than this is not downloaded: the case keeps its metadata with an
    /// `omitted_reason`.
    pub max_media_bytes: u64,
}

/// `[[channels]] type = "sms"`: Twilio's inbound SMS / MMS webhook at `/webhooks/<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct SmsConfig {
    pub name: String,
    /// The URL Twilio is configured to call, exactly as Twilio signs it (scheme, host, path and
    /// query): behind a proxy Intake cannot see it.
    pub public_url: String,
    /// The account (`AC…`): scope of the idempotency keys and user name for fetching MMS media.
    pub account_sid: String,
    /// Key of `X-Twilio-Signature` and password for fetching MMS media.
    pub auth_token: Secret,
    /// MMS media larger than this is not downloaded (metadata kept, `omitted_reason` set).
    pub max_media_bytes: u64,
}

/// `[[channels]] type = "pipe"`: mail piped by the MTA into `intake ingest --channel <name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct PipeConfig {
    pub name: String,
    /// A larger message is dead-lettered as `too_large` (and the MTA told it was delivered).
    pub max_message_bytes: u64,
}
