//! Telegram bots: each customer message to the bot becomes a case, exactly once, with its files.
//!
//! Two modes, one channel type ([`TelegramChannel`]):
//! - polling ([`poll`]): our own getUpdates loop through teloxide's client; the offset that
//!   confirms updates to Telegram moves only past durable cases and is kept in Redis;
//! - webhook ([`webhook`]): Telegram POSTs updates to `/webhooks/<name>`; the answer is the ack
//!   (the core's push model).
//!
//! Both hand the worker the update's JSON as the wire bytes and the files it refers to
//! (downloaded through getFile, at most `max_file_bytes` each, otherwise kept as metadata with
//! an `omitted_reason`); [`normalize`] turns them into case v1. The idempotency key is
//! `telegram:<bot id>:<update_id>` ([`keys`]). The token is in every Bot API URL, so no error
//! text from the HTTP client reaches a log, /readyz or a document ([`api`]).

mod api;
mod build;
mod check;
mod filter;
pub mod keys;
mod normalize;
mod poll;
mod webhook;
pub mod wire;

pub use api::{ALLOWED_UPDATES, Api, WebhookState, redact};
pub use build::build;
pub use check::{CheckReport, WebhookCommand, check, webhook_command};
pub use filter::{BotIdentity, ChatPolicy, Verdict};
pub use normalize::TelegramNormalizer;
pub use poll::Poller;

use crate::push::PushChannel;
use crate::{
    Channel, ChannelError, ChannelKind, ChannelStatus, CheckpointStore, FetchedFile, Inbound,
    Payload, Receipt, Wire,
};

/// A Telegram channel in either mode.
#[derive(Debug)]
pub enum TelegramChannel<S: CheckpointStore> {
    Polling(Box<Poller<S>>),
    Webhook(PushChannel),
    /// The HTTP client could not be set up: every receive fails with this error.
    Broken {
        name: String,
        error: String,
    },
}

impl<S: CheckpointStore> Channel for TelegramChannel<S> {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Telegram
    }

    fn name(&self) -> &str {
        match self {
            TelegramChannel::Polling(p) => &p.config.name,
            TelegramChannel::Webhook(w) => w.name(),
            TelegramChannel::Broken { name, .. } => name,
        }
    }

    fn status(&self) -> Option<tokio::sync::watch::Receiver<ChannelStatus>> {
        match self {
            TelegramChannel::Polling(p) => Some(p.status()),
            TelegramChannel::Webhook(w) => w.status(),
            TelegramChannel::Broken { .. } => None,
        }
    }

    async fn receive(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        match self {
            TelegramChannel::Polling(p) => p.receive(max).await,
            TelegramChannel::Webhook(w) => w.receive(max).await,
            TelegramChannel::Broken { error, .. } => Err(ChannelError::Connect {
                endpoint: "telegram".into(),
                detail: error.clone(),
            }),
        }
    }

    async fn receive_ready(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        match self {
            TelegramChannel::Polling(p) => p.receive_ready(max).await,
            TelegramChannel::Webhook(w) => w.receive_ready(max).await,
            TelegramChannel::Broken { .. } => Ok(Vec::new()),
        }
    }

    async fn ack(&mut self, receipts: Vec<Receipt>) -> Result<(), ChannelError> {
        match self {
            TelegramChannel::Polling(p) => p.ack(receipts).await,
            TelegramChannel::Webhook(w) => w.ack(receipts).await,
            TelegramChannel::Broken { .. } => Ok(()),
        }
    }
}

/// One update as the worker takes it.
fn inbound(
    bot_id: &str,
    update_id: i64,
    bytes: Vec<u8>,
    files: Vec<FetchedFile>,
    receipt: Receipt,
) -> Inbound {
    Inbound {
        idempotency_keys: vec![keys::update_key(bot_id, update_id)],
        lookup_keys: 1,
        received_at: now_rfc3339(),
        payload: Payload::Wire(Wire {
            bytes,
            files,
            ..Wire::default()
        }),
        receipt,
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
