//! Unit tests of the stream model over the in-memory source ([`SimWorld`]) and
//! [`MemoryCheckpointStore`]: forced reconnects, messages sent while disconnected, cursors that
//! move only on ack, conversations seen live, and gaps that land as dead letters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use super::sim::{SimSource, SimWorld};
use super::{CursorChannel, CursorLimits, GAP_REASON, MessageId};
use crate::{Channel, ChannelError, ChannelKind, Inbound, MemoryCheckpointStore, Payload, Receipt};

type Sim = CursorChannel<SimSource, MemoryCheckpointStore>;

const NAME: &str = "sim";

fn channel(world: &SimWorld, store: &MemoryCheckpointStore, limits: CursorLimits) -> Sim {
    let source = world.source(ChannelKind::Discord, NAME, &["support", "thread"], false);
    CursorChannel::new(source, store.clone(), limits)
}

/// A store where both configured conversations start from their beginning.
fn store_from_beginning() -> MemoryCheckpointStore {
    let store = MemoryCheckpointStore::new();
    store.set("cursor:sim:support", "0");
    store.set("cursor:sim:thread", "0");
    store
}

/// What an inbound is: `(conversation, id)` of a message, or `("gap:<conversation>", after)`.
fn what(inbound: &Inbound) -> (String, MessageId) {
    if let Payload::Rejected(r) = &inbound.payload {
        assert_eq!(r.reason, GAP_REASON);
        let conversation = &r.headers["conversation"];
        return (
            format!("gap:{conversation}"),
            r.headers["after-id"].parse().unwrap(),
        );
    }
    let key = &inbound.idempotency_keys[0];
    let mut parts = key.rsplitn(3, ':');
    let id = parts.next().unwrap().parse().unwrap();
    let conversation = parts.next().unwrap().to_string();
    (conversation, id)
}

/// Receives until `n` items came, acking each batch when `ack` is set; then checks that nothing
/// more is waiting.
async fn take(ch: &mut Sim, n: usize, ack: bool) -> Vec<Inbound> {
    let mut got = Vec::new();
    while got.len() < n {
        let batch = tokio::time::timeout(Duration::from_secs(5), ch.receive(100))
            .await
            .expect("receive timed out")
            .expect("receive failed");
        if ack {
            ch.ack(batch.iter().map(|i| i.receipt).collect())
                .await
                .unwrap();
        }
        got.extend(batch);
    }
    assert_eq!(got.len(), n, "more than expected: {:?}", ids(&got));
    let more = tokio::time::timeout(Duration::from_millis(100), ch.receive(100)).await;
    assert!(more.is_err(), "unexpected extra delivery");
    got
}

fn ids(batch: &[Inbound]) -> Vec<(String, MessageId)> {
    batch.iter().map(what).collect()
}

fn at(conversation: &str, id: MessageId) -> (String, MessageId) {
    (conversation.to_string(), id)
}

