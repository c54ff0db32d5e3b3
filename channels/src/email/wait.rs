//! Waiting for new mail when the mailbox has nothing above the checkpoint: IMAP IDLE when enabled
//! and supported, otherwise a sleep of `poll_interval`. Either way the caller re-checks with
//! `UID SEARCH` afterwards, so a wake-up is only a hint and a spurious one costs one command.
//!
//! Shutdown is not handled here: `EmailChannel::receive` races the whole receive (this wait
//! included) against the shutdown token and drops the session when the token wins, which ends an
//! IDLE immediately without a round trip.

use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::types::UnsolicitedResponse;
use tokio::time::Instant;
use tracing::debug;

use super::proto::{self, ImapSession, timed};
use crate::ChannelError;

/// RFC 2177: clients should re-issue IDLE at least every 29 minutes; 25 leaves margin for
/// servers and NAT boxes with shorter patience.
pub(crate) const IDLE_RENEW: Duration = Duration::from_secs(25 * 60);

/// Sleeps one poll interval. The next `UID SEARCH` syncs the mailbox, so no NOOP is needed.
pub(crate) async fn poll(interval: Duration) {
    tokio::time::sleep(interval).await;
}

/// IDLEs until the server reports something or [`IDLE_RENEW`] passes, then ends the IDLE and
/// hands the session back. The session is consumed by async-imap's IDLE handle and only returned
/// by `done()`: on any error it is lost, and the caller reconnects.
pub(crate) async fn idle(session: ImapSession) -> Result<ImapSession, ChannelError> {
    // Anything queued so far was seen before the SEARCH that came up empty.
    drain_unsolicited(&session);
    let unsolicited = session.unsolicited_responses.clone();
    let mut handle = session.idle();
    timed("IDLE", async {
        handle.init().await.map_err(|e| proto::protocol("IDLE", e))
    })
    .await?;

    // New mail may have been announced while IDLE started (Dovecot syncs the mailbox then):
    // async-imap routes such responses to the unsolicited queue, not to `wait`.
    let mut woken = false;
    while let Ok(response) = unsolicited.try_recv() {
        woken |= announces_mail(&response);
    }

    let deadline = Instant::now() + IDLE_RENEW;
    while !woken {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            debug!("idle renewal");
            break;
        }
        // Dropping the StopSource would interrupt the wait at once: keep it alive (`_stop`).
        let (wait, _stop) = handle.wait_with_timeout(remaining);
        // async-imap restarts its timeout on every response, and Dovecot says "* OK Still here"
        // every two minutes, so the deadline is enforced here too.
        let outcome = tokio::time::timeout(remaining, wait).await;
        match outcome {
            Err(_) | Ok(Ok(IdleResponse::Timeout)) => {
                debug!("idle renewal");
                break;
            }
            Ok(Ok(IdleResponse::NewData(_))) => woken = true,
            // We never trigger the stop source, so this means the stream ended: EOF.
            Ok(Ok(IdleResponse::ManualInterrupt)) => {
                return Err(ChannelError::Protocol {
                    detail: "IDLE: connection closed by server".into(),
                });
            }
            Ok(Err(e)) => return Err(proto::protocol("IDLE", e)),
        }
    }
    let session = timed("DONE", async {
        handle.done().await.map_err(|e| proto::protocol("DONE", e))
    })
    .await?;
    drain_unsolicited(&session);
    Ok(session)
}

/// Empties the session's unsolicited-response queue. async-imap only `try_send`s into it (a
/// full queue drops responses instead of blocking), but stale entries would mislead the next
/// IDLE, and nothing else reads it.
pub(crate) fn drain_unsolicited(session: &ImapSession) {
    while session.unsolicited_responses.try_recv().is_ok() {}
}

fn announces_mail(response: &UnsolicitedResponse) -> bool {
    matches!(
        response,
        UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
    )
}
