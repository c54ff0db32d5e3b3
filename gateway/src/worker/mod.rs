//! The channel worker: receive -> normalize -> append -> ack, the only place the invariant lives.
//!
//! A message is acknowledged on its channel only after its entry is durably in the stream. A
//! batch is appended in one round trip; if Redis fails at entry k, entries 0..k-1 are acked and
//! the worker retries from k with capped backoff, acking nothing while Redis is down. The append
//! script makes every retry safe: a message already appended returns its earlier entry id.

mod prepare;

use std::time::Duration;

use intake_channels::{Channel, ChannelError, ChannelStatus, Inbound};
use tokio_util::sync::CancellationToken;

pub use prepare::{Document, EmailPolicy, PrepareContext, Prepared, channel_ref};

use crate::backoff::Backoff;
use crate::conversation::ConversationStore;
use crate::health::Health;
use crate::sink::{AppendOutcome, SinkError, StreamSink};

/// Stop signals: `stop` ends taking new work; `abort` (the shutdown deadline) abandons the batch
/// in flight without acking it, so the channel redelivers it after a restart.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    pub stop: CancellationToken,
    pub abort: CancellationToken,
}

/// Drives one channel.
#[derive(Debug)]
pub struct ChannelWorker<C: Channel> {
    channel: C,
    sink: StreamSink,
    conversations: ConversationStore,
    prepare: PrepareContext,
    health: Health,
    shutdown: Shutdown,
    batch_max: usize,
}

impl<C: Channel> ChannelWorker<C> {
    pub fn new(
        channel: C,
        sink: StreamSink,
        conversations: ConversationStore,
        prepare: PrepareContext,
        health: Health,
        shutdown: Shutdown,
        batch_max: usize,
    ) -> Self {
        health.register(&part_name(&channel));
        ChannelWorker {
            channel,
            sink,
            conversations,
            prepare,
            health,
            shutdown,
            batch_max: batch_max.max(1),
        }
    }

    /// Runs until `shutdown.stop` is cancelled and the batch in flight is done (or aborted).
    pub async fn run(mut self) {
        let part = part_name(&self.channel);
        if let Some(status) = self.channel.status() {
            tokio::spawn(forward_status(status, self.health.clone(), part.clone()));
        }
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        loop {
            let received = tokio::select! {
                biased;
                _ = self.shutdown.stop.cancelled() => break,
                r = self.channel.receive(self.batch_max) => r,
            };
            let batch = match received {
                Ok(batch) => {
                    self.health.up(&part);
                    backoff.reset();
                    batch
                }
                Err(ChannelError::Shutdown) => break,
                Err(e) => {
                    self.health.down(&part, &e.to_string());
                    metrics::counter!("intake_channel_errors_total", "channel" => self.channel.name().to_string(), "kind" => e.kind()).increment(1);
                    if !self
                        .sleep(backoff.next_delay(), &self.shutdown.stop.clone())
                        .await
                    {
                        break;
                    }
                    continue;
                }
            };
            if !self.process(batch).await {
                break;
            }
        }
        tracing::info!(channel = %self.channel.name(), "channel worker stopped");
    }

    /// Appends and acks one batch. Returns false when aborted by the shutdown deadline.
    async fn process(&mut self, batch: Vec<Inbound>) -> bool {
        let Some(mut prepared) = self.prepare_batch(batch).await else {
            return false;
        };
        if !self.resolve_conversations(&mut prepared).await {
            return false;
        }
        let channel = self.channel.name().to_string();
        let (mut entries, mut receipts): (Vec<_>, Vec<_>) =
            prepared.into_iter().map(|p| p.into_entry(&channel)).unzip();
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        while !entries.is_empty() {
            let committed = match self.sink.append(&entries).await {
                Ok(results) => {
                    self.health.up("redis");
                    self.count_committed(&results)
                }
                Err(e) => {
                    self.health.down("redis", &e.to_string());
                    0
                }
            };
            if committed > 0 {
                entries.drain(..committed);
                let done: Vec<_> = receipts.drain(..committed).collect();
                if let Err(e) = self.channel.ack(done).await {
                    // The channel redelivers what it could not mark; the sink dedupes it.
                    tracing::warn!(channel = %self.channel.name(), error = %e, "ack failed; messages will be redelivered");
                    self.health.down(&part_name(&self.channel), &e.to_string());
                    return true;
                }
                backoff.reset();
            }
            if !entries.is_empty()
                && !self
                    .sleep(backoff.next_delay(), &self.shutdown.abort.clone())
                    .await
            {
                tracing::warn!(channel = %self.channel.name(), unacked = entries.len(), "shutdown deadline reached; unacked messages will be redelivered");
                return false;
            }
        }
        true
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
            if !self
                .sleep(backoff.next_delay(), &self.shutdown.abort.clone())
                .await
            {
                return false;
            }
        }
    }

    /// Normalizes the batch on blocking threads, one chunk per core, keeping receive order.
    /// Retries blob-store failures with backoff; None when aborted.
    async fn prepare_batch(&self, batch: Vec<Inbound>) -> Option<Vec<Prepared>> {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        let mut batch = Some(batch);
        loop {
            let items = batch.take()?;
            match prepare_parallel(items, &self.prepare).await {
                Ok(prepared) => return Some(prepared),
                Err((items, e)) => {
                    self.health.down("blobs", &e);
                    batch = Some(items?);
                    if !self
                        .sleep(backoff.next_delay(), &self.shutdown.abort.clone())
                        .await
                    {
                        return None;
                    }
                }
            }
        }
    }

    fn count_committed(&self, results: &[Result<AppendOutcome, SinkError>]) -> usize {
        let channel = self.channel.name().to_string();
        let mut committed = 0;
        for result in results {
            match result {
                Ok(AppendOutcome::Appended(_)) => {
                    metrics::counter!("intake_appends_total", "channel" => channel.clone(), "outcome" => "appended").increment(1);
                }
                Ok(AppendOutcome::Duplicate(_)) => {
                    metrics::counter!("intake_appends_total", "channel" => channel.clone(), "outcome" => "duplicate").increment(1);
                }
                Err(e) => {
                    self.health.down("redis", &e.to_string());
                    break;
                }
            }
            committed += 1;
        }
        committed
    }

    /// Sleeps unless `token` is cancelled first; false when cancelled.
    async fn sleep(&self, delay: Duration, token: &CancellationToken) -> bool {
        tokio::select! {
            _ = token.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }
}

/// Mirrors the channel's own connection reports into the health registry until the channel is
/// dropped.
async fn forward_status(
    mut status: tokio::sync::watch::Receiver<ChannelStatus>,
    health: Health,
    part: String,
) {
    loop {
        let current = status.borrow_and_update().clone();
        match current {
            ChannelStatus::Connected => health.up(&part),
            ChannelStatus::Failed(error) => health.down(&part, &error),
            ChannelStatus::Connecting => {}
        }
        if status.changed().await.is_err() {
            return;
        }
    }
}

fn part_name<C: Channel>(channel: &C) -> String {
    format!("channel:{}", channel.name())
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
