//! The persistent side of a stream channel: one cursor per conversation and the set of
//! conversations seen live, kept in memory and saved to the [`CheckpointStore`].
//!
//! Memory is authoritative once a value is loaded (this process is the only writer of its
//! channel's keys), so a failed save loses nothing: the value stays dirty and the next flush
//! (every receive and ack) saves it. Each cursor is loaded from the store at most once per
//! process, so a reconnect costs no round trip per conversation.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::{ChannelError, CheckpointStore};

use super::MessageId;

#[derive(Debug)]
struct Cursor {
    value: MessageId,
    saved: bool,
}

#[derive(Debug)]
pub(super) struct Book {
    channel: String,
    configured: Vec<String>,
    max_seen: usize,
    /// Loaded or set cursors; `None` when the store has none.
    cursors: HashMap<String, Option<Cursor>>,
    /// Conversations seen live (not configured), least recently seen first.
    seen: VecDeque<String>,
    seen_loaded: bool,
    seen_dirty: bool,
}

impl Book {
    pub(super) fn new(channel: &str, configured: Vec<String>, max_seen: usize) -> Self {
        Book {
            channel: channel.to_string(),
            configured,
            max_seen: max_seen.max(1),
            cursors: HashMap::new(),
            seen: VecDeque::new(),
            seen_loaded: false,
            seen_dirty: false,
        }
    }

    fn cursor_key(&self, conversation: &str) -> String {
        format!("cursor:{}:{conversation}", self.channel)
    }

    fn seen_key(&self) -> String {
        format!("conversations:{}", self.channel)
    }

    /// Every watched conversation: the configured ones, then the remembered ones.
    pub(super) async fn watched<S: CheckpointStore>(
        &mut self,
        store: &S,
    ) -> Result<Vec<String>, ChannelError> {
        if !self.seen_loaded {
            let stored = store.load(&self.seen_key()).await?.unwrap_or_default();
            // Seen in this process before the first load succeeded: newer than the stored ones.
            let mine = std::mem::take(&mut self.seen);
            for conversation in stored.lines().filter(|c| !c.is_empty()) {
                self.remember_quietly(conversation);
            }
            for conversation in mine {
                self.remember(&conversation);
            }
            self.seen_loaded = true;
        }
        let mut all = self.configured.clone();
        all.extend(self.seen.iter().cloned());
        Ok(all)
    }

    /// The committed cursor of `conversation`, loaded from the store the first time.
    pub(super) async fn cursor<S: CheckpointStore>(
        &mut self,
        store: &S,
        conversation: &str,
    ) -> Result<Option<MessageId>, ChannelError> {
        if let Some(known) = self.cursors.get(conversation) {
            return Ok(known.as_ref().map(|c| c.value));
        }
        let stored =
            match store.load(&self.cursor_key(conversation)).await? {
                Some(value) => Some(value.trim().parse::<MessageId>().map_err(|_| {
                    ChannelError::Checkpoint {
                        detail: format!("cursor of conversation {conversation} is not an id"),
                    }
                })?),
                None => None,
            };
        let cursor = stored.map(|value| Cursor { value, saved: true });
        self.cursors.insert(conversation.to_string(), cursor);
        Ok(stored)
    }

    /// Sets where a conversation without a cursor starts (nothing before `after` is ours).
    pub(super) fn start(&mut self, conversation: &str, after: MessageId) {
        let entry = self.cursors.entry(conversation.to_string()).or_default();
        if entry.is_none() {
            *entry = Some(Cursor {
                value: after,
                saved: false,
            });
        }
    }

    /// Moves the cursor to `id` once everything up to it is committed; never backwards. (A
    /// cursor pruned while its conversation still had messages in flight is set from the ack
    /// alone: at worst a lower value is saved for a moment, which means a redelivery.)
    pub(super) fn advance(&mut self, conversation: &str, id: MessageId) {
        let entry = self.cursors.entry(conversation.to_string()).or_default();
        match entry {
            Some(cursor) if cursor.value >= id => {}
            _ => {
                *entry = Some(Cursor {
                    value: id,
                    saved: false,
                })
            }
        }
    }

    /// Notes that `conversation` was seen live: remembered (and saved) if new, otherwise moved
    /// to the most recently seen end in memory only (not worth a save per message).
    pub(super) fn remember(&mut self, conversation: &str) {
        if self.remember_quietly(conversation) {
            self.seen_dirty = true;
        }
    }

