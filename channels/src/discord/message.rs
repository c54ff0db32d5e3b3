//! From message JSON (a history item, or a live event's message) to what the worker gets: the
//! bytes kept as they came, the few fields the channel itself needs, the attachments
//! downloaded into `Wire.files` under their attachment ids.

use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use intake_normalizer::case::{DiscordSource as DiscordIds, Source};

use super::live::edit_order;
use super::{DiscordSource, Place, keys};
use crate::cursor::SourcedMessage;
use crate::{ChannelError, FetchedFile, FileContent, Inbound, Payload, Receipt, Wire};

/// What the channel reads of a message (the normalizer reads the rest).
#[derive(Debug, Deserialize)]
pub(super) struct Head {
    #[serde(deserialize_with = "snowflake")]
    pub id: u64,
    #[serde(default, rename = "author")]
    author_raw: HeadAuthor,
    #[serde(default)]
    attachments: Vec<HeadAttachment>,
}

#[derive(Debug, Default, Deserialize)]
struct HeadAuthor {
    #[serde(default, deserialize_with = "snowflake")]
    id: u64,
    #[serde(default)]
    bot: Option<bool>,
    #[serde(default)]
    system: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct HeadAttachment {
    #[serde(deserialize_with = "snowflake")]
    id: u64,
    #[serde(default)]
    url: String,
    #[serde(default)]
    size: u64,
}

/// One message: its bytes and what the channel read of them.
#[derive(Debug)]
pub(super) struct Item {
    pub bytes: Vec<u8>,
    pub head: Head,
}

fn snowflake<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(u64),
    }
    match Either::deserialize(d)? {
        Either::Number(n) => Ok(n),
        Either::Text(t) => t.parse().map_err(serde::de::Error::custom),
    }
}

/// One message's JSON.
pub(super) fn item(bytes: Vec<u8>, channel: u64) -> Result<Item, ChannelError> {
    let head: Head = serde_json::from_slice(&bytes).map_err(|_| ChannelError::Protocol {
        detail: format!("a message of channel {channel} is not a message object"),
    })?;
    Ok(Item { bytes, head })
}

impl Head {
    pub(super) fn author(&self) -> u64 {
        self.author_raw.id
    }

    /// Written by a bot or by Discord itself.
    pub(super) fn bot(&self) -> bool {
        self.author_raw.bot.unwrap_or(false) || self.author_raw.system.unwrap_or(false)
    }
}

/// A history page (Discord sends it newest first), oldest first, each item's bytes kept
/// exactly as sent.
pub(super) fn page(body: &[u8], channel: u64) -> Result<Vec<Item>, ChannelError> {
    let raw: Vec<Box<RawValue>> =
        serde_json::from_slice(body).map_err(|_| ChannelError::Protocol {
            detail: format!("history of channel {channel} is not an array of messages"),
        })?;
    let mut items = raw
        .into_iter()
        .map(|m| item(m.get().as_bytes().to_vec(), channel))
        .collect::<Result<Vec<Item>, ChannelError>>()?;
    items.sort_by_key(|i| i.head.id);
    Ok(items)
}

impl DiscordSource {
    /// `item` of `channel` as a message for the cursor channel, its attachments fetched.
    /// `edited_ms`: set for a live edit, which goes to the channel's edits conversation.
    pub(super) async fn sourced(
        &mut self,
        item: Item,
        channel: u64,
        place: Option<Place>,
        edited_ms: Option<i64>,
    ) -> Result<SourcedMessage, ChannelError> {
        let id = item.head.id;
        let mut files = Vec::new();
        let max = self.config.max_file_bytes;
        for attachment in &item.head.attachments {
            let content = if attachment.size > max {
                FileContent::Omitted {
                    reason: format!("larger than max_file_bytes ({max} bytes)"),
                }
            } else {
                match self.rest.download(&attachment.url, max).await? {
                    Ok(bytes) => FileContent::Bytes(bytes),
                    Err(reason) => FileContent::Omitted { reason },
                }
            };
            files.push(FetchedFile {
                id: attachment.id.to_string(),
                content,
            });
        }
        let (guild, parent) = match place {
            Some(Place::Support { guild }) => (guild, None),
            Some(Place::Thread { guild, parent }) => (guild, Some(parent)),
            Some(Place::Direct) | None => (None, None),
        };
        let (conversation, order, key) = match edited_ms {
            Some(ms) => (
                Self::edits_of(channel),
                edit_order(ms, id),
                keys::edit_key(channel, id, ms),
            ),
            None => (channel.to_string(), id, keys::message_key(channel, id)),
        };
        let ids = DiscordIds {
            channel_id: channel.to_string(),
            message_id: id.to_string(),
            guild_id: guild.map(|g| g.to_string()),
            thread_parent_id: parent.map(|p| p.to_string()),
            edited_at: edited_ms.and_then(rfc3339_ms),
        };
        Ok(SourcedMessage {
            conversation,
            id: order,
            inbound: Inbound {
                idempotency_keys: vec![key],
                lookup_keys: 1,
                received_at: rfc3339_ms(now_ms()).unwrap_or_default(),
                payload: Payload::Wire(Wire {
                    bytes: item.bytes,
                    sha256: None,
                    source: Source {
                        message_id: Some(id.to_string()),
                        discord: Some(ids),
                        ..Source::default()
                    },
                    files,
                }),
                receipt: Receipt(0),
            },
        })
    }
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn rfc3339_ms(ms: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()?
        .format(&Rfc3339)
        .ok()
}
