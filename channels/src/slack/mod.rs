//! `type = "slack"`: the Slack Events API at `POST /webhooks/<name>`.
//!
//! Every request is verified over its raw bytes first (`X-Slack-Signature`, v0 HMAC-SHA256 of
//! `v0:<timestamp>:<body>` with the signing secret; a timestamp more than five minutes off is
//! refused). The `url_verification` challenge is answered; `event_callback` message events
//! from direct messages and from the configured channels become cases; bot messages, the app's
//! own, edits, joins and every other event are acknowledged with 200 and dropped. The message's
//! `(team, channel, ts)` is its idempotency key, so Slack's retries (`X-Slack-Retry-Num`) land
//! once. Shared files are downloaded with the bot token into the blob store before the message
//! is queued; one that cannot be fetched is kept as metadata with the reason.

mod build;
mod events;
mod files;
mod handler;
pub mod keys;
mod normalize;
pub mod verify;

pub use build::build;
pub use normalize::SlackNormalizer;
