//! One message Redis keeps refusing never stalls its channel: with `proto-max-bulk-len 1mb`, a
//! 2 MB plain-text mail among normal ones ends on the dead-letter stream (its raw bytes kept in
//! the blob store), every normal mail lands, mail after it too. An outage that affects every
//! message (Redis OOM) dead-letters nothing: the batch waits and lands once Redis takes writes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use intake_gateway::blobs::BlobStore;
use intake_normalizer::sha256_hex;
use intake_tests::dovecot::Dovecot;
use intake_tests::redis::RedisServer;
use intake_tests::require_server;

fn mail(i: usize, body: &str) -> Vec<u8> {
    format!(
        "From: Customer {i} <c{i}@example.com>\r\nTo: support@example.com\r\nSubject: question {i}\r\nMessage-ID: <p{i}@example.com>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn config_set(redis: &RedisServer, key: &str, value: &str) {
    let mut conn = redis.connection().await.unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(key)
        .arg(value)
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_redis_will_not_take_is_dead_lettered_and_the_rest_lands() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    config_set(&redis, "proto-max-bulk-len", "1mb").await;
    let big_line = "All work and no play makes a long support request. ".repeat(40_000);
    let big = mail(5, &big_line);
    assert!(big.len() > 2_000_000);
    for i in 0..10 {
        let raw = if i == 5 {
            big.clone()
        } else {
            mail(i, "short question")
        };
        dovecot.append("INBOX", &raw).await.unwrap();
    }
    let blobs = tempfile::tempdir().unwrap();
    let gateway = common::start_email_gateway(&redis, &dovecot, blobs.path()).await;

    common::wait_for_total(&redis, 10, Duration::from_secs(60)).await;
    common::assert_exactly_once(&redis, 10).await;
    let (cases, dead) = common::entries(&redis).await;
    assert_eq!(cases.len(), 9, "every normal mail lands");
    assert_eq!(dead.len(), 1, "the big one is dead-lettered");
    let letter: serde_json::Value = serde_json::from_str(&dead[0].1["dead_letter"]).unwrap();
    assert_eq!(letter["reason"], "append_failed", "{letter}");
    assert_eq!(letter["source"]["imap"]["uid"], 6, "{letter}");
    let raw_ref = letter["raw_ref"].as_str().expect("raw bytes kept");
    let stored = BlobStore::new(blobs.path())
        .get(raw_ref.strip_prefix("sha256:").unwrap())
        .unwrap()
        .expect("raw blob stored");
    assert_eq!(sha256_hex(&stored), sha256_hex(&big));

    // The channel keeps going: a mail arriving now lands too.
    dovecot
        .append("INBOX", &mail(10, "one more"))
        .await
        .unwrap();
    common::wait_for_total(&redis, 11, Duration::from_secs(30)).await;
    gateway.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_that_refuses_every_message_dead_letters_nothing() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    for i in 0..5 {
        dovecot
            .append("INBOX", &mail(i, "short question"))
            .await
            .unwrap();
    }
    // Redis answers PING but refuses every write (OOM): not the messages' fault.
    config_set(&redis, "maxmemory-policy", "noeviction").await;
    config_set(&redis, "maxmemory", "1").await;
    let blobs = tempfile::tempdir().unwrap();
    let gateway = common::start_email_gateway(&redis, &dovecot, blobs.path()).await;
    // Long enough for far more than poison_after attempts.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(common::total(&redis).await, 0, "nothing appended while OOM");
    let (status, body) = intake_tests::setup::http_get(gateway.http_addr(), "/readyz")
        .await
        .unwrap();
    assert_eq!(status, 503, "{body}");
    config_set(&redis, "maxmemory", "0").await;
    common::wait_for_total(&redis, 5, Duration::from_secs(30)).await;
    assert_eq!(
        redis.stream_len(intake_tests::setup::DEAD).await.unwrap(),
        0,
        "an outage dead-letters nothing"
    );
    gateway.shutdown(Duration::from_secs(5)).await;
}
