//! The two stages between a received batch and its acknowledgement, apart from the channel:
//! [`PrepareStage`] normalizes a batch on the blocking pool; [`CommitStage`] resolves its
//! conversations and appends it with retries. They are separate so the worker can prepare one
//! batch (CPU) while the previous one is committed to Redis and acked (round trips).

use std::time::{Duration, Instant};

use intake_channels::{Inbound, Receipt};

use super::Shutdown;
use super::prepare::{self, Document, PrepareContext, Prepared};
use crate::backoff::Backoff;
use crate::conversation::ConversationStore;
use crate::health::{BLOBS_PART, Health};
use crate::sink::{AppendOutcome, SinkError, StreamSink};

/// A batch ready to commit, in receive order.
#[derive(Debug)]
pub struct PreparedBatch {
    items: Vec<Prepared>,
    /// When its preparation began: `intake_batch_seconds` spans prepare to durable.
    started: Instant,
}

/// Normalizes batches and stores their blobs.
#[derive(Debug)]
pub struct PrepareStage {
    pub prepare: PrepareContext,
    pub health: Health,
    pub shutdown: Shutdown,
}

/// Makes prepared batches durable in the streams.
#[derive(Debug)]
pub struct CommitStage {
    pub sink: StreamSink,
    pub conversations: ConversationStore,
    pub health: Health,
    pub shutdown: Shutdown,
    pub channel_name: String,
}

impl PrepareStage {
    /// Normalizes the batch on blocking threads, one chunk per core, keeping receive order.
    /// Retries blob-store failures with backoff; None when the shutdown deadline aborted it.
    pub async fn run(&self, batch: Vec<Inbound>) -> Option<PreparedBatch> {
        let started = Instant::now();
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        let mut batch = Some(batch);
        loop {
            let items = batch.take()?;
            match prepare_parallel(items, &self.prepare).await {
                Ok(items) => {
                    self.health.up(BLOBS_PART);
                    return Some(PreparedBatch { items, started });
                }
                Err((items, e)) => {
                    self.health.down(BLOBS_PART, &e);
                    batch = Some(items?);
                    if !super::sleep(backoff.next_delay(), &self.shutdown.abort).await {
                        return None;
                    }
                }
            }
        }
    }
}

impl CommitStage {
    /// Makes every message of `batch` durable in the streams, retrying while Redis fails.
    /// Returns the receipts to ack, in receive order; None when the shutdown deadline abandoned
    /// the batch (nothing is acked: the channel redelivers it).
    pub async fn run(&mut self, batch: PreparedBatch) -> Option<Vec<Receipt>> {
        let PreparedBatch {
            items: mut prepared,
            started,
        } = batch;
        if !self.resolve_conversations(&mut prepared).await {
            return None;
        }
        let channel = self.channel_name.clone();
        let (entries, receipts): (Vec<_>, Vec<_>) =
            prepared.into_iter().map(|p| p.into_entry(&channel)).unzip();
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let mut committed = 0;
        loop {
            // Only the entries not yet committed are sent again; the script dedupes anyway.
            match self.sink.append(&entries[committed..]).await {
                Ok(results) => {
                    self.health.up("redis");
                    let now = self.count_committed(&results);
                    if now > 0 {
                        backoff.reset();
                    }
                    committed += now;
                }
                Err(e) => self.health.down("redis", &e.to_string()),
            }
            if committed == entries.len() {
                metrics::histogram!("intake_batch_seconds", "channel" => self.channel_name.clone())
                    .record(started.elapsed().as_secs_f64());
                return Some(receipts);
            }
            if !super::sleep(backoff.next_delay(), &self.shutdown.abort).await {
                tracing::warn!(channel = %self.channel_name, unacked = receipts.len(), "shutdown deadline reached; unacked messages will be redelivered");
                return None;
            }
        }
    }

    /// Fills in the conversations of the batch's cases, retrying while Redis is unavailable.
    /// False when aborted by the shutdown deadline.
    async fn resolve_conversations(&mut self, prepared: &mut [Prepared]) -> bool {
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
                Ok(()) => return true,
                Err(e) => self.health.down("redis", &e.to_string()),
            }
            if !super::sleep(backoff.next_delay(), &self.shutdown.abort).await {
                return false;
            }
        }
    }

    fn count_committed(&self, results: &[Result<AppendOutcome, SinkError>]) -> usize {
        let mut committed = 0;
        for result in results {
            let outcome = match result {
                Ok(AppendOutcome::Appended(_)) => "appended",
                Ok(AppendOutcome::Duplicate(_)) => "duplicate",
                Err(e) => {
                    self.health.down("redis", &e.to_string());
                    break;
                }
            };
            metrics::counter!("intake_appends_total", "channel" => self.channel_name.clone(), "outcome" => outcome).increment(1);
            committed += 1;
        }
        committed
    }
}

/// Splits `items` into one chunk per core and prepares them on the blocking pool. On failure
/// the items are handed back in order for a retry (None when they could not be).
async fn prepare_parallel(
    items: Vec<Inbound>,
    ctx: &PrepareContext,
) -> Result<Vec<Prepared>, (Option<Vec<Inbound>>, String)> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk_len = items.len().div_ceil(cores).max(1);
    let mut chunks = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let tail = rest.split_off(chunk_len.min(rest.len()));
        chunks.push(std::mem::replace(&mut rest, tail));
    }
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let ctx = ctx.clone();
            tokio::task::spawn_blocking(move || {
                let result = prepare::prepare_all(&chunk, &ctx);
                (chunk, result)
            })
        })
        .collect();
    let mut prepared = Vec::new();
    let mut returned = Some(Vec::new());
    let mut failure = None;
    for handle in handles {
        match handle.await {
            Ok((chunk, Ok(done))) => {
                prepared.extend(done);
                if let Some(r) = returned.as_mut() {
                    r.extend(chunk);
                }
            }
            Ok((chunk, Err(e))) => {
                failure = Some(e.to_string());
                if let Some(r) = returned.as_mut() {
                    r.extend(chunk);
                }
            }
            // prepare_all catches the normalizer's panics; a join error means the runtime is
            // shutting down. The chunk is gone, so the batch cannot be retried in order: give
            // it up unacked and let the channel redeliver it.
            Err(e) => {
                failure = Some(format!("prepare task failed: {e}"));
                returned = None;
            }
        }
    }
    match failure {
        None => Ok(prepared),
        Some(e) => Err((returned, e)),
    }
}
