//! How the gateway builds a channel: one `build` function per kind takes the kind's config and
//! a [`BuildContext`] and returns a [`Built`] (the channel, its normalizer, its HTTP routes).
//! The gateway's registry calls them; nothing else in the gateway names a kind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::CancellationToken;

use crate::{Channel, CheckpointStore, Normalize, SharedPolicy};

/// What the gateway hands every channel it builds.
#[derive(Debug, Clone)]
pub struct BuildContext<S: CheckpointStore + Clone> {
    /// Where pull and stream channels keep their position (Redis in the gateway).
    pub checkpoints: S,
    /// Cancelled when the gateway stops taking new work.
    pub stop: CancellationToken,
    pub policy: Arc<SharedPolicy>,
    /// Whether appends can succeed right now: push channels refuse at once while it is down.
    pub ingest: IngestState,
}

/// A channel ready to run: the worker drives `channel`, the prepare threads call
/// `normalizer`, and the HTTP server mounts `routes` at `/webhooks/<channel name>`.
#[derive(Debug)]
pub struct Built<C: Channel> {
    pub channel: C,
    pub normalizer: Arc<dyn Normalize>,
    pub routes: Option<axum::Router>,
    /// The most messages the worker takes in one batch.
    pub batch_max: usize,
    /// How many times one message may fail to append, the same way while others succeed,
    /// before it is dead-lettered (`poison_after`).
    pub poison_after: u32,
}

/// `poison_after` when a channel's config does not say.
pub const DEFAULT_POISON_AFTER: u32 = 5;

/// Whether the gateway can make messages durable now (Redis reachable, blob store writable).
/// The gateway sets it from its health registry; push handlers read it to answer 503 at once
/// instead of queueing work that cannot complete.
#[derive(Debug, Clone, Default)]
pub struct IngestState(Arc<AtomicBool>);

impl IngestState {
    /// A new state, down until told otherwise.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_up(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self, up: bool) {
        self.0.store(up, Ordering::Relaxed);
    }
}
