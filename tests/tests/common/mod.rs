//! Assertions shared by the end-to-end tests: reading both streams and checking the
//! exactly-once contract on them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use intake_tests::redis::{RedisServer, StreamEntry};
use intake_tests::setup::{CASES, DEAD, schema};

/// Entries of the case and dead-letter streams.
pub async fn entries(redis: &RedisServer) -> (Vec<StreamEntry>, Vec<StreamEntry>) {
    (
        redis.read_stream(CASES).await.unwrap(),
        redis.read_stream(DEAD).await.unwrap(),
    )
}

/// XLEN of both streams together; 0 while Redis is unreachable.
pub async fn total(redis: &RedisServer) -> u64 {
    let cases = redis.stream_len(CASES).await.unwrap_or(0);
    let dead = redis.stream_len(DEAD).await.unwrap_or(0);
    cases + dead
}

/// Waits until both streams together hold `expected` entries, then a little longer to catch
/// any extra (duplicate) entry arriving late.
pub async fn wait_for_total(redis: &RedisServer, expected: u64, timeout: Duration) {
    let started = std::time::Instant::now();
    loop {
        let n = total(redis).await;
        assert!(
            n <= expected,
            "more entries than messages: {n} > {expected}"
        );
        if n == expected {
            break;
        }
        assert!(
            started.elapsed() < timeout,
            "timed out with {n} of {expected} entries"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(total(redis).await, expected, "entries kept arriving");
}

/// Checks the stream contract on every entry: flat fields present, idempotency keys unique
/// across both streams, every document valid against its schema. Returns the key set.
pub async fn assert_exactly_once(redis: &RedisServer, expected: usize) -> HashSet<String> {
    let (cases, dead) = entries(redis).await;
    assert_eq!(cases.len() + dead.len(), expected, "one entry per message");
    let case_schema = schema("case.schema.json").unwrap();
    let dead_schema = schema("dead_letter.schema.json").unwrap();
    let mut keys = HashSet::new();
    for (id, fields) in cases.iter().chain(&dead) {
        for f in ["v", "event", "channel", "idempotency_key", "case_id"] {
            assert!(fields.contains_key(f), "entry {id} lacks {f}");
        }
        assert!(
            keys.insert(fields["idempotency_key"].clone()),
            "duplicate idempotency key {}",
            fields["idempotency_key"]
        );
    }
    for (id, fields) in &cases {
        let doc: serde_json::Value = serde_json::from_str(&fields["case"]).unwrap();
        let errors: Vec<String> = case_schema
            .iter_errors(&doc)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "case {id} invalid: {errors:?}");
        assert_eq!(doc["idempotency_key"], fields["idempotency_key"].as_str());
    }
    for (id, fields) in &dead {
        let doc: serde_json::Value = serde_json::from_str(&fields["dead_letter"]).unwrap();
        let errors: Vec<String> = dead_schema
            .iter_errors(&doc)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "dead letter {id} invalid: {errors:?}");
    }
    keys
}

/// Delivers every corpus message into the primary user's INBOX; returns how many.
pub fn load_corpus(dovecot: &intake_tests::dovecot::Dovecot) -> usize {
    let corpus = intake_tests::corpus::corpus_messages().unwrap();
    assert!(
        corpus.len() >= 500,
        "corpus has only {} messages",
        corpus.len()
    );
    for path in &corpus {
        dovecot
            .deliver(dovecot.user(), "INBOX", &std::fs::read(path).unwrap())
            .unwrap();
    }
    corpus.len()
}

/// Waits until INBOX is empty (every message moved or deleted after its ack).
pub async fn wait_inbox_empty(dovecot: &intake_tests::dovecot::Dovecot) {
    intake_tests::wait::wait_until(
        Duration::from_secs(30),
        Duration::from_millis(200),
        || async { dovecot.message_count("INBOX").await.unwrap_or(1) == 0 },
    )
    .await
    .expect("every message acked out of INBOX");
}

/// Waits until the gateway reports every part up.
pub async fn wait_ready(gateway: &intake_gateway::Gateway) {
    intake_tests::wait::wait_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async { gateway.health().is_ready() },
    )
    .await
    .expect("gateway becomes ready");
}

/// Starts a gateway on `redis` with one email channel `support` reading INBOX of `dovecot`.
pub async fn start_email_gateway(
    redis: &RedisServer,
    dovecot: &intake_tests::dovecot::Dovecot,
    blob_dir: &std::path::Path,
) -> intake_gateway::Gateway {
    intake_gateway::Gateway::start(intake_tests::setup::config(
        redis,
        blob_dir,
        vec![intake_tests::setup::email_channel(
            dovecot, "support", "INBOX",
        )],
    ))
    .await
    .unwrap()
}
