//! `[redis] durability = "replicas"` against a real primary and a real replica
//! (`redis-server --replicaof`): a batch counts as appended only once the replica has it, a
//! batch the replica cannot confirm (paused with SIGSTOP) is not acked on its channel, and it
//! is acked, still exactly once, as soon as the replica answers again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use intake_config::{Durability, RedisConfig};
use intake_gateway::Gateway;
use intake_gateway::sink::{AppendOutcome, Entry, StreamSink, Target};
use intake_tests::dovecot::Dovecot;
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{CASES, config, email_channel};
use intake_tests::wait::wait_until;

/// Long enough for a replica on a loaded 2-core machine (CI builds beside the tests) to confirm
/// in time, so only a paused replica can miss it.
const ONE_REPLICA: Durability = Durability::Replicas {
    replicas: 1,
    timeout: Duration::from_secs(2),
};

fn entry(key: &str) -> Entry {
    Entry {
        target: Target::Cases,
        idempotency_keys: vec![key.to_string()],
        lookup_keys: 1,
        event: "message.received",
        channel: "support".into(),
        case_id: format!("case-{key}"),
        document: "{}".into(),
    }
}

fn sink(redis: &RedisServer, durability: Durability) -> StreamSink {
    let config = RedisConfig {
        url: intake_config::Secret::new(redis.url()),
        stream: CASES.into(),
        dead_letter_stream: "intake:dead".into(),
        dedupe_ttl: Duration::from_secs(3600),
        durability,
    };
    let conn = intake_gateway::redis_conn::connect(&config).unwrap();
    StreamSink::new(conn, &config)
}

/// A primary with one replica that has caught up.
async fn primary_and_replica() -> Option<(RedisServer, RedisServer)> {
    let primary = intake_tests::require(RedisServer::start().await)?;
    let replica = intake_tests::require(RedisServer::start_replica_of(&primary).await)?;
    primary
        .wait_for_replicas(1, Duration::from_secs(20))
        .await
        .unwrap();
    Some((primary, replica))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_counts_only_once_the_replica_has_it() {
    let Some((primary, replica)) = primary_and_replica().await else {
        return;
    };
    let mut sink = sink(&primary, ONE_REPLICA);
    let batch: Vec<Entry> = ["a", "b", "c"].into_iter().map(entry).collect();
    let outcomes = sink.append(&batch).await.unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(AppendOutcome::Appended(_)))),
        "{outcomes:?}"
    );
    // WAIT returned: the replica has the entries now, not eventually.
    assert_eq!(replica.stream_len(CASES).await.unwrap(), 3);

    // The replica stops answering: the batch reaches the primary but is not durable as asked,
    // so the sink reports a transient failure (the worker retries and acks nothing).
    replica.pause().unwrap();
    let more: Vec<Entry> = ["d", "e"].into_iter().map(entry).collect();
    let started = std::time::Instant::now();
    let failed = sink.append(&more).await;
    let waited = started.elapsed();
    match &failed {
        Err(e) => assert!(
            e.is_transient() && e.to_string().contains("0 of 1 replica"),
            "{e}"
        ),
        Ok(outcomes) => assert!(
            outcomes.iter().all(|o| o
                .as_ref()
                .is_err_and(|e| e.is_transient() && e.to_string().contains("0 of 1 replica"))),
            "{outcomes:?}"
        ),
    }
    assert!(waited >= Duration::from_secs(2), "did not wait: {waited:?}");
    assert_eq!(primary.stream_len(CASES).await.unwrap(), 5);

    // A batch of repeats waits too: it must not pass for entries the replica lacks.
    let repeat = sink.append(&more).await;
    assert!(
        repeat
            .as_ref()
            .map_or(true, |o| o.iter().all(Result::is_err)),
        "a repeat passed while the replica is paused: {repeat:?}"
    );

    replica.resume().unwrap();
    let outcomes = sink.append(&more).await.unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(AppendOutcome::Duplicate(_)))),
        "the retry appends nothing twice: {outcomes:?}"
    );
    assert_eq!(primary.stream_len(CASES).await.unwrap(), 5);
    assert_eq!(replica.stream_len(CASES).await.unwrap(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_acked_only_once_the_replica_has_it() {
    let Some((primary, replica)) = primary_and_replica().await else {
        return;
    };
    let dovecot = require_server!(Dovecot::start().await);
    replica.pause().unwrap();
    for i in 0..3 {
        let mail = format!(
            "From: c{i}@example.com\r\nTo: support@example.com\r\nSubject: help {i}\r\n\
             Message-ID: <wait-{i}@example.com>\r\n\r\nbody {i}\r\n"
        );
        dovecot
            .deliver(dovecot.user(), "INBOX", mail.as_bytes())
            .unwrap();
    }
    let blobs = tempfile::tempdir().unwrap();
    let mut cfg = config(
        &primary,
        blobs.path(),
        vec![email_channel(&dovecot, "support", "INBOX")],
    );
    cfg.redis.durability = ONE_REPLICA;
    let gateway = Gateway::start(cfg).await.unwrap();

    // The batch reaches the primary, but while the replica cannot confirm it nothing is acked.
    wait_until(
        Duration::from_secs(20),
        Duration::from_millis(100),
        || async { primary.stream_len(CASES).await.unwrap_or(0) == 3 },
    )
    .await
    .expect("the batch reaches the primary");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let flags = dovecot.flags("INBOX").await.unwrap();
    assert_eq!(flags.len(), 3);
    assert!(
        flags.values().all(|f| !f.iter().any(|f| f == "\\Seen")),
        "acked before the replica had the batch: {flags:?}"
    );

    replica.resume().unwrap();
    wait_until(
        Duration::from_secs(30),
        Duration::from_millis(200),
        || async {
            let flags = dovecot.flags("INBOX").await.unwrap_or_default();
            flags.len() == 3 && flags.values().all(|f| f.iter().any(|f| f == "\\Seen"))
        },
    )
    .await
    .expect("acked once the replica has the batch");
    gateway.shutdown(Duration::from_secs(5)).await;

    common::assert_exactly_once(&primary, 3).await;
    assert_eq!(replica.stream_len(CASES).await.unwrap(), 3);
}
