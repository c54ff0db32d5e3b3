//! The stream-without-ack model end to end: a [`CursorChannel`] over the in-memory live source
//! ([`SimWorld`]), driven by the real channel worker into a real redis-server, with its cursors
//! in Redis ([`RedisCheckpoints`]). While messages keep arriving (in configured conversations
//! and in DMs that appear over time), the live connection is dropped five times and the
//! gateway is "restarted" twice (channel and worker dropped, new ones built over the same Redis):
//! every message lands exactly once, and no gap is recorded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use intake_channels::cursor::sim::{self, SimWorld};
use intake_channels::cursor::{CursorChannel, CursorLimits};
use intake_channels::email::EmailNormalizer;
use intake_channels::{ChannelKind, CheckpointStore};
use intake_gateway::blobs::BlobStore;
use intake_gateway::checkpoint::RedisCheckpoints;
use intake_gateway::conversation::ConversationStore;
use intake_gateway::health::Health;
use intake_gateway::sink::StreamSink;
use intake_gateway::worker::{ChannelWorker, PrepareContext, Shutdown, channel_ref};
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::DEAD;
use tokio::task::JoinHandle;

const NAME: &str = "discord-sim";
const CONFIGURED: [&str; 2] = ["support", "thread"];
/// Small pages, so backfills take several.
const LIMITS: CursorLimits = CursorLimits {
    page_size: 7,
    max_pages: 50,
    max_conversations: 1000,
};

/// One gateway "process": a worker driving a fresh channel.
struct Run {
    task: JoinHandle<()>,
    shutdown: Shutdown,
}

impl Run {
    fn start(
        world: &SimWorld,
        redis: &RedisServer,
        blobs: &std::path::Path,
        limits: CursorLimits,
    ) -> Run {
        let config = intake_tests::setup::config(redis, blobs, Vec::new()).redis;
        let conn = intake_gateway::redis_conn::connect(&config).unwrap();
        let prefix = config.key_prefix();
        // DMs first seen live are read from their beginning, so one whose first messages came
        // while disconnected is complete once it is seen.
        let source = world.source(ChannelKind::Discord, NAME, &CONFIGURED, true);
        let channel =
            CursorChannel::new(source, RedisCheckpoints::new(conn.clone(), &prefix), limits);
        let shutdown = Shutdown::default();
        let worker = ChannelWorker::new(
            channel,
            StreamSink::new(conn.clone(), &config),
            ConversationStore::new(conn, &prefix, &config_conversations()),
            PrepareContext {
                channel: channel_ref(ChannelKind::Discord, NAME),
                blobs: BlobStore::new(blobs),
                normalizer: Arc::new(EmailNormalizer {
                    authserv_id: None,
                    shared: Arc::default(),
                }),
            },
            Health::new(),
            shutdown.clone(),
            10,
        );
        Run {
            task: tokio::spawn(worker.run()),
            shutdown,
        }
    }

    /// Stops taking work, drains what was received, and drops channel and worker.
    async fn stop(self) {
        self.shutdown.stop.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the worker stops")
            .unwrap();
    }
}

fn config_conversations() -> intake_config::ConversationsConfig {
    intake_config::ConversationsConfig::default()
}

/// Checkpoints on the test's Redis, as the gateway keeps them.
fn checkpoints(redis: &RedisServer, blobs: &std::path::Path) -> RedisCheckpoints {
    let config = intake_tests::setup::config(redis, blobs, Vec::new()).redis;
    let conn = intake_gateway::redis_conn::connect(&config).unwrap();
    RedisCheckpoints::new(conn, &config.key_prefix())
}

