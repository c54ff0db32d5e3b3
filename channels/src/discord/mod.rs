//! Discord channel: a bot's direct messages and its support channels (and their threads), as a
//! [`LiveSource`] that [`CursorChannel`](crate::cursor::CursorChannel) drives.
//!
//! Delivery semantics (the cursor model's, see [`crate::cursor`]):
//! - The live feed is serenity's gateway client; it confirms nothing. Each conversation (a
//!   support channel, a thread, a DM channel; the channel id) keeps a cursor, the id of its
//!   last committed message, saved in Redis after the case is durable.
//! - On start and after every loss (the client ended, a new session after an invalid one, an
//!   event queue overflow, events out of order) every watched conversation is read over REST
//!   (`GET /channels/{id}/messages?after=`) from its cursor, oldest first, merged with live
//!   events without duplicates. A RESUME replays what was missed and needs no backfill.
//! - Threads and DM channels seen for the first time are read from their beginning (they are
//!   new), so a DM written while Intake was away is caught when the next one arrives.
//! - Edits arrive live only, as `message.edited` cases with their own key (`...:edit:<ms>`),
//!   in a per-channel pseudo-conversation `<channel id>~edits` that has no history.
//! - The bot's own messages, and other bots' unless `ignore_bots = false`, are skipped.
//! - A refused token (close 4004, HTTP 401) or privileged intent (close 4014) is
//!   [`ChannelError::Refused`]: the gateway stops non-zero instead of reconnecting forever.
//! - Idempotency key `discord:<channel id>:<message id>` ([`keys`]).
//!
//! Modules: [`gateway`] (serenity client, raw events), [`live`] (the live queue: order,
//! filters, what is ours), [`message`] (message JSON -> inbound, attachment downloads),
//! [`rest`] (history, lookups, downloads, rate limits), [`build`], [`normalize`], [`check`].

mod build;
mod check;
mod gateway;
pub mod keys;
mod live;
mod message;
mod normalize;
mod rest;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use intake_config::DiscordConfig;
use tracing::info;

pub use build::build;
pub use check::check;
pub use normalize::DiscordNormalizer;

use crate::cursor::{History, LiveEvent, LiveSource, MessageId};
use crate::{ChannelError, ChannelKind};
use gateway::{Feed, FeedEvent};
use rest::{Reply, Rest};

/// How long start-up waits for the gateway's READY.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Discord's epoch (2015-01-01) in Unix milliseconds: snowflakes count from it.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
/// How far the connect mark is set back, for a local clock behind Discord's: a support
/// channel seen for the first time starts this much before the connect.
const CLOCK_MARGIN: Duration = Duration::from_secs(10);
/// History pages of only skipped (bot) messages read through in one `history` call.
const MAX_SKIPPED_PAGES: usize = 50;
/// Suffix of the pseudo-conversation that carries a channel's live edits.
const EDITS: &str = "~edits";

/// What a channel is to this bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Direct,
    Support { guild: Option<u64> },
    Thread { guild: Option<u64>, parent: u64 },
}

/// The Discord side of the channel.
pub struct DiscordSource {
    config: DiscordConfig,
    rest: Rest,
    feed: Option<Feed>,
    /// The bot's own user id, from READY.
    bot_user: Option<u64>,
    /// Channel id -> what it is; `None`: not ours (another channel of a guild).
    places: HashMap<u64, Option<Place>>,
    /// Live events taken off the feed and not returned yet, with when they arrived.
    queue: VecDeque<(tokio::time::Instant, FeedEvent)>,
    /// Per conversation, the highest id returned live by this process.
    returned: HashMap<String, MessageId>,
    /// A loss to report before anything else.
    lost: Option<String>,
}

