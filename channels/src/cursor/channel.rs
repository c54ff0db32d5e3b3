//! [`CursorChannel`]: a [`LiveSource`] driven as a [`Channel`]. `receive` connects, backfills,
//! then merges live events; `ack` advances the cursors of what is durable.

use std::collections::VecDeque;
use std::fmt;

use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::{Channel, ChannelError, ChannelKind, ChannelStatus, CheckpointStore, Inbound, Receipt};

use super::book::Book;
use super::session::{Gap, Session, Work};
use super::{CursorLimits, History, LiveEvent, LiveSource, MessageId, SourcedMessage};

/// A stream channel over `L`, keeping its cursors in `S` (Redis in the gateway).
pub struct CursorChannel<L: LiveSource, S: CheckpointStore> {
    source: L,
    checkpoints: S,
    limits: CursorLimits,
    kind: ChannelKind,
    name: String,
    book: Book,
    /// The current connection; `None` before the first receive and after any loss or error.
    session: Option<Session>,
    /// Handed out (receipt assigned) and not returned yet: kept here so that a receive dropped
    /// mid-way loses nothing, and a page larger than the batch waits for the next receive.
    ready: VecDeque<Inbound>,
    /// Handed out and not acked, in receive order: the receipt, its conversation and the id
    /// its cursor moves to once acked.
    inflight: VecDeque<(Receipt, String, MessageId)>,
    next_receipt: u64,
    status: watch::Sender<ChannelStatus>,
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

    /// Reads one page of the backfill at the front of the work, or records the gap when the
    /// page limit is reached. The work item is removed only once its page is handled.
    async fn backfill_page(&mut self) -> Result<(), ChannelError> {
        let Some(session) = self.session.as_ref() else {
            return Ok(());
        };
        let Some(Work::Backfill {
            conversation,
            after,
            pages,
        }) = session.work.front()
        else {
            return Ok(());
        };
        let (conversation, after, pages, mark) =
            (conversation.clone(), *after, *pages, session.mark);
        let page = if pages >= self.limits.max_pages {
            None
        } else {
            Some(
                self.source
                    .history(&conversation, after, self.limits.page_size)
                    .await?,
            )
        };
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        session.work.pop_front();
        let why = match page {
            None => format!("backfill stopped at the limit of {pages} pages"),
            Some(History::Unreadable { detail }) => format!("history unreadable: {detail}"),
            Some(History::Page { messages, more }) => {
                let read = messages
                    .iter()
                    .filter(|m| m.conversation == conversation)
                    .map(|m| m.id)
                    .max();
                // A message of another conversation would be a source bug: never let it move
                // this conversation's position.
                for message in messages
                    .into_iter()
                    .filter(|m| m.conversation == conversation)
                {
                    self.hand_out_if_new(message);
                }
                match (more, read) {
                    (false, _) => return Ok(()),
                    (true, Some(last)) if last > after => {
                        if let Some(session) = self.session.as_mut() {
                            session.work.push_front(Work::Backfill {
                                conversation,
                                after: last,
                                pages: pages + 1,
                            });
                        }
                        return Ok(());
                    }
                    (true, _) => "history returned no newer message".to_string(),
                }
            }
        };
        // Messages after the mark arrive live: only the range up to it is missing.
        if after < mark {
            self.record_gap(Gap {
                conversation,
                after,
                through: mark,
                why,
            });
        }
        Ok(())
    }

    /// Hands out the live message at the front of the work, after scheduling the backfill of
    /// its conversation if this connection has not backfilled it.
    async fn live_message(&mut self) -> Result<(), ChannelError> {
        let Some(Work::Live(message)) = self.session.as_ref().and_then(|s| s.work.front()) else {
            return Ok(());
        };
        let (conversation, id) = (message.conversation.clone(), message.id);
        let scheduled = self
            .session
            .as_ref()
            .is_some_and(|s| s.handed.contains_key(&conversation));
        if !scheduled {
            let cursor = self.book.cursor(&self.checkpoints, &conversation).await?;
            self.book.remember(&conversation);
            let from = match cursor {
                Some(cursor) => cursor,
                None => {
                    let start = self.source.start_seen(&conversation, id);
                    self.book.start(&conversation, start);
                    info!(channel = %self.name, conversation = %conversation, "new conversation seen live");
                    start
                }
            };
            // The start and the watched set are durable before the first message goes out, so
            // a reconnect or restart backfills this conversation too.
            self.book.flush(&self.checkpoints).await?;
            if let Some(session) = self.session.as_mut() {
                session.handed.insert(conversation.clone(), from);
                if from.saturating_add(1) < id {
                    session.work.push_front(Work::Backfill {
                        conversation,
                        after: from,
                        pages: 0,
                    });
                    return Ok(());
                }
            }
        }
        if let Some(Work::Live(message)) = self.session.as_mut().and_then(|s| s.work.pop_front()) {
            self.hand_out_if_new(*message);
        }
        Ok(())
    }

    /// Hands `message` out unless its id was handed out or committed on this connection.
    fn hand_out_if_new(&mut self, message: SourcedMessage) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        if session.take_if_new(&message.conversation, message.id) {
            self.hand_out(message.inbound, message.conversation, message.id);
        } else {
            debug!(channel = %self.name, conversation = %message.conversation, id = message.id, "already handed out, skipped");
        }
    }

    fn record_gap(&mut self, gap: Gap) {
        warn!(channel = %self.name, conversation = %gap.conversation, after = gap.after, through = gap.through, why = %gap.why, "backfill cut short, recording the gap");
        if let Some(session) = self.session.as_mut() {
            let highest = session.handed.entry(gap.conversation.clone()).or_default();
            *highest = (*highest).max(gap.through);
        }
        let inbound = gap.inbound(self.kind, &self.name);
        self.hand_out(inbound, gap.conversation, gap.through);
    }

    fn hand_out(&mut self, mut inbound: Inbound, conversation: String, cursor_to: MessageId) {
        self.next_receipt += 1;
        let receipt = Receipt(self.next_receipt);
        inbound.receipt = receipt;
        self.inflight.push_back((receipt, conversation, cursor_to));
        self.ready.push_back(inbound);
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
