//! IMAP email channel: pulls new messages above a UID checkpoint, hands the raw RFC 5322 bytes
//! to the worker, and marks them done on the server (`after_ingest`) only when acked.
//!
//! Delivery semantics (at-least-once; the sink makes it exactly-once):
//! - Reading uses `BODY.PEEK[]`, so nothing is marked by a fetch.
//! - The checkpoint `"{uidvalidity}:{uid}"` under `email:{name}` advances only after the server
//!   confirmed `after_ingest` for the acked UIDs. A crash between the two re-fetches them.
//! - `receive` always continues after the last acked UID: messages of the previous batch that
//!   were not acked are returned again, first.
//! - Any IMAP error drops the session; the next `receive` reconnects, reloads the checkpoint and
//!   re-fetches everything not acked.
//! - A changed UIDVALIDITY restarts from UID 1; the content-hash idempotency key keeps the
//!   re-fetched messages from becoming second cases.
//! - No message is skipped unless `UID SEARCH` confirms it is gone: a batch stops before a UID
//!   that exists but could not be fetched, which is retried and, after `poison_after` failures,
//!   dead-lettered as `fetch_failed` ([`stall`]).
//! - A rejected login is retried only after 30 s, doubling up to 5 min ([`lockout`]), so the
//!   gateway never gets its own account locked.
//!
//! Modules: [`connect`] (TCP/TLS/login/select), [`next`] (the next batch), [`fetch`] (search,
//! size scan, batch fetch), [`batch`] (inbound items, rejections), [`keys`] (idempotency keys),
//! [`stall`] (unreadable messages), [`ack`] (after_ingest), [`wait`] (IDLE/poll), [`lockout`]
//! (login pacing), [`check`] (`intake check`), [`proto`] (command runner, UID sets, error text
//! without server bytes), [`normalize`] and [`build`] (for the gateway's registry).

mod ack;
mod batch;
mod build;
mod check;
mod checkpoint;
mod connect;
mod fetch;
pub mod keys;
mod lockout;
mod next;
mod normalize;
mod proto;
mod stall;
mod wait;

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use intake_config::EmailConfig;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use build::build;
pub use check::{CheckReport, check};
pub use connect::ServerCapabilities;
pub use lockout::{AUTH_RETRY_FIRST, AUTH_RETRY_MAX};
pub use normalize::EmailNormalizer;

use crate::{Channel, ChannelError, ChannelKind, ChannelStatus, CheckpointStore, Inbound, Receipt};
use checkpoint::Checkpoint;
use lockout::LoginPace;
use proto::ImapSession;
use stall::Strikes;

/// The first batch after connecting; see `Live::ramp`.
const FIRST_BATCH: usize = 32;

/// The IMAP channel. Generic over where the checkpoint lives (Redis in the gateway, memory in
/// tests).
pub struct EmailChannel<S: CheckpointStore> {
    config: EmailConfig,
    checkpoints: S,
    shutdown: CancellationToken,
    checkpoint_key: String,
    account: String,
    /// The open session and its position; `None` until the first receive and after any error.
    live: Option<Live>,
    /// The last position this instance committed, kept across reconnects in case the store
    /// missed a save: `(uidvalidity, uid)`.
    committed: Option<Checkpoint>,
    /// Connection state for /readyz, updated on every connect attempt.
    status: tokio::sync::watch::Sender<ChannelStatus>,
    /// The message a batch stopped before because it could not be fetched (kept across
    /// reconnects, so its failures add up).
    strikes: Strikes,
    /// When the next login may be tried after rejected ones.
    login_pace: LoginPace,
}

/// A selected mailbox and where we are in it.
struct Live {
    session: ImapSession,
    caps: ServerCapabilities,
    uidvalidity: u32,
    /// Highest UID whose ack the server confirmed (or the loaded checkpoint).
    committed: u32,
    /// UIDs below this were renumbered by a UIDVALIDITY change (see [`Checkpoint`]).
    rescan_below: u32,
    /// The size of the next batch: small right after connecting, so the first cases land
    /// within milliseconds, then doubling up to `batch_size`.
    ramp: usize,
    /// UIDs above `committed` found by the last search and not handed out yet, ascending.
    pending: VecDeque<u32>,
    /// UIDs of the last batch not acked yet, in receive (= UID) order.
    inflight: VecDeque<u32>,
    /// Highest UID handed out on this connection: the next search starts above it, so
    /// messages in flight are not fetched twice while earlier batches await their ack.
    handed_out: u32,
}

