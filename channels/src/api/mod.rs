//! `type = "api"`: Intake's own intake for contact forms, chat widgets and in-house tools, at
//! `POST /webhooks/<name>` (described in `docs/api-channel.openapi.yaml`).
//!
//! A request is authenticated over its raw bytes before anything is parsed: a Standard
//! Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the channel's
//! `whsec_` secret, or a bearer token for clients that cannot sign. The delivery's id
//! (`webhook-id`, or the body's `id` with a bearer token) is its idempotency key, so a retried
//! delivery finds the entry it made and gets 200 again. The answer waits until the case is
//! durable (the push model, `crate::push`).

mod build;
mod handler;
pub mod keys;
mod normalize;
pub mod payload;
pub mod verify;

pub use build::build;
pub use normalize::ApiNormalizer;
