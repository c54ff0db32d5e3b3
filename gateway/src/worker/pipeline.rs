//! The prepare stage: normalizes a received batch on the blocking pool and stores its blobs.
//! It is apart from the commit stage (`commit.rs`) so the worker can prepare one batch (CPU)
//! while the previous one is committed to Redis and acked (round trips).

use std::time::{Duration, Instant};

use intake_channels::Inbound;

use super::Shutdown;
use super::prepare::{self, PrepareContext, Prepared};
use crate::backoff::Backoff;
use crate::health::{BLOBS_PART, Health};

/// A batch ready to commit, in receive order.
#[derive(Debug)]
pub struct PreparedBatch {
    pub(super) items: Vec<Prepared>,
    /// When its preparation began: `intake_batch_seconds` spans prepare to durable.
    pub(super) started: Instant,
}

/// Normalizes batches and stores their blobs.
#[derive(Debug)]
pub struct PrepareStage {
    pub prepare: PrepareContext,
    pub health: Health,
    pub shutdown: Shutdown,
}

impl PrepareStage {
    /// Normalizes the batch on blocking threads, one chunk per core, keeping receive order.
    /// Retries blob-store failures with backoff; None when the shutdown deadline aborted it.
    pub async fn run(&self, batch: Vec<Inbound>) -> Option<PreparedBatch> {
        let started = Instant::now();
        // A full disk clears when an operator frees space: look again every few seconds.
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
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
                    if self.prepare.blobs.is_failed() {
                        self.shutdown.fatal.raise(&e);
                    }
                    batch = Some(items?);
                    if !super::sleep(backoff.next_delay(), &self.shutdown.abort).await {
                        return None;
                    }
                }
            }
        }
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
