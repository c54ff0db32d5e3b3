//! WhatsApp Cloud API webhook channel (`type = "whatsapp"`), a push channel: Meta POSTs each
//! notification to `/webhooks/<name>` and the 200 is the ack.
//!
//! - `GET` answers Meta's verification handshake (`hub.verify_token`; 403 when wrong).
//! - `POST` is verified (`X-Hub-Signature-256`, [`verify`]) over the raw body before parsing;
//!   every message of every entry and change becomes its own delivery, keyed
//!   `whatsapp:{phone_number_id}:{message id}` ([`keys`]), with its media fetched through the
//!   Graph API first; the answer is 200 once all are durable, 503 otherwise (Meta retries,
//!   and what landed already is found again by key). Reactions and statuses are not cases.
//! - [`payload`]: the notification's shape; [`normalize`]: one message into a case.

mod build;
mod handler;
pub mod keys;
mod normalize;
mod payload;
pub mod verify;

pub use build::build;
pub use normalize::WhatsappNormalizer;