impl std::fmt::Debug for DiscordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordSource")
            .field("name", &self.config.name)
            .field("connected", &self.feed.is_some())
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl DiscordSource {
    pub fn new(config: DiscordConfig) -> Result<Self, ChannelError> {
        let base = config.api_url.as_deref().unwrap_or("https://discord.com");
        let rest = Rest::new(base, config.token.expose())?;
        Ok(DiscordSource {
            config,
            rest,
            feed: None,
            bot_user: None,
            places: HashMap::new(),
            queue: VecDeque::new(),
            returned: HashMap::new(),
            lost: None,
        })
    }

    /// Starts the gateway client and waits for its READY (or its refusal).
    async fn start_feed(&mut self) -> Result<(), ChannelError> {
        let mut feed = gateway::start(
            self.config.token.expose(),
            self.config.api_url.as_deref(),
            self.config.gateway_url.as_deref(),
        )
        .await?;
        let endpoint = self.rest.endpoint().to_string();
        let waited = tokio::time::timeout(READY_TIMEOUT, async {
            loop {
                match feed.recv().await {
                    Some(FeedEvent::Ready { user }) => return Ok(user),
                    Some(FeedEvent::Ended(Err(e))) => return Err(e),
                    Some(FeedEvent::Ended(Ok(()))) | None => {
                        return Err(ChannelError::Connect {
                            endpoint: endpoint.clone(),
                            detail: "gateway closed before READY".into(),
                        });
                    }
                    Some(_) => {}
                }
            }
        })
        .await;
        let user = match waited {
            Ok(result) => result?,
            Err(_) => {
                return Err(ChannelError::Connect {
                    endpoint,
                    detail: format!("no READY within {}s", READY_TIMEOUT.as_secs()),
                });
            }
        };
        info!(channel = %self.config.name, bot_user = user, "discord gateway ready");
        self.bot_user = Some(user);
        self.feed = Some(feed);
        Ok(())
    }
}

/// The lowest snowflake of `at`: every message created before it has a lower id.
fn snowflake_at(at: SystemTime) -> MessageId {
    let ms = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    ms.saturating_sub(DISCORD_EPOCH_MS) << 22
}

impl LiveSource for DiscordSource {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Discord
    }

    fn name(&self) -> &str {
        &self.config.name
    }

    fn configured(&self) -> Vec<String> {
        self.config
            .guild_channels
            .iter()
            .map(u64::to_string)
            .collect()
    }

    async fn connect(&mut self) -> Result<MessageId, ChannelError> {
        // Taken before the feed starts: a message it delivers may not be below the mark (a
        // new support channel starts at the mark). The margin covers a clock behind Discord's.
        let mark = snowflake_at(SystemTime::now() - CLOCK_MARGIN);
        // A feed still running lost nothing itself (the loss was a new session or an order
        // problem, and it goes on from there): only a stopped one is restarted.
        if self.feed.is_none() {
            self.queue.clear();
            self.start_feed().await?;
        }
        // `returned` is kept: a live event behind one handed out before the reconnect is
        // still out of order.
        self.lost = None;
        Ok(mark)
    }

    async fn next_event(&mut self) -> Result<LiveEvent, ChannelError> {
        self.next_live().await
    }

    async fn history(
        &mut self,
        conversation: &str,
        after: MessageId,
        limit: usize,
    ) -> Result<History, ChannelError> {
        if conversation.ends_with(EDITS) {
            return Ok(History::Page {
                messages: Vec::new(),
                more: false,
            });
        }
        let Ok(channel) = conversation.parse::<u64>() else {
            return Ok(History::Unreadable {
                detail: "not a channel id".into(),
            });
        };
        let place = self.place_of(channel, None).await?;
        let mut after = after;
        // Pages that hold only skipped messages (bots) are read through, so `more` with no
        // message never reads as a gap.
        for _ in 0..MAX_SKIPPED_PAGES {
            let body = match self.rest.messages_after(channel, after, limit).await? {
                Reply::Refused(status) => {
                    return Ok(History::Unreadable {
                        detail: format!("history refused (status {})", status.as_u16()),
                    });
                }
                Reply::Ok(body) => body,
            };
            let page = message::page(&body, channel)?;
            let more = page.len() >= limit;
            let last = page.last().map(|m| m.head.id);
            let mut messages = Vec::new();
            for item in page {
                if self.skipped(item.head.author(), item.head.bot()) {
                    continue;
                }
                messages.push(self.sourced(item, channel, place, None).await?);
            }
            match last {
                Some(last) if more && messages.is_empty() => after = last,
                _ => return Ok(History::Page { messages, more }),
            }
        }
        Ok(History::Page {
            messages: Vec::new(),
            more: true,
        })
    }

    fn start_seen(&self, conversation: &str, first_live: MessageId) -> MessageId {
        let place = conversation
            .parse::<u64>()
            .ok()
            .and_then(|c| self.places.get(&c).copied().flatten());
        match place {
            // New conversations: read from their beginning.
            Some(Place::Direct | Place::Thread { .. }) => 0,
            _ => first_live.saturating_sub(1),
        }
    }
}
