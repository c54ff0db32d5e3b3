//! Never skip a message that still exists. A UID the size scan or a FETCH did not answer is
//! treated as expunged only after `UID SEARCH` confirms it is gone. If it still exists, the
//! batch is cut before it (what came before is handed out, nothing after it), so the
//! checkpoint, which follows the acked UIDs, cannot pass it. It is retried with a growing pause
//! and, after `poison_after` failures in a row, handed to the worker as a `fetch_failed`
//! rejection (dead-lettered, then acked like any message), so one unreadable message never
//! stalls the mailbox for good.
//!
//! A FETCH whose answer breaks the session (async-imap cannot parse it, the connection drops)
//! cannot be answered for some UIDs and not others: the session is gone. Then the UIDs of that
//! batch are fetched one at a time after the reconnect, and a UID whose fetch alone breaks the
//! session is struck the same way, and dead-lettered without another fetch at `poison_after`.
//!
//! The count lives on the channel, not the session: a reconnect does not reset it; a restart
//! does (the message then gets `poison_after` fresh tries).

use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, warn};

use super::batch::{Origin, now_rfc3339};
use super::fetch::{self, Fetched, Missing, Unread};
use super::proto::ImapSession;
use crate::{ChannelError, Inbound};

/// The pause after the first failure; it doubles with each one up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// The one message the channel is stopped before, if any. Only one at a time: nothing after
/// it is handed out until it is read, rejected or found expunged.
#[derive(Debug, Default)]
pub(crate) struct Strikes {
    current: Option<Stalled>,
    /// `(uidvalidity, last)`: a batch up to `last` broke the session; fetch those one by one.
    suspect: Option<(u32, u32)>,
}

#[derive(Debug, Clone, Copy)]
struct Stalled {
    uidvalidity: u32,
    uid: u32,
    failures: u32,
    retry_at: Instant,
    /// Its fetch broke the session (rather than being answered without it).
    broke_session: bool,
}

impl Strikes {
    /// When `uid` may be fetched again, if that is still to come.
    pub(crate) fn waiting(&self, uidvalidity: u32, uid: u32) -> Option<Instant> {
        self.current
            .filter(|s| s.uidvalidity == uidvalidity && s.uid == uid)
            .map(|s| s.retry_at)
            .filter(|at| *at > Instant::now())
    }

    /// When the stalled message may be fetched again, if that is still to come.
    pub(crate) fn retry_at(&self) -> Option<Instant> {
        self.current
            .map(|s| s.retry_at)
            .filter(|at| *at > Instant::now())
    }

    /// Whether `uid` must be fetched alone: a batch with it broke the session.
    pub(crate) fn alone(&self, uidvalidity: u32, uid: u32) -> bool {
        let suspect = self
            .suspect
            .is_some_and(|(v, last)| v == uidvalidity && uid <= last);
        suspect
            || self
                .stalled(uidvalidity, uid)
                .is_some_and(|s| s.broke_session)
    }

    /// How often `uid`'s fetch broke the session, once that is `poison_after` or more.
    pub(crate) fn broken(&self, uidvalidity: u32, uid: u32, poison_after: u32) -> Option<u32> {
        self.stalled(uidvalidity, uid)
            .filter(|s| s.broke_session && s.failures >= poison_after)
            .map(|s| s.failures)
    }

    /// A fetch of `uids` broke the session: alone, `uid` is struck; together, they are
    /// fetched one by one from now on.
    pub(crate) fn session_lost(&mut self, uidvalidity: u32, uids: &[u32], channel: &str) {
        match uids {
            [uid] => {
                let failures = self.strike(uidvalidity, *uid, true);
                warn!(
                    channel,
                    uid, failures, "fetching this message alone broke the session"
                );
            }
            [.., last] => self.suspect = Some((uidvalidity, *last)),
            [] => {}
        }
    }

    fn stalled(&self, uidvalidity: u32, uid: u32) -> Option<Stalled> {
        self.current
            .filter(|s| s.uidvalidity == uidvalidity && s.uid == uid)
    }

    /// Counts one more failure of `uid` and returns how many in a row it has had.
    fn strike(&mut self, uidvalidity: u32, uid: u32, broke_session: bool) -> u32 {
        let failures = self
            .stalled(uidvalidity, uid)
            .map_or(1, |s| s.failures.saturating_add(1));
        self.current = Some(Stalled {
            uidvalidity,
            uid,
            failures,
            retry_at: Instant::now() + retry_delay(failures),
            broke_session,
        });
        failures
    }

    /// `uid` is behind us: read, rejected or gone.
    fn clear(&mut self, uidvalidity: u32, uid: u32) {
        if self
            .current
            .is_some_and(|s| s.uidvalidity == uidvalidity && s.uid == uid)
        {
            self.current = None;
        }
    }
}