    /// True when the conversation was not remembered before.
    fn remember_quietly(&mut self, conversation: &str) -> bool {
        if self.configured.iter().any(|c| c == conversation) {
            return false;
        }
        let new = match self.seen.iter().position(|c| c == conversation) {
            Some(at) => {
                self.seen.remove(at);
                false
            }
            None => true,
        };
        self.seen.push_back(conversation.to_string());
        while self.seen.len() > self.max_seen {
            // Its cursor stays in the store: seen live again, it is backfilled from there.
            self.seen.pop_front();
        }
        new
    }

    /// Saves every changed cursor, then the seen set if it changed.
    pub(super) async fn flush<S: CheckpointStore>(
        &mut self,
        store: &S,
    ) -> Result<(), ChannelError> {
        let dirty: Vec<(String, MessageId)> = self
            .cursors
            .iter()
            .filter_map(|(conversation, cursor)| match cursor {
                Some(c) if !c.saved => Some((conversation.clone(), c.value)),
                _ => None,
            })
            .collect();
        for (conversation, value) in dirty {
            store
                .save(&self.cursor_key(&conversation), &value.to_string())
                .await?;
            if let Some(Some(cursor)) = self.cursors.get_mut(&conversation) {
                // Advanced meanwhile? Then that value is still to be saved.
                cursor.saved = cursor.value == value;
            }
        }
        if self.seen_dirty && self.seen_loaded {
            let list: Vec<&str> = self.seen.iter().map(String::as_str).collect();
            store.save(&self.seen_key(), &list.join("\n")).await?;
            self.seen_dirty = false;
        }
        self.prune();
        Ok(())
    }

    /// Forgets the saved cursors of conversations no longer watched, so memory stays bounded by
    /// the watched set: seen live again, such a cursor is loaded from the store. Runs only when
    /// the map has grown well past the watched set, so its cost is spread over many flushes.
    fn prune(&mut self) {
        let watched = self.configured.len() + self.seen.len();
        if self.cursors.len() <= 2 * watched + 16 {
            return;
        }
        let keep: HashSet<&String> = self.configured.iter().chain(self.seen.iter()).collect();
        self.cursors.retain(|conversation, cursor| {
            keep.contains(conversation) || cursor.as_ref().is_some_and(|c| !c.saved)
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::MemoryCheckpointStore;

    #[tokio::test]
    async fn the_watched_set_and_the_memory_stay_bounded_and_nothing_is_lost() {
        let store = MemoryCheckpointStore::new();
        let mut book = Book::new("ch", vec!["support".into()], 2);
        book.watched(&store).await.unwrap();
        for i in 0..100u64 {
            let dm = format!("dm-{i}");
            assert_eq!(book.cursor(&store, &dm).await.unwrap(), None);
            book.remember(&dm);
            book.start(&dm, i);
            book.advance(&dm, i + 1000);
            book.flush(&store).await.unwrap();
        }
        assert_eq!(
            store.get("conversations:ch").as_deref(),
            Some("dm-98\ndm-99")
        );
        assert_eq!(
            book.watched(&store).await.unwrap(),
            vec!["support", "dm-98", "dm-99"]
        );
        assert!(book.cursors.len() <= 2 * 3 + 16, "{}", book.cursors.len());
        // A forgotten conversation's cursor is in the store and comes back from there.
        assert_eq!(store.get("cursor:ch:dm-3").as_deref(), Some("1003"));
        assert_eq!(book.cursor(&store, "dm-3").await.unwrap(), Some(1003));
        // Never backwards.
        book.advance("dm-3", 5);
        book.flush(&store).await.unwrap();
        assert_eq!(store.get("cursor:ch:dm-3").as_deref(), Some("1003"));
    }

    #[tokio::test]
    async fn a_corrupt_cursor_is_a_checkpoint_error() {
        let store = MemoryCheckpointStore::new();
        store.set("cursor:ch:support", "not-an-id");
        let mut book = Book::new("ch", vec!["support".into()], 2);
        let loaded = book.cursor(&store, "support").await;
        assert!(
            matches!(loaded, Err(ChannelError::Checkpoint { .. })),
            "{loaded:?}"
        );
    }
}