/// Waits until the world has seen `connects` connects and is connected.
async fn connected(world: &SimWorld, connects: usize) {
    intake_tests::wait::wait_until(
        Duration::from_secs(10),
        Duration::from_millis(5),
        || async { world.connects() >= connects && world.is_connected() },
    )
    .await
    .expect("the channel connects");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_once_across_reconnects_and_restarts() {
    let redis = require_server!(RedisServer::start().await);
    let blobs = tempfile::tempdir().unwrap();
    let world = SimWorld::new();
    let mut run = Run::start(&world, &redis, blobs.path(), LIMITS);
    // Configured conversations start "now" on the very first connect.
    connected(&world, 1).await;

    // Messages keep arriving until the faults are over, however long they take.
    let faults_done = Arc::new(AtomicBool::new(false));
    let poster = tokio::spawn({
        let (world, faults_done) = (world.clone(), faults_done.clone());
        async move {
            let mut i = 0u32;
            while !faults_done.load(Ordering::SeqCst) {
                let conversation = match i % 5 {
                    0 | 1 => "support".to_string(),
                    2 => "thread".to_string(),
                    // A new DM every 40 messages, each written to for a while.
                    _ => format!("dm-{}", (i / 40) % 6),
                };
                world.post(&conversation);
                i += 1;
                tokio::time::sleep(Duration::from_millis(4)).await;
            }
            i
        }
    });

    // Faults: drop, drop, restart, drop, drop, restart, drop.
    let mut connects = 1;
    for fault in ["drop", "drop", "restart", "drop", "drop", "restart", "drop"] {
        tokio::time::sleep(Duration::from_millis(180)).await;
        if fault == "drop" {
            world.drop_connection();
        } else {
            run.stop().await;
            run = Run::start(&world, &redis, blobs.path(), LIMITS);
        }
        connects += 1;
        connected(&world, connects).await;
    }
    faults_done.store(true, Ordering::SeqCst);
    let during_faults = poster.await.unwrap();
    assert!(during_faults >= 100, "only {during_faults} messages posted");

    // One last live message in every conversation, so each DM is seen on a stable connection.
    let conversations: HashSet<String> = world.posted().into_iter().map(|(c, _)| c).collect();
    for conversation in &conversations {
        world.post(conversation);
    }
    let posted = world.posted();
    common::wait_for_total(&redis, posted.len() as u64, Duration::from_secs(60)).await;
    let keys = common::assert_exactly_once(&redis, posted.len()).await;
    let expected: HashSet<String> = posted
        .iter()
        .map(|(c, id)| sim::key(NAME, c, *id))
        .collect();
    assert_eq!(keys, expected, "every posted message, none other");
    assert_eq!(redis.stream_len(DEAD).await.unwrap(), 0, "no gap recorded");
    assert_eq!(world.connects(), 8, "1 start + 5 drops + 2 restarts");

    // The cursors live in Redis: each is its conversation's last message once all is acked.
    let checkpoints = checkpoints(&redis, blobs.path());
    intake_tests::wait::wait_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            for conversation in &conversations {
                let last = posted
                    .iter()
                    .rev()
                    .find(|(c, _)| c == conversation)
                    .unwrap()
                    .1;
                let cursor = checkpoints
                    .load(&format!("cursor:{NAME}:{conversation}"))
                    .await
                    .unwrap();
                if cursor != Some(last.to_string()) {
                    return false;
                }
            }
            true
        },
    )
    .await
    .expect("every cursor at its conversation's last message");
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_cut_short_lands_as_a_gap_on_the_dead_letter_stream() {
    let redis = require_server!(RedisServer::start().await);
    let blobs = tempfile::tempdir().unwrap();
    let world = SimWorld::new();
    let store = checkpoints(&redis, blobs.path());
    // Support was read up to the beginning; five messages came while the gateway was down.
    store
        .save(&format!("cursor:{NAME}:support"), "0")
        .await
        .unwrap();
    let posted: Vec<u64> = (0..5).map(|_| world.post("support")).collect();
    let limits = CursorLimits {
        page_size: 2,
        max_pages: 1,
        ..LIMITS
    };
    let run = Run::start(&world, &redis, blobs.path(), limits);
    common::wait_for_total(&redis, 3, Duration::from_secs(20)).await;
    common::assert_exactly_once(&redis, 3).await;

    let dead = redis.read_stream(DEAD).await.unwrap();
    assert_eq!(dead.len(), 1, "one gap");
    let letter: serde_json::Value = serde_json::from_str(&dead[0].1["dead_letter"]).unwrap();
    assert_eq!(letter["reason"], "backfill_gap");
    assert_eq!(letter["headers"]["conversation"], "support");
    assert_eq!(letter["headers"]["after-id"], posted[1].to_string());
    assert_eq!(letter["headers"]["through-id"], posted[4].to_string());
    // Acked like any message: the cursor is past the gap, so a restart does not read it again.
    intake_tests::wait::wait_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            store.load(&format!("cursor:{NAME}:support")).await.unwrap()
                == Some(posted[4].to_string())
        },
    )
    .await
    .expect("the cursor moves past the gap");
    run.stop().await;
}