async fn connected(world: &SimWorld, connects: usize) {
    while world.connects() < connects || !world.is_connected() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn no_gap_and_no_duplicate_across_forced_reconnects() {
    let world = SimWorld::new();
    let store = store_from_beginning();
    let mut ch = channel(&world, &store, CursorLimits::default());
    let mut delivered = Vec::new();
    let mut expected = 0;
    for round in 0..6 {
        // Posted before this round's connect (while disconnected): only the backfill sees them.
        for _ in 0..3 {
            world.post("support");
        }
        world.post("thread");
        expected += 4;
        let got = take(&mut ch, expected - delivered.len(), true).await;
        delivered.extend(ids(&got));
        // Posted live on this connection.
        let (got, ()) = tokio::join!(take(&mut ch, 2, true), async {
            connected(&world, round + 1).await;
            world.post("thread");
            world.post("support");
        });
        expected += 2;
        delivered.extend(ids(&got));
        world.drop_connection();
    }
    assert_eq!(world.connects(), 6);
    assert_eq!(delivered, world.posted(), "every message once, in order");
    let last_support = world
        .posted()
        .iter()
        .rev()
        .find(|(c, _)| c == "support")
        .unwrap()
        .1;
    assert_eq!(
        store.get("cursor:sim:support"),
        Some(last_support.to_string())
    );
}

#[tokio::test]
async fn cursor_advances_only_on_ack_and_unacked_messages_come_again() {
    let world = SimWorld::new();
    let store = store_from_beginning();
    let mut ch = channel(&world, &store, CursorLimits::default());
    let first: Vec<MessageId> = (0..3).map(|_| world.post("support")).collect();
    let got = take(&mut ch, 3, false).await;
    assert_eq!(
        store.get("cursor:sim:support").as_deref(),
        Some("0"),
        "nothing acked yet"
    );

    ch.ack(vec![got[0].receipt, got[1].receipt]).await.unwrap();
    assert_eq!(store.get("cursor:sim:support"), Some(first[1].to_string()));

    // The third was handed out and not acked: after a reconnect it comes again, first.
    world.drop_connection();
    let later = world.post("support");
    let again = take(&mut ch, 2, false).await;
    assert_eq!(
        ids(&again),
        vec![at("support", first[2]), at("support", later)]
    );

    // The old receipt is still acked in receive order (it is durable), then the new ones.
    ch.ack(vec![got[2].receipt]).await.unwrap();
    assert_eq!(store.get("cursor:sim:support"), Some(first[2].to_string()));
    ch.ack(again.iter().map(|i| i.receipt).collect())
        .await
        .unwrap();
    assert_eq!(store.get("cursor:sim:support"), Some(later.to_string()));

    let refused = ch.ack(vec![Receipt(999)]).await;
    assert!(
        matches!(refused, Err(ChannelError::Protocol { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_message_read_by_the_backfill_and_live_goes_out_once() {
    let world = SimWorld::new();
    let store = store_from_beginning();
    let limits = CursorLimits {
        page_size: 1,
        ..CursorLimits::default()
    };
    let mut ch = channel(&world, &store, limits);
    world.post("support");
    world.post("support");
    let first = ch.receive(1).await.unwrap();
    assert_eq!(first.len(), 1);
    ch.ack(vec![first[0].receipt]).await.unwrap();
    // Posted after the connect, before the backfill reached it: both live and in history.
    let both = world.post("support");
    let mut got = ids(&first);
    got.extend(ids(&take(&mut ch, 2, true).await));
    assert_eq!(
        got,
        vec![at("support", 1), at("support", 2), at("support", both)]
    );
    assert!(ch.receive_ready(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_conversation_seen_live_is_remembered_and_backfilled_after_reconnect_and_restart() {
    let world = SimWorld::new();
    let store = store_from_beginning();
    let mut ch = channel(&world, &store, CursorLimits::default());
    let (got, first) = tokio::join!(take(&mut ch, 1, true), async {
        connected(&world, 1).await;
        world.post("dm-1")
    });
    assert_eq!(ids(&got), vec![at("dm-1", first)]);
    assert_eq!(store.get("conversations:sim").as_deref(), Some("dm-1"));
    assert_eq!(store.get("cursor:sim:dm-1"), Some(first.to_string()));

    world.drop_connection();
    let missed = world.post("dm-1");
    assert_eq!(ids(&take(&mut ch, 1, true).await), vec![at("dm-1", missed)]);

    // A restart: a new channel over the same store backfills the DM it never saw.
    drop(ch);
    world.drop_connection();
    let while_down = world.post("dm-1");
    let mut ch = channel(&world, &store, CursorLimits::default());
    assert_eq!(
        ids(&take(&mut ch, 1, true).await),
        vec![at("dm-1", while_down)]
    );
}

#[tokio::test]
async fn the_page_limit_records_a_gap_and_acking_it_moves_past() {
    let world = SimWorld::new();
    let store = store_from_beginning();
    let limits = CursorLimits {
        page_size: 2,
        max_pages: 2,
        ..CursorLimits::default()
    };
    let mut ch = channel(&world, &store, limits);
    let support: Vec<MessageId> = (0..7).map(|_| world.post("support")).collect();
    let thread = world.post("thread");
    let got = take(&mut ch, 6, false).await;
    let mut expected: Vec<_> = support[..4].iter().map(|id| at("support", *id)).collect();
    expected.push(at("gap:support", support[3]));
    expected.push(at("thread", thread));
    assert_eq!(
        ids(&got),
        expected,
        "four read, the rest a gap, then the next conversation"
    );

    let Payload::Rejected(gap) = &got[4].payload else {
        panic!("not a gap")
    };
    assert_eq!(
        gap.headers["through-id"],
        thread.to_string(),
        "up to the mark"
    );
    assert!(gap.error.contains("limit of 2 pages"), "{}", gap.error);
    assert_eq!(
        got[4].idempotency_keys,
        vec![format!("gap:discord:sim:support:{}:{thread}", support[3])]
    );

    ch.ack(got[..5].iter().map(|i| i.receipt).collect())
        .await
        .unwrap();
    assert_eq!(
        store.get("cursor:sim:support"),
        Some(thread.to_string()),
        "past the gap"
    );
    ch.ack(vec![got[5].receipt]).await.unwrap();
    // Reconnecting does not read the gap again.
    world.drop_connection();
    let next = world.post("support");
    assert_eq!(
        ids(&take(&mut ch, 1, true).await),
        vec![at("support", next)]
    );
}

#[tokio::test]
async fn unreadable_history_is_a_gap_and_other_conversations_still_backfill() {
    let world = SimWorld::new();
    let store = store_from_beginning();
    world.deny_history("support");
    let mut ch = channel(&world, &store, CursorLimits::default());
    world.post("support");
    world.post("support");
    let thread = world.post("thread");
    let got = take(&mut ch, 2, true).await;
    assert_eq!(ids(&got), vec![at("gap:support", 0), at("thread", thread)]);
    let Payload::Rejected(gap) = &got[0].payload else {
        panic!("not a gap")
    };
    assert!(gap.error.contains("simulated 403"), "{}", gap.error);
    // Live messages of the unreadable conversation still arrive.
    world.post("support");
    assert_eq!(take(&mut ch, 1, true).await.len(), 1);
}

#[tokio::test]
async fn a_configured_conversation_without_a_cursor_starts_now() {
    let world = SimWorld::new();
    let store = MemoryCheckpointStore::new();
    for _ in 0..3 {
        world.post("support");
    }
    let mut ch = channel(&world, &store, CursorLimits::default());
    let (got, live) = tokio::join!(take(&mut ch, 1, true), async {
        connected(&world, 1).await;
        // Saved at connect, before anything was delivered.
        assert_eq!(store.get("cursor:sim:support").as_deref(), Some("3"));
        world.post("support")
    });
    assert_eq!(
        ids(&got),
        vec![at("support", live)],
        "older history is not ingested"
    );
}

#[tokio::test]
async fn a_forgotten_conversation_is_backfilled_from_its_cursor_when_seen_again() {
    let world = SimWorld::new();
    let store = store_from_beginning();
    let limits = CursorLimits {
        max_conversations: 1,
        ..CursorLimits::default()
    };
    let mut ch = channel(&world, &store, limits);
    let (got, ()) = tokio::join!(take(&mut ch, 2, true), async {
        connected(&world, 1).await;
        world.post("dm-a");
        world.post("dm-b");
    });
    assert_eq!(got.len(), 2);
    assert_eq!(
        store.get("conversations:sim").as_deref(),
        Some("dm-b"),
        "bounded"
    );

    world.drop_connection();
    let missed = world.post("dm-a");
    // dm-a is not watched any more: the reconnect does not see it...
    let calls = world.history_calls();
    let (got, live) = tokio::join!(take(&mut ch, 2, true), async {
        connected(&world, 2).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        // ...until it is seen live again: then it is backfilled from its cursor first.
        world.post("dm-a")
    });
    assert_eq!(ids(&got), vec![at("dm-a", missed), at("dm-a", live)]);
    assert!(world.history_calls() > calls);
}
