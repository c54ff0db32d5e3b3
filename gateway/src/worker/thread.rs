//! Each channel worker runs on an OS thread of its own, in a single-threaded runtime with its
//! own Redis connection. A worker's batches move in a chain of round trips (resolve, append,
//! ack); on a runtime shared with the HTTP server, every reply waited in the run queue behind
//! webhook requests, and the push bench's steps were half waiting. On its own thread the
//! chain runs as soon as Redis answers, and a small batch can be normalized right there
//! instead of on the blocking pool (`pipeline.rs`).
//!
//! The worker is still a task of the caller's `JoinSet`: a proxy task there ends when the
//! worker ends, passes its panic on, and aborting the proxy aborts the worker.

use std::future::Future;
use std::panic;

use tokio::sync::oneshot;
use tokio::task::{AbortHandle, JoinSet};

/// Runs `worker` on a new thread named after `channel`, tracked in `set` as described above.
/// Fails only when the OS refuses a thread or the runtime's resources.
pub fn spawn_on_own_thread<F>(
    set: &mut JoinSet<()>,
    channel: &str,
    worker: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Dropped when the worker ends in any way (done, panicked, aborted): the thread then stops.
    let (ended_tx, ended) = oneshot::channel::<()>();
    let task = runtime.spawn(async move {
        let _ended = ended_tx;
        worker.await;
    });
    let abort = AbortOnDrop(task.abort_handle());
    std::thread::Builder::new()
        .name(thread_name(channel))
        .spawn(move || {
            let _ = runtime.block_on(ended);
            // Blocking tasks still running (a normalization at the shutdown deadline) are not
            // waited for: their batch is unacked and will be redelivered.
            runtime.shutdown_background();
        })?;
    set.spawn(async move {
        let _abort = abort;
        if let Err(e) = task.await
            && e.is_panic()
        {
            panic::resume_unwind(e.into_panic());
        }
    });
    Ok(())
}

/// Aborts the worker when the proxy task is dropped (aborted, or its `JoinSet` dropped).
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `intake-<channel>`, as `top -H` and debuggers show it (Linux keeps 15 bytes). Channel names
/// are validated as ASCII letters, digits, `-` and `_`; anything else is dropped so a name can
/// never make the spawn fail.
fn thread_name(channel: &str) -> String {
    let safe: String = channel
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("intake-{safe}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn the_worker_runs_on_its_own_named_thread_and_its_end_is_seen() {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel();
        spawn_on_own_thread(&mut set, "support", async move {
            let name = std::thread::current().name().map(str::to_string);
            tx.send(name).unwrap();
        })
        .unwrap();
        assert_eq!(rx.await.unwrap().as_deref(), Some("intake-support"));
        let joined = tokio::time::timeout(Duration::from_secs(5), set.join_next()).await;
        assert!(matches!(joined, Ok(Some(Ok(())))));
    }

    #[tokio::test]
    async fn a_panic_in_the_worker_is_a_panic_of_its_task() {
        let mut set = JoinSet::new();
        spawn_on_own_thread(&mut set, "support", async { panic!("boom") }).unwrap();
        let joined = tokio::time::timeout(Duration::from_secs(5), set.join_next())
            .await
            .unwrap()
            .unwrap();
        assert!(joined.unwrap_err().is_panic());
    }

    #[tokio::test]
    async fn aborting_the_task_stops_the_worker() {
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel::<()>();
        spawn_on_own_thread(&mut set, "support", async move {
            let _dropped_when_stopped = tx;
            std::future::pending::<()>().await;
        })
        .unwrap();
        set.abort_all();
        let stopped = tokio::time::timeout(Duration::from_secs(5), rx).await;
        assert!(matches!(stopped, Ok(Err(_))), "the worker was dropped");
    }
}
