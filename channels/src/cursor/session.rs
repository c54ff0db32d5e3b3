//! One connection of a stream channel: what is left to backfill, which live messages wait for
//! their conversation's backfill, and the highest id handed out per conversation (the merge
//! rule that keeps an id read twice, by the backfill and live, from going out twice).

use std::collections::{BTreeMap, HashMap, VecDeque};

use intake_normalizer::case::Source;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{ChannelKind, Inbound, Payload, Receipt, Rejection};

use super::{GAP_REASON, MessageId, SourcedMessage};

/// A step of the connection's work, done in order.
#[derive(Debug)]
pub(super) enum Work {
    /// Read the next page of `conversation` after `after`; `pages` read so far.
    Backfill {
        conversation: String,
        after: MessageId,
        pages: usize,
    },
    /// A live message, handed out once the backfill of its conversation is done.
    Live(Box<SourcedMessage>),
}

#[derive(Debug)]
pub(super) struct Session {
    /// From `LiveSource::connect`: messages after it arrive live.
    pub(super) mark: MessageId,
    /// Per conversation scheduled on this connection: the highest id handed out or committed.
    pub(super) handed: HashMap<String, MessageId>,
    pub(super) work: VecDeque<Work>,
}

impl Session {
    pub(super) fn new(mark: MessageId) -> Self {
        Session {
            mark,
            handed: HashMap::new(),
            work: VecDeque::new(),
        }
    }

    /// Queues the backfill of `conversation` from its cursor.
    pub(super) fn schedule(&mut self, conversation: &str, cursor: MessageId) {
        self.handed.insert(conversation.to_string(), cursor);
        self.work.push_back(Work::Backfill {
            conversation: conversation.to_string(),
            after: cursor,
            pages: 0,
        });
    }

    /// True when `message` is new on this connection (its id is above everything handed out or
    /// committed in its conversation); records it as handed out.
    pub(super) fn take_if_new(&mut self, conversation: &str, id: MessageId) -> bool {
        match self.handed.get_mut(conversation) {
            Some(highest) if *highest >= id => false,
            Some(highest) => {
                *highest = id;
                true
            }
            None => {
                self.handed.insert(conversation.to_string(), id);
                true
            }
        }
    }
}

/// The range of one conversation's history that a backfill could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Gap {
    pub(super) conversation: String,
    /// Exclusive: everything up to it was read (or committed before).
    pub(super) after: MessageId,
    /// Inclusive: the connection's mark; later messages arrive live.
    pub(super) through: MessageId,
    /// Why, safe to log: the page limit, or the source's detail.
    pub(super) why: String,
}

impl Gap {
    /// The dead letter that records the gap on the stream. Its idempotency key names the range,
    /// so the same gap handed out again before its ack lands once.
    pub(super) fn inbound(&self, kind: ChannelKind, channel: &str) -> Inbound {
        let Gap {
            conversation,
            after,
            through,
            why,
        } = self;
        let headers = BTreeMap::from([
            ("conversation".to_string(), conversation.clone()),
            ("after-id".to_string(), after.to_string()),
            ("through-id".to_string(), through.to_string()),
        ]);
        Inbound {
            idempotency_keys: vec![format!(
                "gap:{}:{channel}:{conversation}:{after}:{through}",
                kind.as_str()
            )],
            lookup_keys: 1,
            received_at: now_rfc3339(),
            payload: Payload::Rejected(Rejection {
                reason: GAP_REASON.to_string(),
                error: format!(
                    "messages of conversation {conversation} after id {after} through id {through} were not read: {why}"
                ),
                headers,
                size: None,
                source: Source::default(),
                raw: None,
            }),
            receipt: Receipt(0),
        }
    }
}

/// Now, RFC 3339 in UTC.
fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}
