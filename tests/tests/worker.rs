//! The channel worker against an in-memory channel double and a real redis-server: every
//! message is acked only after it is in the stream, exactly once, also when an ack fails while
//! the channel keeps its connection (the checkpoint save failed, say) and a batch was fetched
//! ahead, when it is stopped mid-stream (it drains what it received and fetches nothing more),
//! and when small batches (held a step between prepare and resolve) and large ones (prepared
//! and resolved in one step) follow each other.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use intake_channels::email::EmailNormalizer;
use intake_channels::{Channel, ChannelError, ChannelKind, Inbound, Payload, Receipt, Wire};
use intake_config::{ConversationsConfig, RedisConfig, Secret};
use intake_gateway::blobs::BlobStore;
use intake_gateway::conversation::ConversationStore;
use intake_gateway::health::Health;
use intake_gateway::sink::StreamSink;
use intake_gateway::worker::{ChannelWorker, PrepareContext, Shutdown, channel_ref};
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use tokio_util::sync::CancellationToken;

/// What the double saw, shared with the test.
#[derive(Debug, Default)]
struct Log {
    acked: Vec<u64>,
    /// Stream length when each ack arrived: an ack must never run ahead of the stream.
    stream_len_at_ack: Vec<u64>,
    /// Messages handed out after the stop signal.
    taken_after_stop: usize,
}

/// Hands out each message once (like one IMAP connection), in batches; the first ack fails
/// once without losing the connection.
struct FakeChannel {
    queue: VecDeque<Inbound>,
    batch: usize,
    fail_next_ack: bool,
    log: Arc<Mutex<Log>>,
    redis: redis::Client,
    /// Cancelled at the first ack, to stop the worker mid-stream.
    stop_at_first_ack: Option<CancellationToken>,
}

impl FakeChannel {
    fn new(messages: u64, log: &Arc<Mutex<Log>>, redis: &RedisServer) -> Self {
        FakeChannel {
            queue: (1..=messages).map(message).collect(),
            batch: 10,
            fail_next_ack: false,
            log: log.clone(),
            redis: redis.client().unwrap(),
            stop_at_first_ack: None,
        }
    }

    fn take(&mut self, max: usize) -> Vec<Inbound> {
        let n = max.min(self.batch).min(self.queue.len());
        if self
            .stop_at_first_ack
            .as_ref()
            .is_some_and(|t| t.is_cancelled())
        {
            self.log.lock().unwrap().taken_after_stop += n;
        }
        self.queue.drain(..n).collect()
    }
}

