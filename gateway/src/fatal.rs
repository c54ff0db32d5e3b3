//! Faults that only a restart cures: a blob store whose fsync failed cannot know which of its
//! recent writes survived, so it refuses all writes, and the process must exit non-zero for its
//! supervisor to restart it (the channels then redeliver whatever was not acked).

use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

/// Raised once by whichever part hits the fault; the runtime waits on it.
#[derive(Debug, Clone, Default)]
pub struct Fatal {
    raised: CancellationToken,
    reason: Arc<Mutex<Option<String>>>,
}

impl Fatal {
    /// Records `reason` (the first one wins) and wakes whoever waits in [`Fatal::raised`].
    pub fn raise(&self, reason: &str) {
        let mut held = self.reason.lock().unwrap_or_else(PoisonError::into_inner);
        if held.is_none() {
            *held = Some(reason.to_string());
        }
        self.raised.cancel();
    }

    /// Resolves with the reason once raised.
    pub async fn raised(&self) -> String {
        self.raised.cancelled().await;
        self.reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_default()
    }
}
