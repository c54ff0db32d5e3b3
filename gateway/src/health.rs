//! Readiness of the gateway's parts, for /readyz and for logging once per state change.
//!
//! Each part (Redis, each channel) reports its state; a change is logged once, not on every
//! retry, so a long outage does not flood the log.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use intake_channels::IngestState;
use serde::Serialize;

/// The blob store's part: down while a write fails (a full disk), up again once one succeeds.
pub const BLOBS_PART: &str = "blobs";

/// The appends themselves: down while Redis answers PING but refuses the batch in flight (OOM,
/// READONLY, a wait for replicas that does not come), up again at the next append that lands.
/// Kept apart from the Redis watcher's part, so a PING that works does not hide it.
pub const APPENDS_PART: &str = "appends";

/// The parts every message needs to become durable; push channels refuse at once while any is
/// down.
const INGEST_PARTS: &[&str] = &[crate::redis_conn::REDIS_PART, BLOBS_PART, APPENDS_PART];

/// The state of one part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PartState {
    Starting,
    Up,
    Down { error: String },
}

/// Shared, cheaply cloneable readiness registry.
#[derive(Debug, Clone, Default)]
pub struct Health {
    parts: Arc<Mutex<BTreeMap<String, PartState>>>,
    ingest: IngestState,
}

impl Health {
    pub fn new() -> Self {
        Health::default()
    }

    /// Registers a part as starting (not ready until it reports up).
    pub fn register(&self, part: &str) {
        self.lock().insert(part.to_string(), PartState::Starting);
    }

    pub fn up(&self, part: &str) {
        if self.set(part, PartState::Up) {
            tracing::info!(part, "part is up");
        }
    }

    /// Marks `part` down; logs only when the state (or the kind of error) changes.
    pub fn down(&self, part: &str, error: &str) {
        if self.set(
            part,
            PartState::Down {
                error: error.to_string(),
            },
        ) {
            tracing::warn!(part, error, "part is down");
        }
    }

    /// Whether messages can be made durable now (Redis up, blob store not failing), kept
    /// current as the parts report.
    pub fn ingest(&self) -> IngestState {
        self.ingest.clone()
    }

    /// True when every registered part is up.
    pub fn is_ready(&self) -> bool {
        self.lock().values().all(|s| *s == PartState::Up)
    }

    pub fn snapshot(&self) -> BTreeMap<String, PartState> {
        self.lock().clone()
    }

    fn set(&self, part: &str, state: PartState) -> bool {
        let mut parts = self.lock();
        let changed = parts.get(part) != Some(&state);
        let up = state == PartState::Up;
        parts.insert(part.to_string(), state);
        let ingest_up = INGEST_PARTS.iter().all(|p| {
            parts
                .get(*p)
                .is_none_or(|s| !matches!(s, PartState::Down { .. }))
        }) && parts.get(crate::redis_conn::REDIS_PART) == Some(&PartState::Up);
        self.ingest.set(ingest_up);
        metrics::gauge!("intake_part_up", "part" => part.to_string()).set(if up {
            1.0
        } else {
            0.0
        });
        changed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, PartState>> {
        // A poisoned lock only means another thread panicked mid-update of a plain map; the map
        // itself is still usable.
        self.parts.lock().unwrap_or_else(|p| p.into_inner())
    }
}