impl<S: CheckpointStore> fmt::Debug for EmailChannel<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailChannel")
            .field("name", &self.config.name)
            .field("endpoint", &connect::endpoint(&self.config))
            .field("mailbox", &self.config.mailbox)
            .field("connected", &self.live.is_some())
            .field("committed", &self.committed)
            .finish_non_exhaustive()
    }
}

impl<S: CheckpointStore> EmailChannel<S> {
    pub fn new(config: EmailConfig, checkpoints: S, shutdown: CancellationToken) -> Self {
        let checkpoint_key = format!("email:{}", config.name);
        let account = config.account();
        EmailChannel {
            config,
            checkpoints,
            shutdown,
            checkpoint_key,
            account,
            live: None,
            committed: None,
            status: tokio::sync::watch::Sender::new(ChannelStatus::Connecting),
            strikes: Strikes::default(),
            login_pace: LoginPace::default(),
        }
    }

    /// Paces logins after a rejection: `first` after the first, doubling up to `max`. The
    /// default (30 s up to 5 min, [`AUTH_RETRY_FIRST`], [`AUTH_RETRY_MAX`]) keeps servers from
    /// locking the account; tests use shorter ones.
    pub fn with_auth_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.login_pace = LoginPace::new(first, max);
        self
    }

    async fn receive_until_mail(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        loop {
            // Taken out while in use: an error or a cancelled receive drops it.
            let mut live = match self.live.take() {
                Some(live) => live,
                None => {
                    // After a rejected login, not before the pause is over.
                    self.login_pace.wait().await;
                    match self.connect().await {
                        Ok(live) => {
                            self.status.send_replace(ChannelStatus::Connected);
                            live
                        }
                        Err(e) => {
                            let e = self.paced(e);
                            self.status
                                .send_replace(ChannelStatus::Failed(e.to_string()));
                            return Err(e);
                        }
                    }
                }
            };
            let batch = self.next_batch(&mut live, max).await?;
            if !batch.is_empty() {
                self.live = Some(live);
                return Ok(batch);
            }
            if let Some(at) = self.strikes.retry_at() {
                // A message we must not pass waits for its next try: no IDLE until then.
                tokio::time::sleep_until(at).await;
            } else if self.config.idle && live.caps.idle {
                live.session = wait::idle(live.session).await?;
            } else {
                wait::poll(self.config.poll_interval).await;
            }
            self.live = Some(live);
        }
    }

    /// A rejected login starts (or lengthens) the pause before the next one, and says so.
    fn paced(&mut self, error: ChannelError) -> ChannelError {
        match error {
            ChannelError::Auth {
                endpoint, username, ..
            } => {
                let retry_in = self.login_pace.rejected();
                ChannelError::Auth {
                    endpoint,
                    username,
                    retry_in: Some(retry_in),
                }
            }
            other => other,
        }
    }

    /// Logs in, selects the mailbox and loads the checkpoint.
    async fn connect(&mut self) -> Result<Live, ChannelError> {
        let (mut session, caps) = connect::login(&self.config).await?;
        self.login_pace.accepted();
        let selected = connect::select(&mut session, &self.config.mailbox).await?;
        let stored = self.load_checkpoint().await?;
        let uidvalidity = selected.uidvalidity;
        // The higher of the stored position and our own, in case the store missed a save.
        let position = match (stored, self.committed) {
            (Some(a), Some(b)) if a.uidvalidity == b.uidvalidity => {
                Some(if a.uid >= b.uid { a } else { b })
            }
            (Some(a), _) => Some(a),
            (None, mine) => mine,
        };
        let (committed, rescan_below) = match position {
            Some(p) if p.uidvalidity == uidvalidity => (p.uid, p.rescan_below),
            Some(p) => {
                warn!(
                    channel = %self.config.name,
                    stored_uidvalidity = p.uidvalidity,
                    uidvalidity,
                    "uidvalidity changed, rescanning mailbox from uid 1"
                );
                // Without UIDNEXT (servers must send it) treat every message as renumbered.
                (0, selected.uidnext.unwrap_or(u32::MAX))
            }
            None => (0, 0),
        };
        if self.config.idle && !caps.idle {
            info!(channel = %self.config.name, "server has no idle, polling");
        }
        info!(
            channel = %self.config.name,
            uidvalidity,
            uidnext = selected.uidnext,
            exists = selected.exists,
            checkpoint = committed,
            "mailbox selected"
        );
        Ok(Live {
            session,
            caps,
            uidvalidity,
            committed,
            rescan_below,
            ramp: FIRST_BATCH,
            pending: VecDeque::new(),
            inflight: VecDeque::new(),
            handed_out: committed,
        })
    }

    async fn load_checkpoint(&self) -> Result<Option<Checkpoint>, ChannelError> {
        let Some(value) = self.checkpoints.load(&self.checkpoint_key).await? else {
            return Ok(None);
        };
        Checkpoint::parse(&value)
            .map(Some)
            .ok_or_else(|| ChannelError::Checkpoint {
                detail: format!(
                    "unreadable email checkpoint {value:?} under {}",
                    self.checkpoint_key
                ),
            })
    }

    /// Validates that `uids` is a prefix of the in-flight batch.
    fn check_prefix(&self, uids: &[u32]) -> Result<(), ChannelError> {
        let inflight = self.live.as_ref().map(|live| &live.inflight);
        let ok = inflight.is_some_and(|inflight| {
            uids.len() <= inflight.len() && uids.iter().zip(inflight.iter()).all(|(a, b)| a == b)
        });
        if ok {
            return Ok(());
        }
        Err(ChannelError::Protocol {
            detail: format!(
                "ack of {} receipts is not a prefix of the unacked batch ({} in flight)",
                uids.len(),
                inflight.map_or(0, VecDeque::len)
            ),
        })
    }
}

