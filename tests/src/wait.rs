//! Polling helpers: end-to-end tests wait for effects that happen in other processes.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Polls `condition` every `poll` until it returns true; errors after `timeout`.
///
/// The condition is checked once more at the deadline so a slow last poll is not wasted.
pub async fn wait_until<F, Fut>(
    timeout: Duration,
    poll: Duration,
    mut condition: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for(timeout, poll, || {
        let check = condition();
        async move { check.await.then_some(()) }
    })
    .await
}

/// Polls `probe` every `poll` until it yields `Some(value)`; errors after `timeout`.
pub async fn wait_for<T, F, Fut>(
    timeout: Duration,
    poll: Duration,
    mut probe: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return Ok(value);
        }
        let now = Instant::now();
        if now >= deadline {
            anyhow::bail!("condition not met within {timeout:?}");
        }
        tokio::time::sleep(poll.min(deadline - now)).await;
    }
}
