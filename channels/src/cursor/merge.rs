//! How a connection's work is done: history pages, live messages merged with them, gaps. The
//! rule throughout: within a conversation, ids go out strictly increasing on a connection, and
//! nothing below the highest is skipped unless a gap records it.

use tracing::{debug, info, warn};

use crate::{ChannelError, CheckpointStore, Inbound, Receipt};

use super::channel::CursorChannel;
use super::session::{Gap, Work};
use super::{History, LiveSource, MessageId, SourcedMessage};

impl<L: LiveSource, S: CheckpointStore> CursorChannel<L, S> {
    /// Reads one page of the backfill at the front of the work, or records the gap when the
    /// page limit is reached. The work item is removed only once its page is handled.
    pub(super) async fn backfill_page(&mut self) -> Result<(), ChannelError> {
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
    pub(super) async fn live_message(&mut self) -> Result<(), ChannelError> {
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
