//! The "stream without ack" delivery model (the Discord gateway): a live feed that confirms
//! nothing, made at-least-once by a per-conversation cursor and a backfill after every connect.
//!
//! A provider implements [`LiveSource`]; [`CursorChannel`] turns it into a [`Channel`], so the
//! ack invariant stays in the worker. Delivery semantics:
//! - Each watched conversation has a cursor, the id of its last committed message, saved under
//!   `cursor:{channel}:{conversation}` in the [`CheckpointStore`]. It advances only in `ack`,
//!   that is after the case is durable, to the highest acked id of that conversation.
//! - The watched conversations are the source's configured ones plus every one seen live (a DM),
//!   remembered under `conversations:{channel}` (at most `CursorLimits::max_conversations`, the
//!   least recently seen forgotten first).
//! - On the first receive and after every reconnect (the source reports [`LiveEvent::Lost`] for a
//!   dropped connection, a failed RESUME, an invalid session) the live feed is started first,
//!   then every watched conversation is backfilled from its cursor, page by page, oldest first,
//!   and only then are live events read. Within a conversation ids are handed out strictly
//!   increasing on a connection, so an id read by the backfill and again live goes out once.
//! - A conversation not backfilled on this connection that shows up live (forgotten, or seen
//!   for the first time) is backfilled from its stored cursor before its live message; without
//!   a cursor it starts where [`LiveSource::start_seen`] says (by default at that message).
//! - A configured conversation without a cursor (first start) starts "now": at the mark
//!   [`LiveSource::connect`] returns. Its older history is not ingested.
//! - A backfill cut short (the page limit, history unreadable) becomes a `backfill_gap` dead
//!   letter naming the conversation and the id range, never a silent hole; acking it moves the
//!   cursor past the range.
//! - Whatever was handed out and not acked is read again by the next backfill (the sink
//!   dedupes). Source errors drop the connection; the next receive reconnects, and the worker
//!   backs off between failures.
//!
//! Modules: [`book`] (the cursors and the watched set, and their saves), [`channel`] (the
//! `Channel` impl: connect, receive, ack), [`merge`] (backfill pages, live messages, gaps),
//! [`session`] (one connection's state), [`sim`] (an in-memory source for tests).

mod book;
mod channel;
mod merge;
mod session;
pub mod sim;
#[cfg(test)]
mod tests;

use std::future::Future;

pub use channel::CursorChannel;

use crate::{ChannelError, ChannelKind, Inbound};

/// A provider's message id, ordered within a conversation (a Discord snowflake).
pub type MessageId = u64;

/// The dead-letter reason of a recorded backfill gap.
pub const GAP_REASON: &str = "backfill_gap";

/// One message as the source read it (live or from history).
#[derive(Debug)]
pub struct SourcedMessage {
    /// The conversation (channel, thread or DM) it belongs to.
    pub conversation: String,
    pub id: MessageId,
    /// Everything the worker needs but the receipt, which the channel assigns.
    pub inbound: Inbound,
}

/// What the live feed produced.
#[derive(Debug)]
pub enum LiveEvent {
    Message(Box<SourcedMessage>),
    /// Events may have been missed (connection lost, RESUME failed, invalid session): the
    /// channel reconnects and backfills. `reason` is logged: our own words (a close code is
    /// fine), never text the provider sent.
    Lost {
        reason: String,
    },
}

/// One page of a conversation's history.
#[derive(Debug)]
pub enum History {
    /// Messages after the requested id, oldest first; `more` when the next page may have some.
    Page {
        messages: Vec<SourcedMessage>,
        more: bool,
    },
    /// This conversation's history cannot be read (no permission, deleted): recorded as a gap,
    /// and the other conversations go on. `detail` goes into logs and the gap's dead letter:
    /// our own words (a status code is fine), never text the provider sent.
    Unreadable { detail: String },
}

/// The provider side of a stream channel. Errors are [`ChannelError`]s: any of them drops the
/// connection and the worker retries with backoff.
pub trait LiveSource: Send + 'static {
    fn kind(&self) -> ChannelKind;

    /// The operator's name for the channel.
    fn name(&self) -> &str;

    /// Conversations watched from the start (the support channel, its threads). No newlines.
    fn configured(&self) -> Vec<String>;

    /// (Re)starts the live feed, dropping any earlier one, and returns a mark: an id at or above
    /// every message that existed before the feed started (for Discord, the snowflake of now).
    /// Messages after the mark arrive live.
    fn connect(&mut self) -> impl Future<Output = Result<MessageId, ChannelError>> + Send;

    /// Waits for the next live event, of a conversation this channel ingests (a watched one, or
    /// a new DM); the source filters out the rest. Must be cancel-safe (`receive_ready` polls it
    /// once and drops it): an event is either returned or still waiting. A source whose buffer
    /// of live events overflows reports [`LiveEvent::Lost`] rather than dropping events.
    fn next_event(&mut self) -> impl Future<Output = Result<LiveEvent, ChannelError>> + Send;

    /// One page of at most `limit` messages of `conversation` after `after`, oldest first.
    fn history(
        &mut self,
        conversation: &str,
        after: MessageId,
        limit: usize,
    ) -> impl Future<Output = Result<History, ChannelError>> + Send;

    /// Where a conversation first seen live, without a cursor, starts: the id after which its
    /// messages are delivered. The default starts at the message seen. A source whose new
    /// conversations are new (a DM channel, a thread) may return 0 to read them from their
    /// beginning, which also catches messages sent to it while disconnected.
    fn start_seen(&self, conversation: &str, first_live: MessageId) -> MessageId {
        let _ = conversation;
        first_live.saturating_sub(1)
    }
}

/// Sizing of one stream channel.
#[derive(Debug, Clone, Copy)]
pub struct CursorLimits {
    /// Messages per history request (Discord allows at most 100).
    pub page_size: usize,
    /// History pages read per conversation per connection; beyond, the rest is a recorded gap.
    pub max_pages: usize,
    /// Conversations seen live that are remembered and backfilled (configured ones are extra).
    pub max_conversations: usize,
}

impl Default for CursorLimits {
    fn default() -> Self {
        CursorLimits {
            page_size: 100,
            max_pages: 50,
            max_conversations: 1000,
        }
    }
}
