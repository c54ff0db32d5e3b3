//! The live queue of the Discord source: events wait a moment so those that serenity's
//! per-event tasks delivered out of order are put back in id order; then each is checked
//! (ours? a bot? in order?) and made into a message. An event leaves the queue only once
//! handled, so a cancelled `next_event` loses nothing.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, warn};

use super::gateway::FeedEvent;
use super::{DiscordSource, EDITS, Place};
use crate::ChannelError;
use crate::cursor::{LiveEvent, MessageId};

/// How long an event waits for ones sent before it that serenity's tasks delivered later.
const SETTLE: Duration = Duration::from_millis(40);

impl DiscordSource {
    pub(super) async fn next_live(&mut self) -> Result<LiveEvent, ChannelError> {
        loop {
            if let Some(event) = self.handle_settled().await? {
                return Ok(event);
            }
            if let Some(reason) = self.lost.take() {
                return Ok(LiveEvent::Lost { reason });
            }
            let settle_at = self.queue.front().map(|(at, _)| *at + SETTLE);
            let Some(feed) = self.feed.as_mut() else {
                // What the feed delivered before it stopped still goes out first.
                if let Some(at) = settle_at {
                    tokio::time::sleep_until(at).await;
                    continue;
                }
                return Ok(LiveEvent::Lost {
                    reason: "gateway client not running".into(),
                });
            };
            tokio::select! {
                received = feed.recv() => match received {
                    Some(event) => self.enqueue(event),
                    None => {
                        self.feed = None;
                        self.lost = Some("gateway client gone".into());
                    }
                },
                () = sleep_until(settle_at) => {}
            }
        }
    }

    /// Queues `event` in id order among the messages (control events keep their place).
    pub(super) fn enqueue(&mut self, event: FeedEvent) {
        let now = Instant::now();
        let key = |e: &FeedEvent| match e {
            FeedEvent::Message { id, .. } => Some(*id),
            _ => None,
        };
        let at = match key(&event) {
            Some(id) => {
                // Before the first queued message with a higher id, but after any control event
                // that came before it arrived.
                let mut at = self.queue.len();
                while at > 0 && key(&self.queue[at - 1].1).is_some_and(|other| other > id) {
                    at -= 1;
                }
                at
            }
            None => self.queue.len(),
        };
        self.queue.insert(at, (now, event));
    }

    /// Handles the front of the queue once it has settled: a message to return, or nothing
    /// (skipped, or a loss noted in `self.lost`). None when nothing has settled.
    async fn handle_settled(&mut self) -> Result<Option<LiveEvent>, ChannelError> {
        while let Some((arrived, event)) = self.queue.front() {
            if arrived.elapsed() < SETTLE {
                return Ok(None);
            }
            let handled = match event {
                FeedEvent::Message { .. } => self.live_message().await?,
                FeedEvent::Ready { user } => {
                    self.bot_user = Some(*user);
                    self.lost = Some("new gateway session (events may have been missed)".into());
                    None
                }
                FeedEvent::Overflowed => {
                    self.feed = None;
                    self.lost = Some("live event queue overflowed".into());
                    None
                }
                FeedEvent::Ended(result) => {
                    if let Err(e) = result
                        && e.is_fatal()
                    {
                        let error = clone_refusal(e);
                        self.queue.pop_front();
                        return Err(error);
                    }
                    self.feed = None;
                    self.lost = Some("gateway client ended".into());
                    None
                }
            };
            self.queue.pop_front();
            if handled.is_some() || self.lost.is_some() {
                return Ok(handled);
            }
        }
        Ok(None)
    }

