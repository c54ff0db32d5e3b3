//! An in-memory [`CheckpointStore`]: the test double for channel and gateway tests, and a
//! stand-in where losing the position on restart is acceptable.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::{ChannelError, CheckpointStore};

/// Checkpoints in a shared map. Clones share the map, so a test can hand one clone to a channel
/// and inspect or pre-seed through another.
#[derive(Debug, Clone, Default)]
pub struct MemoryCheckpointStore {
    values: Arc<Mutex<HashMap<String, String>>>,
}

impl MemoryCheckpointStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored value under `key`, if any.
    pub fn get(&self, key: &str) -> Option<String> {
        self.lock().get(key).cloned()
    }

    /// Stores `value` under `key` directly (e.g. to simulate an old checkpoint).
    pub fn set(&self, key: &str, value: &str) {
        self.lock().insert(key.to_string(), value.to_string());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding the lock cannot leave a half-written String map: recover.
        self.values
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl CheckpointStore for MemoryCheckpointStore {
    async fn load(&self, key: &str) -> Result<Option<String>, ChannelError> {
        Ok(self.get(key))
    }

    async fn save(&self, key: &str, value: &str) -> Result<(), ChannelError> {
        self.set(key, value);
        Ok(())
    }
}