/// The pause before the next try after `failures` failures in a row.
fn retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_RETRY_DELAY
        .saturating_mul(1 << doublings)
        .min(MAX_RETRY_DELAY)
}

/// What may be handed out of a fetched batch.
#[derive(Debug)]
pub(crate) struct Settled {
    pub items: Vec<Inbound>,
    /// How many of the batch's UIDs (from the first) are settled: handed out, rejected or
    /// confirmed expunged. The rest are fetched again later, starting with the stalled one.
    pub done: usize,
}

/// Confirms which unread UIDs still exist and settles the batch: expunged ones are skipped,
/// the first existing one is struck and either rejected (at `poison_after`) or the batch is
/// cut before it.
pub(crate) async fn settle(
    session: &mut ImapSession,
    fetched: Fetched,
    strikes: &mut Strikes,
    origin: Origin<'_>,
    poison_after: u32,
    channel: &str,
) -> Result<Settled, ChannelError> {
    let unread: Vec<u32> = fetched
        .outcomes
        .iter()
        .filter(|(_, outcome)| outcome.is_err())
        .map(|(uid, _)| *uid)
        .collect();
    let existing = fetch::existing(session, &unread).await?;
    let total = fetched.outcomes.len();
    let mut items = Vec::with_capacity(total);
    for (index, (uid, outcome)) in fetched.outcomes.into_iter().enumerate() {
        let unread = match outcome {
            Ok(item) => {
                strikes.clear(origin.uidvalidity, uid);
                items.push(item);
                continue;
            }
            Err(unread) => unread,
        };
        if !existing.contains(&uid) {
            debug!(channel, uid, "message expunged before fetch");
            strikes.clear(origin.uidvalidity, uid);
            continue;
        }
        let failures = strikes.strike(origin.uidvalidity, uid, false);
        let reason = unread.why.as_str();
        if failures >= poison_after {
            warn!(
                channel,
                uid, failures, reason, "message cannot be fetched, dead-lettering it"
            );
            strikes.clear(origin.uidvalidity, uid);
            items.push(origin.fetch_failed(uid, unread, failures, &now_rfc3339()));
            continue;
        }
        warn!(
            channel,
            uid,
            failures,
            poison_after,
            reason,
            retry_in_ms = retry_delay(failures).as_millis() as u64,
            "message exists but could not be fetched, retrying it before anything after it"
        );
        return Ok(Settled { items, done: index });
    }
    Ok(Settled { items, done: total })
}

/// `uid`, whose fetch broke the session `failures` times, as a `fetch_failed` rejection,
/// without fetching it again.
pub(crate) fn give_up(origin: Origin<'_>, uid: u32, failures: u32, channel: &str) -> Fetched {
    warn!(
        channel,
        uid,
        failures,
        reason = Missing::Broken.as_str(),
        "message cannot be fetched, dead-lettering it"
    );
    let unread = Unread {
        why: Missing::Broken,
        size: None,
    };
    let item = origin.fetch_failed(uid, unread, failures, &now_rfc3339());
    Fetched {
        outcomes: vec![(uid, Ok(item))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_up_to_the_cap() {
        assert_eq!(retry_delay(1), Duration::from_millis(500));
        assert_eq!(retry_delay(2), Duration::from_secs(1));
        assert_eq!(retry_delay(4), Duration::from_secs(4));
        assert_eq!(retry_delay(7), Duration::from_secs(30));
        assert_eq!(retry_delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn strikes_count_in_a_row_per_uid() {
        let mut strikes = Strikes::default();
        assert_eq!(strikes.strike(7, 3, false), 1);
        assert_eq!(strikes.strike(7, 3, false), 2);
        assert!(strikes.waiting(7, 3).is_some());
        assert!(strikes.waiting(7, 4).is_none());
        // Another UIDVALIDITY is another message.
        assert_eq!(strikes.strike(8, 3, false), 1);
        strikes.clear(8, 3);
        assert!(strikes.retry_at().is_none());
        assert_eq!(strikes.strike(8, 3, false), 1);
        // Clearing another UID leaves the stalled one.
        strikes.clear(8, 4);
        assert!(strikes.waiting(8, 3).is_some());
    }

    #[test]
    fn a_broken_session_isolates_then_strikes() {
        let mut strikes = Strikes::default();
        strikes.session_lost(7, &[3, 4, 5], "c");
        assert!(strikes.alone(7, 3) && strikes.alone(7, 5));
        assert!(!strikes.alone(7, 6) && !strikes.alone(8, 3));
        strikes.session_lost(7, &[4], "c");
        assert_eq!(strikes.broken(7, 4, 2), None);
        strikes.session_lost(7, &[4], "c");
        assert_eq!(strikes.broken(7, 4, 2), Some(2));
        // Answered without it (not a broken session): never given up on unfetched.
        strikes.strike(7, 9, false);
        strikes.strike(7, 9, false);
        assert_eq!(strikes.broken(7, 9, 2), None);
    }
}
