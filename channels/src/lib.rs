//! Intake's channels. Each channel pulls messages off its provider and marks them done only when
//! told to, after their cases are durable: the [`Channel`] trait is that receive/ack contract,
//! and the gateway's worker is the only caller of `ack`.

mod build;
pub mod cursor;
mod error;
mod inbound;
pub mod memory;
mod normalize;
pub mod push;
pub mod webhook;

#[cfg(feature = "discord")]
pub mod discord;
#[cfg(feature = "email")]
pub mod email;
#[cfg(any(feature = "whatsapp", feature = "sms"))]
mod media;
#[cfg(feature = "pipe")]
pub mod pipe;
#[cfg(any(feature = "whatsapp", feature = "sms"))]
mod push_support;
#[cfg(feature = "sms")]
pub mod sms;
#[cfg(feature = "telegram")]
pub mod telegram;
#[cfg(feature = "whatsapp")]
pub mod whatsapp;

#[cfg(feature = "api")]
pub mod api;

#[cfg(feature = "slack")]
pub mod slack;

#[cfg(feature = "slack")]
pub mod fetch;

use std::future::Future;

pub use build::{BuildContext, Built, DEFAULT_POISON_AFTER, IngestState};
pub use error::ChannelError;
pub use inbound::{FetchedFile, FileContent, Inbound, Payload, Receipt, Rejection, Wire};
pub use intake_normalizer::case::ChannelKind;
pub use memory::MemoryCheckpointStore;
pub use normalize::{Normalize, NormalizeContext, SharedPolicy};

/// A source of customer messages with at-least-once delivery.
pub trait Channel: Send + 'static {
    fn kind(&self) -> ChannelKind;

    /// The operator's name for this channel.
    fn name(&self) -> &str;

    /// Waits for the next non-empty batch of at most `max` messages. Must not mark anything done
    /// remotely. Messages handed out and not acked yet are not returned again while the
    /// connection lasts; after a reconnect everything unacked is delivered again.
    fn receive(
        &mut self,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Inbound>, ChannelError>> + Send;

    /// Like `receive`, but returns at once with whatever is available (possibly nothing). The
    /// worker calls it while the previous batch is being delivered, so fetching overlaps
    /// parsing. The default fetches nothing ahead.
    fn receive_ready(
        &mut self,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Inbound>, ChannelError>> + Send {
        let _ = max;
        std::future::ready(Ok(Vec::new()))
    }

    /// Messages already received and waiting in memory, at most `max`, taken without any I/O.
    /// The worker calls it just before preparing the next batch, so a message that arrived
    /// while the previous batch was committed joins the next one instead of waiting a whole
    /// step more (a push channel's clients wait for their answer meanwhile). The default has
    /// no such buffer.
    fn take_buffered(&mut self, max: usize) -> Vec<Inbound> {
        let _ = max;
        Vec::new()
    }

    /// A live view of the channel's connection, so /readyz is truthful while `receive` waits
    /// (in IDLE, say) rather than only when a batch arrives. None when the channel has none.
    fn status(&self) -> Option<tokio::sync::watch::Receiver<ChannelStatus>> {
        None
    }

    /// Marks messages done, in receive order, after their cases are durable. `receipts` is
    /// always a prefix of what `receive`/`receive_ready` returned that was not acked yet.
    fn ack(
        &mut self,
        receipts: Vec<Receipt>,
    ) -> impl Future<Output = Result<(), ChannelError>> + Send;
}

/// A channel's connection state as it reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelStatus {
    Connecting,
    /// Connected and able to receive (the mailbox is selected, the bot is polling, ...).
    Connected,
    /// The last attempt failed; the text is the error, safe to show (no secrets).
    Failed(String),
}

/// Where a channel keeps its position (e.g. IMAP UIDVALIDITY + highest committed UID). The
/// gateway implements it on Redis so the checkpoint survives restarts and is shared by replicas.
pub trait CheckpointStore: Send + Sync + 'static {
    fn load(&self, key: &str) -> impl Future<Output = Result<Option<String>, ChannelError>> + Send;

    fn save(&self, key: &str, value: &str)
    -> impl Future<Output = Result<(), ChannelError>> + Send;
}
