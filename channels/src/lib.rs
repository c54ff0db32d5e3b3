//! Intake's channels. Each channel pulls messages off its provider and marks them done only when
//! told to, after their cases are durable: the [`Channel`] trait is that receive/ack contract,
//! and the gateway's worker is the only caller of `ack`.

mod error;
mod inbound;
pub mod memory;

#[cfg(feature = "email")]
pub mod email;

use std::future::Future;

pub use error::ChannelError;
pub use inbound::{Inbound, Payload, Receipt, Rejection};
pub use intake_normalizer::case::ChannelKind;
pub use memory::MemoryCheckpointStore;

/// A source of customer messages with at-least-once delivery.
pub trait Channel: Send + 'static {
    fn kind(&self) -> ChannelKind;

    /// The operator's name for this channel.
    fn name(&self) -> &str;

    /// Waits for the next non-empty batch of at most `max` messages. Must not mark anything done
    /// remotely; returns the same messages again after a reconnect if they were not acked.
    fn receive(
        &mut self,
        max: usize,
    ) -> impl Future<Output = Result<Vec<Inbound>, ChannelError>> + Send;

    /// Marks messages done, in receive order, after their cases are durable. `receipts` is
    /// always a prefix of what the last `receive` returned that was not acked yet.
    fn ack(
        &mut self,
        receipts: Vec<Receipt>,
    ) -> impl Future<Output = Result<(), ChannelError>> + Send;
}

/// Where a channel keeps its position (e.g. IMAP UIDVALIDITY + highest committed UID). The
/// gateway implements it on Redis so the checkpoint survives restarts and is shared by replicas.
pub trait CheckpointStore: Send + Sync + 'static {
    fn load(&self, key: &str) -> impl Future<Output = Result<Option<String>, ChannelError>> + Send;

    fn save(&self, key: &str, value: &str)
    -> impl Future<Output = Result<(), ChannelError>> + Send;
}
