//! The channel worker: receive -> normalize -> append -> ack, the only place the invariant lives.
//!
//! A message is acknowledged on its channel only after its entry is durably in the stream. A
//! batch is appended in one round trip; if Redis fails at entry k, entries 0..k-1 are acked and
//! the worker retries from k with capped backoff, acking nothing while Redis is down. The append
//! script makes every retry safe: a message already appended returns its earlier entry id.
//!
//! The stages overlap: while batch N is appended and then acked (batch N+2 fetched meanwhile),
//! batch N+1 is normalized (`pipeline.rs`) and resolved (`resolve.rs`: one round trip that
//! writes N's conversation records and looks up N+1's, then its cases serialized). Commits and
//! acks stay in receive order. Each worker runs on a thread of its own (`thread.rs`).

mod commit;
mod pipeline;
mod prepare;
mod resolve;
mod thread;

use std::time::Duration;

use intake_channels::{Channel, ChannelError, ChannelStatus, Inbound, Receipt};
use tokio_util::sync::CancellationToken;

pub use commit::CommitStage;
pub use pipeline::{PrepareStage, PreparedBatch};
pub use prepare::{Document, PrepareContext, Prepared, channel_ref};
pub use resolve::{Recording, ResolveStage, ResolvedBatch};
pub use thread::spawn_on_own_thread;

use crate::backoff::Backoff;
use crate::conversation::ConversationStore;
use crate::health::Health;
use crate::sink::StreamSink;

/// Stop signals: `stop` ends taking new work; `abort` (the shutdown deadline) abandons the batch
/// in flight without acking it, so the channel redelivers it after a restart.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    pub stop: CancellationToken,
    pub abort: CancellationToken,
    /// Raised on a fault only a restart cures; the process then exits non-zero.
    pub fatal: crate::fatal::Fatal,
}

/// Drives one channel: commits and acks one batch and fetches the next while the batch between
/// them is prepared. After `stop` it fetches nothing new and drains what it holds.
#[derive(Debug)]
pub struct ChannelWorker<C: Channel> {
    front: Front<C>,
    preparer: PrepareStage,
    resolver: ResolveStage,
}

/// The side of the worker that talks to the channel and Redis, in receive order.
#[derive(Debug)]
struct Front<C: Channel> {
    channel: C,
    committer: CommitStage,
    batch_max: usize,
}

/// What waiting for a batch ended with.
enum Waited {
    Batch(Vec<Inbound>),
    /// The channel failed; the worker backed off and tries again.
    Failed,
    /// Stopped, or the channel is shutting down.
    Stopped,
}

/// What the commit-and-fetch half of one step ended with.
enum Step {
    /// Go on; the batch fetched ahead (possibly empty).
    Next(Vec<Inbound>),
    /// The shutdown deadline abandoned the batch in flight.
    Aborted,
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
        let channel_ref = channel_ref(channel.kind(), channel.name());
        ChannelWorker {
            preparer: PrepareStage {
                prepare,
                health: health.clone(),
                shutdown: shutdown.clone(),
            },
            resolver: ResolveStage {
                conversations,
                health: health.clone(),
                shutdown: shutdown.clone(),
                channel: channel_ref.clone(),
            },
            front: Front {
                channel,
                committer: CommitStage {
                    sink,
                    health,
                    shutdown,
                    channel: channel_ref,
                    poison_after: intake_channels::DEFAULT_POISON_AFTER,
                },
                batch_max: batch_max.max(1),
            },
        }
    }

    /// How many times one message may fail to append, the same way while Redis answers,
    /// before it is dead-lettered.
    pub fn with_poison_after(mut self, poison_after: u32) -> Self {
        self.front.committer.poison_after = poison_after.max(1);
        self
    }

    /// Runs until `shutdown.stop` is cancelled and what was received is delivered (or aborted).
    pub async fn run(self) {
        let ChannelWorker {
            mut front,
            preparer,
            mut resolver,
        } = self;
        let part = part_name(&front.channel);
        if let Some(status) = front.channel.status() {
            let health = front.committer.health.clone();
            tokio::spawn(forward_status(status, health, part.clone()));
        }
        let stop = front.committer.shutdown.stop.clone();
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        // Two batches move one stage per step: `resolved` is appended (and acked) while
        // `received` is normalized and resolved.
        let mut resolved: Option<ResolvedBatch> = None;
        let mut received: Vec<Inbound> = Vec::new();
        loop {
            if resolved.is_none() && received.is_empty() {
                if stop.is_cancelled() {
                    break;
                }
                match front.wait_for_batch(&part, &stop, &mut backoff).await {
                    Waited::Batch(batch) => received = batch,
                    Waited::Failed => continue,
                    Waited::Stopped => break,
                }
            }
            // The batch appended now has its conversation records written by the resolve of
            // the batch behind it (one round trip, sent first), and is acked once both are done.
            let previous = resolved
                .as_mut()
                .map(|batch| std::mem::take(&mut batch.records))
                .unwrap_or_default();
            let (recorded, recording) = resolve::recording();
            let committing = resolved.take().map(|batch| (batch, recording));
            let batch = std::mem::take(&mut received);
            // The resolve lane is polled first: a small batch is normalized inline and its
            // round trip sent before the append's.
            let (next_resolved, step) = tokio::join!(
                async {
                    let batch = prepare_if_any(&preparer, batch).await?;
                    resolver.run(batch, previous, recorded).await
                },
                front.commit_then_fetch(committing, &part, &stop),
            );
            match (step, next_resolved) {
                (Step::Next(fetched), Ok(next_resolved)) => {
                    received = fetched;
                    resolved = next_resolved;
                }
                (Step::Aborted, _) | (_, Err(Aborted)) => break,
            }
            // The fetch above ran when the step began; what arrived in memory since then goes
            // into the batch resolved next rather than one step later.
            if !stop.is_cancelled() && received.len() < front.batch_max {
                let room = front.batch_max - received.len();
                received.extend(front.channel.take_buffered(room));
            }
        }
        tracing::info!(channel = %front.channel.name(), "channel worker stopped");
    }
}

