//! The prepare stage: normalizes a received batch and stores its blobs: a small batch right on
//! the worker's own thread, a large one on the blocking pool, one chunk per core. It is apart
//! from the commit stage (`commit.rs`) so the worker can prepare one batch (CPU) while the
//! previous one is committed to Redis and acked (round trips).

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
    /// Normalizes the batch (see the module docs), keeping receive order. Retries blob-store
    /// failures with backoff; None when the shutdown deadline aborted it.
    pub async fn run(&self, batch: Vec<Inbound>) -> Option<PreparedBatch> {
        let started = Instant::now();
        // A full disk clears when an operator frees space: look again every few seconds.
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        let mut batch = Some(batch);
        loop {
            let items = batch.take()?;
            let prepared = if is_small(&items) {
                prepare_inline(items, &self.prepare).await
            } else {
                prepare_parallel(items, &self.prepare).await
            };
            match prepared {
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

/// What preparing a batch gave: the prepared items, or the reason it failed and the items
/// handed back in order for a retry (None when they could not be).
type Outcome = Result<Vec<Prepared>, (Option<Vec<Inbound>>, String)>;

/// Prepares a small batch on the calling thread: its work is smaller than handing it to the
/// blocking pool and waking the worker again, and the worker has its thread to itself. Only
/// syncing the blobs it refers to (an fsync can take milliseconds) goes to the blocking pool,
/// so the append beside it is not held up; a batch without blobs needs no sync.
async fn prepare_inline(items: Vec<Inbound>, ctx: &PrepareContext) -> Outcome {
    let (prepared, refers_to_blobs) = match prepare::prepare_unsynced(&items, ctx) {
        Ok(done) => done,
        Err(e) => return Err((Some(items), e.to_string())),
    };
    if refers_to_blobs {
        let blobs = ctx.blobs.clone();
        let synced = match tokio::task::spawn_blocking(move || blobs.sync()).await {
            Ok(synced) => synced.map_err(|e| e.to_string()),
            Err(e) => Err(format!("blob sync task failed: {e}")),
        };
        if let Err(e) = synced {
            return Err((Some(items), e));
        }
    }
    Ok(prepared)
}

/// Splits `items` into one chunk per core and prepares them on the blocking pool.
async fn prepare_parallel(items: Vec<Inbound>, ctx: &PrepareContext) -> Outcome {
    let chunk_len = items.len().div_ceil(cores()).max(1);
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

/// Below this many payload bytes a batch is small (a push batch of form posts is a few
/// kilobytes; a mailbox's batch is megabytes) and is prepared inline.
const SMALL_BATCH_BYTES: usize = 64 * 1024;

/// Whether `items` carry less than [`SMALL_BATCH_BYTES`] of payload.
fn is_small(items: &[Inbound]) -> bool {
    let bytes: usize = items
        .iter()
        .map(|item| match &item.payload {
            intake_channels::Payload::Wire(wire) => wire.bytes.len(),
            intake_channels::Payload::Rejected(_) => 0,
        })
        .sum();
    bytes < SMALL_BATCH_BYTES
}

/// The cores this process may use, read once: `available_parallelism` reads the cgroup files
/// on every call, which the push bench measured at 4% of Intake's CPU when asked per batch.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;

    use intake_channels::email::EmailNormalizer;
    use intake_channels::{ChannelKind, Payload, Receipt, Wire};

    use super::*;
    use crate::blobs::BlobStore;

    fn inbound() -> Inbound {
        Inbound {
            idempotency_keys: vec!["test:1".into()],
            lookup_keys: 1,
            received_at: "2026-11-30T10:00:00Z".into(),
            payload: Payload::Wire(Wire {
                bytes: b"From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n".to_vec(),
                ..Wire::default()
            }),
            receipt: Receipt(1),
        }
    }

    /// An email prepare stage over `blobs`.
    fn stage(blobs: BlobStore, shutdown: &Shutdown) -> PrepareStage {
        PrepareStage {
            prepare: PrepareContext {
                channel: super::super::channel_ref(ChannelKind::Email, "support"),
                blobs,
                normalizer: Arc::new(EmailNormalizer {
                    authserv_id: None,
                    shared: Arc::default(),
                }),
            },
            health: Health::new(),
            shutdown: shutdown.clone(),
        }
    }

    #[tokio::test]
    async fn a_store_whose_sync_failed_raises_the_fatal_signal() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::new(dir.path());
        blobs.ensure_root().unwrap();
        blobs.fail_as_if_synced_badly();
        let shutdown = Shutdown::default();
        let stage = stage(blobs, &shutdown);
        let fatal = shutdown.fatal.clone();
        let running = tokio::spawn(async move { stage.run(vec![inbound()]).await.is_some() });
        let reason = tokio::time::timeout(Duration::from_secs(5), fatal.raised())
            .await
            .expect("the fatal signal is raised");
        assert!(reason.contains("failed to sync"), "{reason}");
        shutdown.abort.cancel();
        assert!(!running.await.unwrap(), "nothing prepared, nothing to ack");
    }

    #[tokio::test]
    async fn a_healthy_store_prepares_and_raises_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::new(dir.path());
        blobs.ensure_root().unwrap();
        let shutdown = Shutdown::default();
        let stage = stage(blobs, &shutdown);
        let batch = stage.run(vec![inbound()]).await.expect("prepared");
        assert_eq!(batch.items.len(), 1);
        let raised =
            tokio::time::timeout(Duration::from_millis(100), shutdown.fatal.raised()).await;
        assert!(raised.is_err(), "no fatal fault on a healthy store");
    }
}
