//! Readiness of the gateway's parts, for /readyz and for logging once per state change.
//!
//! Each part (Redis, each channel) reports its state; a change is logged once, not on every
//! retry, so a long outage does not flood the log.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

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
