//! The resolve stage: fills in the conversations of a prepared batch and turns its cases into
//! stream entries. It runs beside the commit of the batch before, not in it, so a batch's
//! commit is one round trip (the append, with its conversation records written beside it).
//!
//! A batch is resolved only once the records of the batch before it are written: a reply in
//! batch N+1 to a message in batch N finds N's conversation, as when the two stages ran one
//! after the other.

use std::time::{Duration, Instant};

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use intake_channels::Receipt;
use intake_normalizer::case::ChannelRef;

use super::Shutdown;
use super::pipeline::PreparedBatch;
use super::prepare::{Document, Prepared};
use crate::backoff::Backoff;
use crate::conversation::{ConversationStore, Records};
use crate::health::{APPENDS_PART, Health};
use crate::sink::Entry;

/// The writing of one batch's conversation records: true once written, false when the
/// shutdown deadline abandoned it. Awaited by that batch's commit (before its ack) and by the
/// next batch's resolve (before its lookups).
pub type Recording = Shared<BoxFuture<'static, bool>>;

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
    /// Resolves `batch` once `previous` (the records of the batch before it) is written,
    /// retrying while Redis is unavailable. None when the shutdown deadline aborted it.
    pub async fn run(
        &mut self,
        batch: PreparedBatch,
        previous: Option<Recording>,
    ) -> Option<ResolvedBatch> {
        if let Some(previous) = previous
            && !previous.await
        {
            return None;
        }
        let PreparedBatch { mut items, started } = batch;
        let records = self.resolve_conversations(&mut items).await?;
        let (entries, receipts) = items
            .into_iter()
            .map(|p| p.into_entry(&self.channel.name))
            .unzip();
        Some(ResolvedBatch {
            entries,
            receipts,
            records,
            started,
        })
    }

    /// Starts writing `records` in a task of its own, retrying while Redis is unavailable.
    pub fn record(&self, records: Records) -> Recording {
        let mut store = self.conversations.clone();
        let health = self.health.clone();
        let abort = self.shutdown.abort.clone();
        let task = tokio::spawn(async move {
            let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
            loop {
                match store.record(&records).await {
                    Ok(()) => return true,
                    Err(e) => health.down(APPENDS_PART, &e.to_string()),
                }
                if !super::sleep(backoff.next_delay(), &abort).await {
                    return false;
                }
            }
        });
        task.map(|written| written.unwrap_or(false))
            .boxed()
            .shared()
    }

    /// Fills in the conversations of the batch's cases, retrying while Redis is unavailable.
    /// Returns what to record; None when aborted by the shutdown deadline.
    async fn resolve_conversations(&mut self, prepared: &mut [Prepared]) -> Option<Records> {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        loop {
            let mut cases: Vec<_> = prepared
                .iter_mut()
                .filter_map(|p| match &mut p.document {
                    Document::Case(case) => Some(case.as_mut()),
                    Document::Json(_) => None,
                })
                .collect();
            match self.conversations.resolve(&mut cases).await {
                Ok(records) => return Some(records),
                Err(e) => self.health.down(APPENDS_PART, &e.to_string()),
            }
            if !super::sleep(backoff.next_delay(), &self.shutdown.abort).await {
                return None;
            }
        }
    }
}