    /// The message at the front of the queue as a live event, or None when it is not ours.
    async fn live_message(&mut self) -> Result<Option<LiveEvent>, ChannelError> {
        let Some((
            _,
            FeedEvent::Message {
                json,
                id,
                channel,
                guild,
                author,
                bot,
                edited_ms,
            },
        )) = self.queue.front()
        else {
            return Ok(None);
        };
        let (json, id, channel, guild, author, bot, edited_ms) = (
            json.clone(),
            *id,
            *channel,
            *guild,
            *author,
            *bot,
            *edited_ms,
        );
        if self.skipped(author, bot) {
            return Ok(None);
        }
        let Some(place) = self.place_of(channel, Some(guild)).await? else {
            debug!(channel = %self.config.name, discord_channel = channel, "not a watched channel, skipped");
            return Ok(None);
        };
        let item = match super::message::item(json, channel) {
            Ok(item) => item,
            Err(e) => {
                warn!(channel = %self.config.name, error = %e, "live message unreadable, backfill will read it");
                self.lost = Some("unreadable live message".into());
                return Ok(None);
            }
        };
        let sourced = self.sourced(item, channel, Some(place), edited_ms).await?;
        let conversation = sourced.conversation.clone();
        let order_id = sourced.id;
        match self.returned.get(&conversation) {
            Some(last) if *last == order_id => return Ok(None),
            Some(last) if *last > order_id => {
                // Handing it out would be skipped by the merge: read it again by backfill
                // (which finds it unless a later message's ack moved the cursor past it).
                warn!(channel = %self.config.name, conversation = %conversation, id, after = *last, "live events out of order");
                self.lost = Some(format!("live events out of order (message {id})"));
                return Ok(None);
            }
            _ => {}
        }
        self.returned.insert(conversation, order_id);
        Ok(Some(LiveEvent::Message(Box::new(sourced))))
    }

    /// The bot's own messages always; other bots' unless configured.
    pub(super) fn skipped(&self, author: u64, bot: bool) -> bool {
        Some(author) == self.bot_user || (bot && self.config.ignore_bots)
    }

    /// What `channel` is to us, looked up once. `guild`: from a live event, `Some(None)` for
    /// a direct message; `None` when unknown (a history read).
    pub(super) async fn place_of(
        &mut self,
        channel: u64,
        guild: Option<Option<u64>>,
    ) -> Result<Option<Place>, ChannelError> {
        if let Some(place) = self.places.get(&channel) {
            return Ok(*place);
        }
        let support = self.config.guild_channels.contains(&channel);
        let place = match guild {
            Some(None) => self.config.direct_messages.then_some(Place::Direct),
            _ => match self.rest.channel(channel).await? {
                // Type 1: a DM channel; 10, 11, 12: threads.
                Some(c) if c.kind == 1 => self.config.direct_messages.then_some(Place::Direct),
                Some(c) => {
                    let guild = c.guild_id.as_deref().and_then(|g| g.parse().ok());
                    let parent = c.parent_id.as_deref().and_then(|p| p.parse::<u64>().ok());
                    match parent {
                        Some(parent)
                            if matches!(c.kind, 10..=12)
                                && self.config.guild_channels.contains(&parent) =>
                        {
                            Some(Place::Thread { guild, parent })
                        }
                        _ if support => Some(Place::Support { guild }),
                        _ => None,
                    }
                }
                // Not visible to us: a configured channel stays ours (its history will say).
                None => support.then_some(Place::Support { guild: None }),
            },
        };
        self.places.insert(channel, place);
        Ok(place)
    }

    /// The pseudo-conversation of a channel's edits.
    pub(super) fn edits_of(channel: u64) -> String {
        format!("{channel}{EDITS}")
    }
}

/// The id an edit is ordered by in its pseudo-conversation: its time as a snowflake, with
/// the message id's low bits so two edits in one millisecond stay apart.
pub(super) fn edit_order(edited_ms: i64, message: MessageId) -> MessageId {
    let ms = u64::try_from(edited_ms).unwrap_or(0);
    (ms.saturating_sub(super::DISCORD_EPOCH_MS) << 22) | (message & 0x3f_ffff)
}

fn clone_refusal(e: &ChannelError) -> ChannelError {
    match e {
        ChannelError::Refused { endpoint, detail } => ChannelError::Refused {
            endpoint: endpoint.clone(),
            detail: detail.clone(),
        },
        other => ChannelError::Protocol {
            detail: other.to_string(),
        },
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
