//! An in-memory [`LiveSource`]: the test double for the stream model. A [`SimWorld`] holds
//! conversations with their messages (ids from one counter, like snowflakes); tests post
//! messages, drop the live connection, and refuse a conversation's history. Every source made
//! from one world shares it, so a test can drop a channel and build a new one (a restart).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use intake_normalizer::case::Source;
use tokio::sync::Notify;

use crate::{ChannelError, ChannelKind, Inbound, Payload, Receipt, Wire};

use super::{History, LiveEvent, LiveSource, MessageId, SourcedMessage};

#[derive(Debug, Default)]
struct State {
    last_id: MessageId,
    conversations: BTreeMap<String, Vec<MessageId>>,
    /// The current live session (bumped by every connect); 0 before the first.
    session: u64,
    connected: bool,
    live: VecDeque<(String, MessageId)>,
    unreadable: HashSet<String>,
    connects: usize,
    history_calls: usize,
}

/// The simulated provider. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct SimWorld {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

impl SimWorld {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Posts a message in `conversation` (created if new) and returns its id. It arrives live
    /// only while a session is connected; it is in the history either way.
    pub fn post(&self, conversation: &str) -> MessageId {
        let id = {
            let mut state = self.lock();
            state.last_id += 1;
            let id = state.last_id;
            state
                .conversations
                .entry(conversation.to_string())
                .or_default()
                .push(id);
            if state.connected {
                state.live.push_back((conversation.to_string(), id));
            }
            id
        };
        self.changed.notify_waiters();
        id
    }

    /// Drops the live connection: events until the next connect are lost, and the source
    /// reports [`LiveEvent::Lost`].
    pub fn drop_connection(&self) {
        {
            let mut state = self.lock();
            state.connected = false;
            state.live.clear();
        }
        self.changed.notify_waiters();
    }

    /// Makes `conversation`'s history unreadable (a permission error).
    pub fn deny_history(&self, conversation: &str) {
        self.lock().unreadable.insert(conversation.to_string());
    }

    /// Every message posted, as `(conversation, id)`.
    pub fn posted(&self) -> Vec<(String, MessageId)> {
        let state = self.lock();
        let mut all: Vec<(String, MessageId)> = state
            .conversations
            .iter()
            .flat_map(|(c, ids)| ids.iter().map(move |id| (c.clone(), *id)))
            .collect();
        all.sort_by_key(|(_, id)| *id);
        all
    }

    /// How many times a source connected.
    pub fn connects(&self) -> usize {
        self.lock().connects
    }

    /// Whether a live session is connected now.
    pub fn is_connected(&self) -> bool {
        self.lock().connected
    }

    /// How many history pages were requested.
    pub fn history_calls(&self) -> usize {
        self.lock().history_calls
    }

    /// A source on this world. `from_beginning`: conversations first seen live are read from
    /// their first message ([`LiveSource::start_seen`] returns 0).
    pub fn source(
        &self,
        kind: ChannelKind,
        name: &str,
        configured: &[&str],
        from_beginning: bool,
    ) -> SimSource {
        SimSource {
            world: self.clone(),
            kind,
            name: name.to_string(),
            configured: configured.iter().map(|c| c.to_string()).collect(),
            from_beginning,
            session: 0,
        }
    }
}

/// The idempotency key the simulated source gives a message.
pub fn key(channel: &str, conversation: &str, id: MessageId) -> String {
    format!("sim:{channel}:{conversation}:{id}")
}

/// One client of a [`SimWorld`].
#[derive(Debug)]
pub struct SimSource {
    world: SimWorld,
    kind: ChannelKind,
    name: String,
    configured: Vec<String>,
    from_beginning: bool,
    session: u64,
}

impl SimSource {
    /// A message as the provider would hand it over: an RFC 5322 rendering, so the email
    /// normalizer can turn it into a case in end-to-end tests.
    fn message(&self, conversation: &str, id: MessageId) -> SourcedMessage {
        let bytes = format!(
            "From: customer-{conversation}@example.com\r\nSubject: {conversation} {id}\r\n\
             Message-ID: <{id}.{conversation}@sim.invalid>\r\n\r\nhello {id}\r\n"
        );
        SourcedMessage {
            conversation: conversation.to_string(),
            id,
            inbound: Inbound {
                idempotency_keys: vec![key(&self.name, conversation, id)],
                lookup_keys: 1,
                received_at: "2026-11-30T10:00:00Z".to_string(),
                payload: Payload::Wire(Wire {
                    bytes: bytes.into_bytes(),
                    source: Source {
                        message_id: Some(id.to_string()),
                        ..Source::default()
                    },
                    ..Wire::default()
                }),
                receipt: Receipt(0),
            },
        }
    }
}

impl LiveSource for SimSource {
    fn kind(&self) -> ChannelKind {
        self.kind
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn configured(&self) -> Vec<String> {
        self.configured.clone()
    }

    async fn connect(&mut self) -> Result<MessageId, ChannelError> {
        let mut state = self.world.lock();
        state.session += 1;
        state.connects += 1;
        state.connected = true;
        state.live.clear();
        self.session = state.session;
        Ok(state.last_id)
    }

    async fn next_event(&mut self) -> Result<LiveEvent, ChannelError> {
        loop {
            let changed = self.world.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so a post between the look and the wait wakes us.
            changed.as_mut().enable();
            {
                let mut state = self.world.lock();
                if !state.connected || state.session != self.session {
                    return Ok(LiveEvent::Lost {
                        reason: "simulated connection drop".to_string(),
                    });
                }
                if let Some((conversation, id)) = state.live.pop_front() {
                    drop(state);
                    return Ok(LiveEvent::Message(Box::new(
                        self.message(&conversation, id),
                    )));
                }
            }
            changed.await;
        }
    }

    async fn history(
        &mut self,
        conversation: &str,
        after: MessageId,
        limit: usize,
    ) -> Result<History, ChannelError> {
        let ids: Vec<MessageId> = {
            let mut state = self.world.lock();
            state.history_calls += 1;
            if state.unreadable.contains(conversation) {
                return Ok(History::Unreadable {
                    detail: "missing access (simulated 403)".to_string(),
                });
            }
            let all = state.conversations.get(conversation);
            all.into_iter()
                .flatten()
                .copied()
                .filter(|id| *id > after)
                .collect()
        };
        let more = ids.len() > limit;
        let messages = ids
            .into_iter()
            .take(limit)
            .map(|id| self.message(conversation, id))
            .collect();
        Ok(History::Page { messages, more })
    }

    fn start_seen(&self, _conversation: &str, first_live: MessageId) -> MessageId {
        if self.from_beginning {
            0
        } else {
            first_live.saturating_sub(1)
        }
    }
}
