//! The channel worker: receive -> normalize -> append -> ack, the only place the invariant lives.
//!
//! A message is acknowledged on its channel only after its entry is durably in the stream. A
//! batch is appended in one round trip; if Redis fails at entry k, entries 0..k-1 are acked and
//! the worker retries from k with capped backoff, acking nothing while Redis is down. The append
//! script makes every retry safe: a message already appended returns its earlier entry id.

mod pipeline;
mod prepare;

use std::time::Duration;

use intake_channels::{Channel, ChannelError, ChannelStatus};
use tokio_util::sync::CancellationToken;

pub use pipeline::Pipeline;
pub use prepare::{Document, EmailPolicy, PrepareContext, Prepared, channel_ref};

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
}

/// Drives one channel: receives a batch, delivers it through the [`Pipeline`] while fetching
/// the next batch (what is available now, without waiting), then acks the delivered one.
#[derive(Debug)]
pub struct ChannelWorker<C: Channel> {
    channel: C,
    pipeline: Pipeline,
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
        let channel_name = channel.name().to_string();
        ChannelWorker {
            channel,
            pipeline: Pipeline {
                sink,
                conversations,
                prepare,
                health,
                shutdown,
                channel_name,
            },
            batch_max: batch_max.max(1),
        }
    }

    /// Runs until `shutdown.stop` is cancelled and the batch in flight is done (or aborted).
    pub async fn run(mut self) {
        let part = part_name(&self.channel);
        if let Some(status) = self.channel.status() {
            tokio::spawn(forward_status(
                status,
                self.pipeline.health.clone(),
                part.clone(),
            ));
        }
        let stop = self.pipeline.shutdown.stop.clone();
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        let mut prefetched = Vec::new();
        loop {
            let batch = if prefetched.is_empty() {
                let received = tokio::select! {
                    biased;
                    _ = stop.cancelled() => break,
                    r = self.channel.receive(self.batch_max) => r,
                };
                match received {
                    Ok(batch) => {
                        self.pipeline.health.up(&part);
                        backoff.reset();
                        batch
                    }
                    Err(ChannelError::Shutdown) => break,
                    Err(e) => {
                        self.channel_failed(&part, &e);
                        if !sleep(backoff.next_delay(), &stop).await {
                            break;
                        }
                        continue;
                    }
                }
            } else {
                std::mem::take(&mut prefetched)
            };
            // Deliver this batch while the channel fetches what is already waiting: the IMAP
            // round trips overlap the parsing instead of following it.
            let prefetch = async {
                if stop.is_cancelled() {
                    return Ok(Vec::new());
                }
                self.channel.receive_ready(self.batch_max).await
            };
            let (delivered, next) = tokio::join!(self.pipeline.deliver(batch), prefetch);
            match next {
                Ok(next) => prefetched = next,
                Err(e) => self.channel_failed(&part, &e),
            }
            let Some(receipts) = delivered else { break };
            if let Err(e) = self.channel.ack(receipts).await {
                // The channel redelivers what it could not mark after reconnecting; the sink
                // dedupes it. The prefetched batch is still delivered: dropping it would lose
                // it for as long as the connection lasts (a channel hands each message out
                // once per connection), e.g. when only the checkpoint save failed.
                tracing::warn!(channel = %self.channel.name(), error = %e, "ack failed; messages will be redelivered");
                self.channel_failed(&part, &e);
            }
            if stop.is_cancelled() {
                break;
            }
        }
        tracing::info!(channel = %self.channel.name(), "channel worker stopped");
    }

    fn channel_failed(&self, part: &str, error: &ChannelError) {
        self.pipeline.health.down(part, &error.to_string());
        metrics::counter!("intake_channel_errors_total", "channel" => self.channel.name().to_string(), "kind" => error.kind()).increment(1);
    }
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