impl<C: Channel> Front<C> {
    /// Waits for the next non-empty batch, backing off after a channel error.
    async fn wait_for_batch(
        &mut self,
        part: &str,
        stop: &CancellationToken,
        backoff: &mut Backoff,
    ) -> Waited {
        let received = tokio::select! {
            biased;
            _ = stop.cancelled() => return Waited::Stopped,
            r = self.channel.receive(self.batch_max) => r,
        };
        match received {
            Ok(batch) => {
                self.committer.health.up(part);
                backoff.reset();
                Waited::Batch(batch)
            }
            Err(ChannelError::Shutdown) => Waited::Stopped,
            Err(e) if e.is_fatal() => {
                // Only an operator can fix it (a refused token): stop non-zero, not retry forever.
                self.channel_failed(part, &e);
                let reason = format!("channel {}: {e}", self.channel.name());
                self.committer.shutdown.fatal.raise(&reason);
                Waited::Stopped
            }
            Err(e) => {
                self.channel_failed(part, &e);
                // A channel may ask for a longer pause (a rejected login: servers lock accounts
                // after repeated failures).
                let delay = backoff
                    .next_delay()
                    .max(e.retry_floor().unwrap_or_default());
                match sleep(delay, stop).await {
                    true => Waited::Failed,
                    false => Waited::Stopped,
                }
            }
        }
    }

    /// Commits `batch` (if any) while fetching what is already waiting (unless stopped), then
    /// acks the batch. Uses only the channel and the commit stage, so it can run
    /// beside a prepare; the commit (Redis) and the fetch (the channel) overlap too.
    async fn commit_then_fetch(
        &mut self,
        batch: Option<(ResolvedBatch, Recording)>,
        part: &str,
        stop: &CancellationToken,
    ) -> Step {
        let Front {
            channel,
            committer,
            batch_max,
        } = self;
        let commit = async {
            match batch {
                Some((batch, recording)) => committer.run(batch, recording).await.map(Some),
                None => Some(None),
            }
        };
        let fetch = async {
            if stop.is_cancelled() {
                return Ok(Vec::new());
            }
            channel.receive_ready(*batch_max).await
        };
        let (committed, fetched) = tokio::join!(commit, fetch);
        let fetched = fetched.unwrap_or_else(|e| {
            self.channel_failed(part, &e);
            Vec::new()
        });
        match committed {
            // Abandoned at the shutdown deadline: nothing is acked, the channel redelivers.
            None => Step::Aborted,
            Some(receipts) => {
                if let Some(receipts) = receipts {
                    self.ack(receipts, part).await;
                }
                Step::Next(fetched)
            }
        }
    }

    async fn ack(&mut self, receipts: Vec<Receipt>, part: &str) {
        if let Err(e) = self.channel.ack(receipts).await {
            // The channel redelivers what it could not mark after reconnecting; the sink
            // dedupes it. Batches fetched ahead are still delivered: dropping them would lose
            // them for as long as the connection lasts (a channel hands each message out once
            // per connection), e.g. when only the checkpoint save failed.
            tracing::warn!(channel = %self.channel.name(), error = %e, "ack failed; messages will be redelivered");
            self.channel_failed(part, &e);
        }
    }

    fn channel_failed(&self, part: &str, error: &ChannelError) {
        self.committer.health.down(part, &error.to_string());
        metrics::counter!("intake_channel_errors_total", "channel" => self.channel.name().to_string(), "kind" => error.kind()).increment(1);
    }
}

/// The shutdown deadline abandoned a batch being prepared or resolved.
struct Aborted;

/// Prepares `batch` unless it is empty.
async fn prepare_if_any(
    preparer: &PrepareStage,
    batch: Vec<Inbound>,
) -> Result<Option<PreparedBatch>, Aborted> {
    if batch.is_empty() {
        return Ok(None);
    }
    preparer.run(batch).await.map(Some).ok_or(Aborted)
}

/// Sleeps unless `token` is cancelled first; false when cancelled.
async fn sleep(delay: Duration, token: &CancellationToken) -> bool {
    tokio::select! {
        _ = token.cancelled() => false,
        _ = tokio::time::sleep(delay) => true,
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
