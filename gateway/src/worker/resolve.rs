//! The resolve stage: fills in the conversations of a prepared batch and turns its cases into
//! stream entries, in one round trip that also writes the conversation records of the batch
//! resolved before it (`ConversationStore::record_and_resolve`).
//!
//! It runs beside the append of that batch before, and its round trip is sent first: Redis runs
//! the records, then the lookups, then the append, so a reply in batch N+1 to a message in
//! batch N finds N's conversation, and N+1's lookups do not queue behind N's script (their
//! replies may still come back with the script's: Redis answers what it read in one go).

use std::time::{Duration, Instant};

use intake_channels::Receipt;
use intake_normalizer::case::ChannelRef;
use tokio::sync::oneshot;

use super::Shutdown;
use super::pipeline::PreparedBatch;
use super::prepare::Document;
use crate::backoff::Backoff;
use crate::conversation::{ConversationStore, Records};
use crate::health::{APPENDS_PART, Health};
use crate::sink::Entry;

/// The writing of one batch's conversation records: true once written; false, or dropped
/// unsent, when the step was aborted. Awaited by that batch's commit before its ack.
pub type Recording = oneshot::Receiver<bool>;

/// Where the resolve stage reports that the records it was given are written.
#[derive(Debug)]
pub struct Recorded(oneshot::Sender<bool>);

/// A pair: the resolve stage reports through the first, the commit awaits the second.
pub fn recording() -> (Recorded, Recording) {
    let (tx, rx) = oneshot::channel();
    (Recorded(tx), rx)
}

/// A batch ready to append, in receive order.
#[derive(Debug)]
pub struct ResolvedBatch {
    pub(super) entries: Vec<Entry>,
    pub(super) receipts: Vec<Receipt>,
    /// To write while the batch is appended.
    pub(super) records: Records,
    /// When its preparation began: `intake_batch_seconds` spans prepare to durable.
    pub(super) started: Instant,
}

/// Resolves conversations and serializes the cases of prepared batches.
#[derive(Debug)]
pub struct ResolveStage {
    pub conversations: ConversationStore,
    pub health: Health,
    pub shutdown: Shutdown,
    pub channel: ChannelRef,
}

impl ResolveStage {
    /// Writes `previous` (the records of the batch before, reporting through `recorded`) and
    /// resolves `batch`, retrying while Redis is unavailable. Err when the shutdown deadline
    /// aborted it.
    pub(super) async fn run(
        &mut self,
        batch: Option<PreparedBatch>,
        previous: Records,
        recorded: Recorded,
    ) -> Result<Option<ResolvedBatch>, super::Aborted> {
        let (mut items, started) = match batch {
            Some(PreparedBatch { items, started }) => (items, Some(started)),
            None => (Vec::new(), None),
        };
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let records = loop {
            let mut cases: Vec<_> = items
                .iter_mut()
                .filter_map(|p| match &mut p.document {
                    Document::Case(case) => Some(case.as_mut()),
                    Document::Json(_) => None,
                })
                .collect();
            match self
                .conversations
                .record_and_resolve(&previous, &mut cases)
                .await
            {
                Ok(records) => break records,
                Err(e) => self.health.down(APPENDS_PART, &e.to_string()),
            }
            if !super::sleep(backoff.next_delay(), &self.shutdown.abort).await {
                let _ = recorded.0.send(false);
                return Err(super::Aborted);
            }
        };
        let _ = recorded.0.send(true);
        let Some(started) = started else {
            return Ok(None);
        };
        let (entries, receipts) = items
            .into_iter()
            .map(|p| p.into_entry(&self.channel.name))
            .unzip();
        Ok(Some(ResolvedBatch {
            entries,
            receipts,
            records,
            started,
        }))
    }
}
