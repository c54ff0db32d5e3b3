//! The push delivery model end to end, with a real redis-server and the real HTTP server: a
//! handler's answer is the ack, so 200 comes only after the entry is durable, a redelivery gets
//! 200 again without a second entry, and while Redis is down or the queue is full the handler
//! answers 503 with Retry-After at once instead of hanging.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use intake_channels::email::EmailNormalizer;
use intake_channels::push::{PushLimits, PushSender, push_channel};
use intake_channels::{Built, ChannelKind, Inbound, Payload, Receipt, Wire};
use intake_config::{ConversationsConfig, RedisConfig, Secret};
use intake_gateway::blobs::BlobStore;
use intake_gateway::conversation::ConversationStore;
use intake_gateway::health::Health;
use intake_gateway::redis_conn::{self, REDIS_PART};
use intake_gateway::registry::Launcher;
use intake_gateway::sink::StreamSink;
use intake_gateway::worker::Shutdown;
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{HttpResponse, http_post};
use tokio::task::JoinSet;

const CASES: &str = "intake:cases";

/// A push channel `form` whose handler takes a raw RFC 5322 message as the body and uses its
/// SHA-256 as the delivery id.
struct Rig {
    addr: std::net::SocketAddr,
    shutdown: Shutdown,
    _workers: JoinSet<()>,
    _blobs: tempfile::TempDir,
}

async fn handle(State(sender): State<PushSender>, body: Bytes) -> Response {
    let inbound = Inbound {
        idempotency_keys: vec![format!("test:{}", intake_normalizer::sha256_hex(&body))],
        lookup_keys: 1,
        received_at: "2026-11-30T10:00:00Z".into(),
        payload: Payload::Wire(Wire {
            bytes: body.to_vec(),
            ..Wire::default()
        }),
        receipt: Receipt(0),
    };
    match sender.deliver(inbound).await {
        Ok(()) => "accepted\n".into_response(),
        Err(refused) => refused.into_response(),
    }
}

async fn rig(redis: &RedisServer, limits: PushLimits) -> Rig {
    let redis_config = RedisConfig {
        url: Secret::new(redis.url()),
        stream: CASES.into(),
        dead_letter_stream: "intake:dead".into(),
        dedupe_ttl: Duration::from_secs(3600),
        durability: intake_config::Durability::Append,
    };
    let conn = redis_conn::connect(&redis_config).unwrap();
    let health = Health::new();
    health.register(REDIS_PART);
    let shutdown = Shutdown::default();
    let blobs = tempfile::tempdir().unwrap();
    let (channel, sender) = push_channel(ChannelKind::Webhook, "form", health.ingest(), limits);
    let mut launcher = Launcher {
        redis: redis_config.clone(),
        sink: StreamSink::new(conn.clone(), &redis_config),
        conversations: ConversationStore::new(
            conn.clone(),
            &redis_config.key_prefix(),
            &ConversationsConfig::default(),
        ),
        blobs: BlobStore::new(blobs.path()),
        health: health.clone(),
        shutdown: shutdown.clone(),
        workers: JoinSet::new(),
        routes: Vec::new(),
    };
    launcher.launch(Built {
        channel,
        normalizer: Arc::new(EmailNormalizer {
            authserv_id: None,
            shared: Arc::default(),
        }),
        routes: Some(Router::new().route("/", post(handle)).with_state(sender)),
        batch_max: 100,
        poison_after: 5,
    });
    tokio::spawn(redis_conn::watch(
        conn,
        health.clone(),
        Duration::from_millis(200),
        shutdown.abort.clone(),
    ));
    let (addr, _http) = intake_gateway::http::serve(
        &intake_config::HttpConfig::new("127.0.0.1:0".parse().unwrap()),
        health.clone(),
        launcher.routes,
        shutdown.abort.clone(),
    )
    .await
    .unwrap();
    intake_tests::wait::wait_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        || async { health.ingest().is_up() },
    )
    .await
    .expect("ingest comes up");
    Rig {
        addr,
        shutdown,
        _workers: launcher.workers,
        _blobs: blobs,
    }
}

fn mail(i: usize) -> Vec<u8> {
    format!(
        "From: c{i}@example.com\r\nSubject: form {i}\r\nMessage-ID: <f{i}@x>\r\n\r\nhello {i}\r\n"
    )
    .into_bytes()
}

async fn post_mail(rig: &Rig, i: usize) -> HttpResponse {
    http_post(rig.addr, "/webhooks/form", &[], &mail(i))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_comes_after_the_entry_is_durable_and_a_redelivery_lands_once() {
    let redis = require_server!(RedisServer::start().await);
    let rig = rig(&redis, PushLimits::default()).await;
    for i in 0..3 {
        let response = post_mail(&rig, i).await;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(
            redis.stream_len(CASES).await.unwrap(),
            i as u64 + 1,
            "200 only once the entry is in the stream"
        );
    }
    let again = post_mail(&rig, 1).await;
    assert_eq!(again.status, 200, "a redelivery is acknowledged again");
    assert_eq!(redis.stream_len(CASES).await.unwrap(), 3, "and lands once");
    let missing = http_post(rig.addr, "/webhooks/nope", &[], b"x")
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    rig.shutdown.abort.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_503_at_once_and_the_retry_lands_once() {
    let redis = require_server!(RedisServer::start().await);
    let rig = rig(&redis, PushLimits::default()).await;
    redis.kill();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let asked = Instant::now();
    let refused = post_mail(&rig, 7).await;
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(refused.header("retry-after").is_some(), "{refused:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "refused at once, not after a wait: {:?}",
        asked.elapsed()
    );
    redis.restart().await.unwrap();
    // A sender retries until it is acknowledged.
    let mut answered = None;
    for _ in 0..50 {
        let response = post_mail(&rig, 7).await;
        if response.status == 200 {
            answered = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(answered.is_some(), "acknowledged once Redis is back");
    assert_eq!(redis.stream_len(CASES).await.unwrap(), 1);
    rig.shutdown.abort.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_and_a_slow_commit_answer_503_within_bounds() {
    let redis = require_server!(RedisServer::start().await);
    let limits = PushLimits {
        queue: 1,
        answer_within: Duration::from_secs(2),
    };
    let rig = Arc::new(rig(&redis, limits).await);
    // Redis stops answering (not refusing): the first delivery sticks in the commit.
    redis.pause().unwrap();
    let stuck = {
        let rig = rig.clone();
        tokio::spawn(async move { post_mail(&rig, 1).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let queued = {
        let rig = rig.clone();
        tokio::spawn(async move { post_mail(&rig, 2).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = Instant::now();
    let busy = post_mail(&rig, 3).await;
    assert_eq!(busy.status, 503, "{busy:?}");
    assert_eq!(busy.header("retry-after"), Some("1"), "{busy:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    for waiting in [stuck, queued] {
        let response = waiting.await.unwrap();
        assert_eq!(
            response.status, 503,
            "never an unbounded wait: {response:?}"
        );
    }
    redis.resume().unwrap();
    // Both were kept and land; their retries find the entries.
    for i in [1, 2] {
        let mut status = 0;
        for _ in 0..100 {
            status = post_mail(&rig, i).await.status;
            if status == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(status, 200);
    }
    assert_eq!(redis.stream_len(CASES).await.unwrap(), 2);
    rig.shutdown.abort.cancel();
}