impl Channel for FakeChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    fn name(&self) -> &str {
        "fake"
    }

    async fn receive(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        loop {
            let batch = self.take(max);
            if !batch.is_empty() {
                return Ok(batch);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn receive_ready(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        Ok(self.take(max))
    }

    async fn ack(&mut self, receipts: Vec<Receipt>) -> Result<(), ChannelError> {
        let mut conn = self.redis.get_multiplexed_async_connection().await.unwrap();
        let len: u64 = redis::cmd("XLEN")
            .arg("intake:cases")
            .query_async(&mut conn)
            .await
            .unwrap();
        let mut log = self.log.lock().unwrap();
        log.stream_len_at_ack.push(len);
        log.acked.extend(receipts.iter().map(|r| r.0));
        if let Some(stop) = &self.stop_at_first_ack {
            stop.cancel();
        }
        if std::mem::take(&mut self.fail_next_ack) {
            return Err(ChannelError::Checkpoint {
                detail: "injected".into(),
            });
        }
        Ok(())
    }
}

fn message(i: u64) -> Inbound {
    padded_message(i, 0)
}

/// Message `i` with `pad` more bytes of body.
fn padded_message(i: u64, pad: usize) -> Inbound {
    let padding = "x".repeat(pad);
    Inbound {
        idempotency_keys: vec![format!("fake:{i}")],
        lookup_keys: 1,
        received_at: "2026-11-22T10:00:00Z".into(),
        payload: Payload::Wire(Wire {
            bytes: format!("From: c{i}@example.com\r\nSubject: m{i}\r\nMessage-ID: <m{i}@x>\r\n\r\nhello {i}\r\n{padding}\r\n").into_bytes(),
            ..Wire::default()
        }),
        receipt: Receipt(i),
    }
}

/// A worker on `channel` against `redis`, with its blob dir kept alive by the caller.
fn worker(
    channel: FakeChannel,
    redis: &RedisServer,
    blobs: &std::path::Path,
    shutdown: &Shutdown,
) -> ChannelWorker<FakeChannel> {
    let redis_config = RedisConfig {
        url: Secret::new(redis.url()),
        stream: "intake:cases".into(),
        dead_letter_stream: "intake:dead".into(),
        dedupe_ttl: Duration::from_secs(3600),
        durability: intake_config::Durability::Append,
    };
    let conn = intake_gateway::redis_conn::connect(&redis_config).unwrap();
    ChannelWorker::new(
        channel,
        StreamSink::new(conn.clone(), &redis_config),
        ConversationStore::new(
            conn,
            &redis_config.key_prefix(),
            &ConversationsConfig::default(),
        ),
        PrepareContext {
            channel: channel_ref(ChannelKind::Email, "fake"),
            blobs: BlobStore::new(blobs),
            normalizer: Arc::new(EmailNormalizer {
                authserv_id: None,
                shared: Arc::default(),
            }),
        },
        Health::new(),
        shutdown.clone(),
        10,
    )
}

/// Runs a worker on `channel` until `log` shows `n` acks, then stops it; returns the log.
async fn run_until_acked(
    channel: FakeChannel,
    redis: &RedisServer,
    log: &Arc<Mutex<Log>>,
    n: usize,
) -> Log {
    let blobs = tempfile::tempdir().unwrap();
    let shutdown = Shutdown::default();
    let task = tokio::spawn(worker(channel, redis, blobs.path(), &shutdown).run());
    intake_tests::wait::wait_until(
        Duration::from_secs(30),
        Duration::from_millis(50),
        || async { log.lock().unwrap().acked.len() == n },
    )
    .await
    .expect("every message acked");
    shutdown.stop.cancel();
    shutdown.abort.cancel();
    task.await.unwrap();
    std::mem::take(&mut *log.lock().unwrap())
}

/// Messages 1..=n acked once each, in order, in batches of 10, each ack after its messages
/// were in the stream.
fn assert_acked_in_order_behind_the_stream(log: &Log, n: u64) {
    assert_eq!(
        log.acked,
        (1..=n).collect::<Vec<_>>(),
        "acked once each, in order"
    );
    let mut acked_so_far = 0u64;
    for (i, len) in log.stream_len_at_ack.iter().enumerate() {
        acked_so_far += 10;
        assert!(
            *len >= acked_so_far,
            "ack {i} ran ahead of the stream: {len} < {acked_so_far}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_follow_the_stream_and_a_failed_ack_loses_nothing() {
    let redis = require_server!(RedisServer::start().await);
    let log = Arc::new(Mutex::new(Log::default()));
    let channel = FakeChannel {
        fail_next_ack: true,
        ..FakeChannel::new(100, &log, &redis)
    };
    let log = run_until_acked(channel, &redis, &log, 100).await;
    assert_eq!(redis.stream_len("intake:cases").await.unwrap(), 100);
    assert_acked_in_order_behind_the_stream(&log, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_drains_what_was_received_and_fetches_nothing_more() {
    let redis = require_server!(RedisServer::start().await);
    let blobs = tempfile::tempdir().unwrap();
    let log = Arc::new(Mutex::new(Log::default()));
    let shutdown = Shutdown::default();
    let channel = FakeChannel {
        stop_at_first_ack: Some(shutdown.stop.clone()),
        ..FakeChannel::new(100, &log, &redis)
    };
    let task = tokio::spawn(worker(channel, &redis, blobs.path(), &shutdown).run());
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the worker stops after draining")
        .unwrap();

    let in_stream = redis.stream_len("intake:cases").await.unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.taken_after_stop, 0, "nothing fetched after the stop");
    // The first batch's ack stopped it; the batch fetched ahead meanwhile is delivered too.
    assert!(
        (10..100).contains(&log.acked.len()),
        "acked {} of 100",
        log.acked.len()
    );
    let acked: Vec<u64> = (1..=log.acked.len() as u64).collect();
    assert_eq!(log.acked, acked, "acked once each, in order");
    assert_eq!(
        in_stream,
        log.acked.len() as u64,
        "everything received before the stop is in the stream and acked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_and_large_batches_in_any_order_land_in_order_once() {
    let redis = require_server!(RedisServer::start().await);
    let log = Arc::new(Mutex::new(Log::default()));
    // Batches of 10: 1-2 small, 3-4 large (10 x 8 KiB, above the 64 KiB a small batch
    // carries), 5-6 small, 7 large, 8-10 small. A large batch behind a small one waits a step.
    let large = |i: u64| (21..=40).contains(&i) || (61..=70).contains(&i);
    let channel = FakeChannel {
        queue: (1..=100)
            .map(|i| padded_message(i, if large(i) { 8 * 1024 } else { 0 }))
            .collect(),
        ..FakeChannel::new(0, &log, &redis)
    };
    let log = run_until_acked(channel, &redis, &log, 100).await;
    assert_acked_in_order_behind_the_stream(&log, 100);
    // The stream holds them in receive order.
    let ids: Vec<String> = redis
        .read_stream("intake:cases")
        .await
        .unwrap()
        .iter()
        .map(|(_, fields)| {
            let case: serde_json::Value = serde_json::from_str(&fields["case"]).unwrap();
            case["source"]["message_id"].as_str().unwrap().to_string()
        })
        .collect();
    let expected: Vec<String> = (1..=100).map(|i| format!("m{i}@x")).collect();
    assert_eq!(ids, expected);
}
