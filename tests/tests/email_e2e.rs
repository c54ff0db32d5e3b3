//! The email channel end to end, in process: a real Dovecot, a real redis-server, the gateway.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use intake_config::AfterIngest;
use intake_gateway::Gateway;
use intake_gateway::blobs::BlobStore;
use intake_normalizer::sha256_hex;
use intake_tests::dovecot::Dovecot;
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{config, email_channel, http_get};

fn sample(i: usize) -> Vec<u8> {
    format!(
        "From: Customer {i} <c{i}@example.com>\r\nTo: support@example.com\r\nSubject: help {i}\r\nMessage-ID: <m{i}@example.com>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nbody {i}\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_corpus_lands_exactly_once_and_is_moved() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    let corpus_len = common::load_corpus(&dovecot);
    dovecot.create_mailbox("Processed").await.unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let mut channel = email_channel(&dovecot, "support", "INBOX");
    channel.after_ingest = AfterIngest::MoveTo("Processed".into());
    channel.max_message_bytes = 1024 * 1024;
    let gateway = Gateway::start(config(&redis, blobs.path(), vec![channel]))
        .await
        .unwrap();

    common::wait_for_total(&redis, corpus_len as u64, Duration::from_secs(180)).await;
    common::assert_exactly_once(&redis, corpus_len).await;
    common::wait_inbox_empty(&dovecot).await;
    assert_eq!(
        dovecot.message_count("Processed").await.unwrap() as usize,
        corpus_len
    );

    // Every case's raw message and attachments can be read back from the blob store, and so
    // can the raw message of every dead letter that has one.
    let (cases, dead) = common::entries(&redis).await;
    let store = BlobStore::new(blobs.path());
    let mut refs = 0;
    for (_, fields) in &cases {
        let doc: serde_json::Value = serde_json::from_str(&fields["case"]).unwrap();
        assert_blob_stored(&store, doc["raw_ref"].as_str().unwrap());
        refs += 1;
        for a in doc["attachments"].as_array().unwrap() {
            if let Some(r) = a["ref"].as_str() {
                assert_blob_stored(&store, r);
                refs += 1;
            }
        }
    }
    for (_, fields) in &dead {
        let doc: serde_json::Value = serde_json::from_str(&fields["dead_letter"]).unwrap();
        if let Some(r) = doc["raw_ref"].as_str() {
            assert_blob_stored(&store, r);
            refs += 1;
        }
    }
    eprintln!(
        "corpus: {} cases, {} dead letters, {refs} blob references read back",
        cases.len(),
        dead.len()
    );
    gateway.shutdown(Duration::from_secs(5)).await;
}

/// Reads the blob `reference` (`sha256:<hex>`) names and checks its bytes hash to that name.
fn assert_blob_stored(store: &BlobStore, reference: &str) {
    let sha = reference.strip_prefix("sha256:").unwrap();
    let bytes = store
        .get(sha)
        .unwrap()
        .unwrap_or_else(|| panic!("blob {reference} missing"));
    assert_eq!(sha256_hex(&bytes), sha, "blob {reference} has other bytes");
}

async fn lands_while_waiting(idle: bool) {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    let blobs = tempfile::tempdir().unwrap();
    let mut channel = email_channel(&dovecot, "support", "INBOX");
    channel.idle = idle;
    channel.poll_interval = Duration::from_millis(500);
    channel.max_message_bytes = 10_000;
    let gateway = Gateway::start(config(&redis, blobs.path(), vec![channel]))
        .await
        .unwrap();
    // Let the channel connect and settle into IDLE (or its poll sleep) on an empty mailbox.
    intake_tests::wait::wait_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async { gateway.health().is_ready() },
    )
    .await
    .expect("gateway becomes ready");
    tokio::time::sleep(Duration::from_millis(500)).await;

    for i in 0..3 {
        dovecot.append("INBOX", &sample(i)).await.unwrap();
    }
    // And one over max_message_bytes: a dead letter, acked like the rest.
    let mut big = sample(3);
    big.extend(std::iter::repeat_n(b'x', 20_000));
    dovecot.append("INBOX", &big).await.unwrap();
    common::wait_for_total(&redis, 4, Duration::from_secs(15)).await;
    common::assert_exactly_once(&redis, 4).await;
    assert_eq!(redis.stream_len("intake:dead").await.unwrap(), 1);
    intake_tests::wait::wait_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async {
            let flags = dovecot.flags("INBOX").await.unwrap_or_default();
            flags.len() == 4 && flags.values().all(|f| f.iter().any(|f| f == "\\Seen"))
        },
    )
    .await
    .expect("every message marked \\Seen");

    let addr = gateway.http_addr();
    let (status, body) = http_get(addr, "/readyz").await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("channel:support") && body.contains("redis"),
        "{body}"
    );
    assert_eq!(http_get(addr, "/healthz").await.unwrap().0, 200);
    let (status, metrics) = http_get(addr, "/metrics").await.unwrap();
    assert_eq!(status, 200);
    assert!(metrics.contains("intake_appends_total"), "{metrics}");
    assert!(metrics.contains("intake_batch_seconds"), "{metrics}");
    assert!(
        metrics.contains("intake_dead_letters_total{channel=\"support\",reason=\"too_large\"}"),
        "{metrics}"
    );
    gateway.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_mail_wakes_an_idling_gateway() {
    lands_while_waiting(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_mail_is_found_by_polling_without_idle() {
    lands_while_waiting(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uidvalidity_change_does_not_duplicate() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    let blobs = tempfile::tempdir().unwrap();
    for i in 0..5 {
        dovecot
            .deliver(dovecot.user(), "INBOX", &sample(i))
            .unwrap();
    }
    // A byte-identical second delivery is a message of its own, before and after the rescan.
    dovecot
        .deliver(dovecot.user(), "INBOX", &sample(0))
        .unwrap();
    let cfg = config(
        &redis,
        blobs.path(),
        vec![email_channel(&dovecot, "support", "INBOX")],
    );
    let gateway = Gateway::start(cfg.clone()).await.unwrap();
    common::wait_for_total(&redis, 6, Duration::from_secs(20)).await;
    gateway.shutdown(Duration::from_secs(5)).await;

    let before = dovecot.uidvalidity("INBOX").await.unwrap();
    let after = dovecot.reset_uidvalidity("INBOX").await.unwrap();
    assert_ne!(before, after, "the harness must really change UIDVALIDITY");
    for i in 5..7 {
        dovecot
            .deliver(dovecot.user(), "INBOX", &sample(i))
            .unwrap();
    }
    let gateway = Gateway::start(cfg).await.unwrap();
    common::wait_for_total(&redis, 8, Duration::from_secs(20)).await;
    common::assert_exactly_once(&redis, 8).await;
    gateway.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_mid_ingest_loses_and_duplicates_nothing() {
    let redis = require_server!(RedisServer::start_persistent().await);
    let dovecot = require_server!(Dovecot::start().await);
    let corpus_len = common::load_corpus(&dovecot);
    let blobs = tempfile::tempdir().unwrap();
    let mut channel = email_channel(&dovecot, "support", "INBOX");
    channel.batch_size = 10;
    channel.after_ingest = AfterIngest::Delete;
    let gateway = Gateway::start(config(&redis, blobs.path(), vec![channel]))
        .await
        .unwrap();

    intake_tests::wait::wait_until(
        Duration::from_secs(60),
        Duration::from_millis(20),
        || async { common::total(&redis).await > 0 },
    )
    .await
    .expect("ingest starts");
    redis.kill();
    let seen_down = intake_tests::wait::wait_until(
        Duration::from_secs(15),
        Duration::from_millis(100),
        || async { !gateway.health().is_ready() },
    )
    .await;
    assert!(seen_down.is_ok(), "/readyz must report redis down");
    let (status, body) = http_get(gateway.http_addr(), "/readyz").await.unwrap();
    assert_eq!(status, 503, "{body}");
    let remaining_during_outage = dovecot.message_count("INBOX").await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    // Nothing is acked (deleted) while Redis is down.
    assert_eq!(
        dovecot.message_count("INBOX").await.unwrap(),
        remaining_during_outage
    );
    redis.restart().await.unwrap();

    common::wait_for_total(&redis, corpus_len as u64, Duration::from_secs(180)).await;
    common::assert_exactly_once(&redis, corpus_len).await;
    common::wait_inbox_empty(&dovecot).await;
    gateway.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_mailbox_append_each_message_once() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    let corpus = intake_tests::corpus::corpus_messages().unwrap();
    for path in corpus.iter().take(200) {
        dovecot
            .deliver(dovecot.user(), "INBOX", &std::fs::read(path).unwrap())
            .unwrap();
    }
    let blobs = tempfile::tempdir().unwrap();
    let mut channel = email_channel(&dovecot, "support", "INBOX");
    channel.batch_size = 25;
    let cfg = config(&redis, blobs.path(), vec![channel]);
    let (a, b) = tokio::join!(Gateway::start(cfg.clone()), Gateway::start(cfg));
    let (a, b) = (a.unwrap(), b.unwrap());
    common::wait_for_total(&redis, 200, Duration::from_secs(60)).await;
    common::assert_exactly_once(&redis, 200).await;
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_group_reads_one_entry_per_message() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    for i in 0..20 {
        dovecot
            .deliver(dovecot.user(), "INBOX", &sample(i))
            .unwrap();
    }
    let blobs = tempfile::tempdir().unwrap();
    let gateway = Gateway::start(config(
        &redis,
        blobs.path(),
        vec![email_channel(&dovecot, "support", "INBOX")],
    ))
    .await
    .unwrap();
    common::wait_for_total(&redis, 20, Duration::from_secs(20)).await;
    // What a helpdesk does: a consumer group, XREADGROUP, XACK.
    let mut conn = redis.connection().await.unwrap();
    let () = redis::cmd("XGROUP")
        .arg(&["CREATE", "intake:cases", "helpdesk", "0"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let reply: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
        .arg(&[
            "GROUP",
            "helpdesk",
            "worker-1",
            "COUNT",
            "100",
            "STREAMS",
            "intake:cases",
            ">",
        ])
        .query_async(&mut conn)
        .await
        .unwrap();
    let entries = &reply.keys[0].ids;
    assert_eq!(entries.len(), 20);
    let subjects: std::collections::HashSet<String> = entries
        .iter()
        .map(|e| {
            let doc: serde_json::Value =
                serde_json::from_str(&e.get::<String>("case").unwrap()).unwrap();
            doc["subject"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(subjects.len(), 20, "each message once");
    gateway.shutdown(Duration::from_secs(5)).await;
}
