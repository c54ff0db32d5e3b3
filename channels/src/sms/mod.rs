//! Twilio SMS / MMS channel (`type = "sms"`), a push channel: Twilio POSTs each inbound
//! message as a form to `/webhooks/<name>`, and the TwiML answer is the ack.
//!
//! - Verified with `X-Twilio-Signature` ([`verify`]: HMAC-SHA1 of the configured `public_url`
//!   and the sorted parameters, keyed with the auth token) before anything else is read.
//! - One delivery per message, keyed `sms:{account_sid}:{MessageSid}` ([`keys`]); MMS media
//!   fetched with the account's credentials first. 200 with an empty `<Response/>` once
//!   durable, 503 + Retry-After otherwise (Twilio retries; the retry finds the entry).
//! - Status callbacks (`MessageStatus`) are acknowledged and are not cases.

mod build;
mod form;
mod handler;
pub mod keys;
mod normalize;
pub mod verify;

pub use build::build;
pub use normalize::SmsNormalizer;