impl<S: CheckpointStore> Channel for EmailChannel<S> {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    fn status(&self) -> Option<tokio::sync::watch::Receiver<ChannelStatus>> {
        Some(self.status.subscribe())
    }

    fn name(&self) -> &str {
        &self.config.name
    }

    async fn receive(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        let shutdown = self.shutdown.clone();
        if shutdown.is_cancelled() {
            return Err(ChannelError::Shutdown);
        }
        // Racing the whole receive against shutdown ends an IDLE (or a hung connect) at once;
        // whatever session the cancelled future held is dropped with it.
        tokio::select! {
            biased;
            () = shutdown.cancelled() => Err(ChannelError::Shutdown),
            result = self.receive_until_mail(max) => result,
        }
    }

    async fn receive_ready(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        // Only on a live connection: reconnecting is `receive`'s job, with its backoff.
        let Some(mut live) = self.live.take() else {
            return Ok(Vec::new());
        };
        let batch = self.next_batch(&mut live, max).await?;
        self.live = Some(live);
        Ok(batch)
    }

    async fn ack(&mut self, receipts: Vec<Receipt>) -> Result<(), ChannelError> {
        if receipts.is_empty() {
            return Ok(());
        }
        let uids = receipts
            .iter()
            .map(|r| receipt_uid(*r))
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| ChannelError::Protocol {
                detail: "receipt is not an IMAP UID".into(),
            })?;
        self.check_prefix(&uids)?;
        let Some(mut live) = self.live.take() else {
            return Err(ChannelError::Protocol {
                detail: "ack without a session".into(),
            });
        };
        ack::apply(
            &mut live.session,
            live.caps,
            &self.config.after_ingest,
            &uids,
        )
        .await?;
        live.inflight.drain(..uids.len());
        let highest = uids.iter().copied().max().unwrap_or(live.committed);
        live.committed = live.committed.max(highest);
        let position = Checkpoint {
            uidvalidity: live.uidvalidity,
            uid: live.committed,
            rescan_below: live.rescan_below,
        };
        self.live = Some(live);
        self.committed = Some(position);
        self.checkpoints
            .save(&self.checkpoint_key, &position.encode())
            .await?;
        debug!(channel = %self.config.name, count = uids.len(), checkpoint = position.uid, "acked");
        Ok(())
    }
}

fn receipt_uid(receipt: Receipt) -> Option<u32> {
    u32::try_from(receipt.0).ok()
}
