//! The Discord source without a network: the live queue's ordering and loss rules, filters,
//! and the ids edits are ordered by.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use intake_config::{DiscordConfig, Secret};

use super::gateway::FeedEvent;
use super::live::edit_order;
use super::{DiscordSource, snowflake_at};
use crate::cursor::LiveEvent;

const BOT: u64 = 42;
const DM: u64 = 555;

fn source() -> DiscordSource {
    let config = DiscordConfig {
        name: "dc".into(),
        token: Secret::new("t"),
        guild_channels: vec![1],
        direct_messages: true,
        ignore_bots: true,
        // Never contacted: DMs need no lookup and these messages have no attachments.
        api_url: Some("http://127.0.0.1:9".into()),
        gateway_url: None,
        max_file_bytes: 1024,
        batch_size: 10,
        poison_after: 5,
    };
    let mut source = DiscordSource::new(config).unwrap();
    source.bot_user = Some(BOT);
    source
}

fn dm(id: u64, author: u64, bot: bool) -> FeedEvent {
    let json = serde_json::json!({
        "id": id.to_string(), "channel_id": DM.to_string(), "content": "hi",
        "author": {"id": author.to_string(), "username": "u", "bot": bot},
    });
    FeedEvent::Message {
        json: serde_json::to_vec(&json).unwrap(),
        id,
        channel: DM,
        guild: None,
        author,
        bot,
        edited_ms: None,
    }
}

async fn next_id(source: &mut DiscordSource) -> Result<u64, String> {
    match source.next_live().await.unwrap() {
        LiveEvent::Message(m) => Ok(m.id),
        LiveEvent::Lost { reason } => Err(reason),
    }
}

#[tokio::test]
async fn events_close_together_are_put_back_in_id_order() {
    let mut source = source();
    for id in [12, 10, 11] {
        source.enqueue(dm(id, 7, false));
    }
    for want in [10, 11, 12] {
        assert_eq!(next_id(&mut source).await, Ok(want));
    }
    // Nothing left and no feed: a loss, so the channel reconnects.
    assert!(next_id(&mut source).await.is_err());
}

#[tokio::test]
async fn a_message_behind_one_handed_out_is_a_loss_not_a_skip() {
    let mut source = source();
    source.enqueue(dm(20, 7, false));
    assert_eq!(next_id(&mut source).await, Ok(20));
    source.enqueue(dm(20, 7, false)); // the same again: not handed twice
    source.enqueue(dm(19, 7, false)); // late: the backfill must read it
    let lost = next_id(&mut source).await.unwrap_err();
    assert!(lost.contains("out of order"), "{lost}");
}

#[tokio::test]
async fn own_and_other_bots_messages_are_skipped_and_a_new_session_is_a_loss() {
    let mut source = source();
    source.enqueue(dm(30, BOT, true));
    source.enqueue(dm(31, 8, true));
    source.enqueue(dm(32, 7, false));
    assert_eq!(next_id(&mut source).await, Ok(32));
    source.enqueue(FeedEvent::Ready { user: BOT });
    let lost = next_id(&mut source).await.unwrap_err();
    assert!(lost.contains("new gateway session"), "{lost}");
    // Other bots pass when configured.
    source.config.ignore_bots = false;
    source.enqueue(dm(33, 8, true));
    assert_eq!(next_id(&mut source).await, Ok(33));
}

#[test]
fn ids_are_snowflakes_and_edits_keep_their_order() {
    let now = snowflake_at(std::time::SystemTime::now());
    // 2026 is about 11.9 years after Discord's epoch: (ms << 22).
    assert!(now > 1_500_000_000_000_000_000, "{now}");
    let a = edit_order(1_700_000_000_000, 5);
    let b = edit_order(1_700_000_000_001, 4);
    assert!(b > a);
    assert_ne!(edit_order(1_700_000_000_000, 6), a);
}
