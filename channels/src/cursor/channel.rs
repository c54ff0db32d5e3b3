//! [`CursorChannel`]: a [`LiveSource`] driven as a [`Channel`]. `receive` connects, backfills,
//! then merges live events; `ack` advances the cursors of what is durable.

use std::collections::VecDeque;
use std::fmt;

use tokio::sync::watch;
use tracing::info;

use crate::{Channel, ChannelError, ChannelKind, ChannelStatus, CheckpointStore, Inbound, Receipt};

use super::book::Book;
use super::session::{Session, Work};
use super::{CursorLimits, LiveEvent, LiveSource, MessageId};

/// A stream channel over `L`, keeping its cursors in `S` (Redis in the gateway).
pub struct CursorChannel<L: LiveSource, S: CheckpointStore> {
    pub(super) source: L,
    pub(super) checkpoints: S,
    pub(super) limits: CursorLimits,
    pub(super) kind: ChannelKind,
    pub(super) name: String,
    pub(super) book: Book,
    /// The current connection; `None` before the first receive and after any loss or error.
    pub(super) session: Option<Session>,
    /// Handed out (receipt assigned) and not returned yet: kept here so that a receive dropped
    /// mid-way loses nothing, and a page larger than the batch waits for the next receive.
    pub(super) ready: VecDeque<Inbound>,
    /// Handed out and not acked, in receive order: the receipt, its conversation and the id
    /// its cursor moves to once acked.
    pub(super) inflight: VecDeque<(Receipt, String, MessageId)>,
    pub(super) next_receipt: u64,
    pub(super) status: watch::Sender<ChannelStatus>,
}

impl<L: LiveSource, S: CheckpointStore> fmt::Debug for CursorChannel<L, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CursorChannel")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("connected", &self.session.is_some())
            .field("inflight", &self.inflight.len())
            .finish_non_exhaustive()
    }
}

impl<L: LiveSource, S: CheckpointStore> CursorChannel<L, S> {
    pub fn new(source: L, checkpoints: S, limits: CursorLimits) -> Self {
        let name = source.name().to_string();
        let book = Book::new(&name, source.configured(), limits.max_conversations);
        CursorChannel {
            kind: source.kind(),
            source,
            checkpoints,
            limits: CursorLimits {
                page_size: limits.page_size.max(1),
                ..limits
            },
            name,
            book,
            session: None,
            ready: VecDeque::new(),
            inflight: VecDeque::new(),
            next_receipt: 0,
            status: watch::Sender::new(ChannelStatus::Connecting),
        }
    }

    /// Fills the batch up to `max`. With `wait`, connects if needed and waits for at least one
    /// message; without, only does what needs no waiting for the live feed.
    async fn fill(&mut self, max: usize, wait: bool) -> Result<Vec<Inbound>, ChannelError> {
        let max = max.max(1);
        while self.ready.len() < max {
            let waiting = wait && self.ready.is_empty();
            if self.session.is_none() {
                if !waiting {
                    break;
                }
                self.session = Some(self.connect().await?);
            }
            match self.step(waiting).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    self.lost(&e.to_string());
                    self.status
                        .send_replace(ChannelStatus::Failed(e.to_string()));
                    if self.ready.is_empty() {
                        return Err(e);
                    }
                    // What is handed out goes to the worker; the next receive reconnects.
                    break;
                }
            }
        }
        let n = max.min(self.ready.len());
        Ok(self.ready.drain(..n).collect())
    }

    async fn connect(&mut self) -> Result<Session, ChannelError> {
        self.status.send_replace(ChannelStatus::Connecting);
        let opened = self.open().await;
        self.status.send_replace(match &opened {
            Ok(_) => ChannelStatus::Connected,
            Err(e) => ChannelStatus::Failed(e.to_string()),
        });
        opened
    }

    /// Starts the live feed, then schedules the backfill of every watched conversation.
    async fn open(&mut self) -> Result<Session, ChannelError> {
        self.book.flush(&self.checkpoints).await?;
        let mark = self.source.connect().await?;
        let mut session = Session::new(mark);
        for conversation in self.book.watched(&self.checkpoints).await? {
            let cursor = match self.book.cursor(&self.checkpoints, &conversation).await? {
                Some(cursor) => cursor,
                None => {
                    // Never seen before (first start): from now on, not its whole history.
                    self.book.start(&conversation, mark);
                    mark
                }
            };
            session.schedule(&conversation, cursor);
        }
        self.book.flush(&self.checkpoints).await?;
        info!(channel = %self.name, conversations = session.work.len(), mark, "live feed connected, backfilling");
        Ok(session)
    }

    /// Drops the connection: the next receive reconnects and backfills from the cursors.
    fn lost(&mut self, reason: &str) {
        if self.session.take().is_some() {
            info!(channel = %self.name, reason, "live feed lost, will reconnect and backfill");
        }
        self.status.send_replace(ChannelStatus::Connecting);
    }

    /// Does the next piece of work: a history page, a live message, or reading the live feed.
    /// False when there was nothing to do without waiting.
    async fn step(&mut self, wait: bool) -> Result<bool, ChannelError> {
        let Some(session) = self.session.as_mut() else {
            return Ok(false);
        };
        match session.work.front() {
            Some(Work::Backfill { .. }) => self.backfill_page().await?,
            Some(Work::Live(_)) => self.live_message().await?,
            None => {
                let event = if wait {
                    self.source.next_event().await?
                } else {
                    // One poll: `next_event` is cancel-safe, so nothing is lost if not ready.
                    tokio::select! {
                        biased;
                        event = self.source.next_event() => event?,
                        () = std::future::ready(()) => return Ok(false),
                    }
                };
                match event {
                    LiveEvent::Message(message) => session.work.push_back(Work::Live(message)),
                    LiveEvent::Lost { reason } => self.lost(&reason),
                }
            }
        }
        Ok(true)
    }
}

impl<L: LiveSource, S: CheckpointStore> Channel for CursorChannel<L, S> {
    fn kind(&self) -> ChannelKind {
        self.kind
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn receive(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        // Saves left over from a failed ack first: a cursor not saved is redelivery, not loss,
        // but the sooner it is saved the less is read again.
        self.book.flush(&self.checkpoints).await?;
        self.fill(max, true).await
    }

    async fn receive_ready(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        self.fill(max, false).await
    }

    fn status(&self) -> Option<watch::Receiver<ChannelStatus>> {
        Some(self.status.subscribe())
    }

    async fn ack(&mut self, receipts: Vec<Receipt>) -> Result<(), ChannelError> {
        for receipt in receipts {
            match self.inflight.front() {
                Some((held, _, _)) if *held == receipt => {
                    if let Some((_, conversation, id)) = self.inflight.pop_front() {
                        self.book.advance(&conversation, id);
                    }
                }
                _ => {
                    return Err(ChannelError::Protocol {
                        detail: format!("ack of receipt {} out of receive order", receipt.0),
                    });
                }
            }
        }
        self.book.flush(&self.checkpoints).await
    }
}
