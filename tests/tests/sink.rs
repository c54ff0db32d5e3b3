//! The stream sink against a real redis-server: exactly-once appends, fallback keys, pipelined
//! batches, script reload after a restart, and transient errors while Redis is down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use intake_config::{RedisConfig, Secret};
use intake_gateway::sink::{AppendOutcome, Entry, StreamSink, Target};
use intake_tests::redis::RedisServer;
use intake_tests::require_server;

fn config(url: &str, stream: &str, dead: &str) -> RedisConfig {
    RedisConfig {
        url: Secret::new(url),
        stream: stream.into(),
        dead_letter_stream: dead.into(),
        dedupe_ttl: Duration::from_secs(3600),
    }
}

fn entry(keys: &[&str], doc: &str) -> Entry {
    Entry {
        target: Target::Cases,
        idempotency_keys: keys.iter().map(|k| k.to_string()).collect(),
        lookup_keys: keys.len(),
        event: "message.received",
        channel: "support".into(),
        case_id: format!("case-{}", keys[0]),
        document: doc.into(),
    }
}

fn sink_for(cfg: &RedisConfig) -> StreamSink {
    let conn = intake_gateway::redis_conn::connect(cfg).unwrap();
    StreamSink::new(conn, cfg)
}

#[tokio::test]
async fn repeat_returns_the_first_entry() {
    let redis = require_server!(RedisServer::start().await);
    let cfg = config(&redis.url(), "intake:cases", "intake:dead");
    let mut sink = sink_for(&cfg);

    let first = sink.append(&[entry(&["k1"], "{}")]).await.unwrap();
    let again = sink
        .append(&[entry(&["k1"], "{\"other\":1}")])
        .await
        .unwrap();
    let AppendOutcome::Appended(id) = first[0].as_ref().unwrap().clone() else {
        panic!("first append must append: {first:?}");
    };
    assert_eq!(
        again[0].as_ref().unwrap(),
        &AppendOutcome::Duplicate(id.clone())
    );

    let entries = redis.read_stream("intake:cases").await.unwrap();
    assert_eq!(entries.len(), 1);
    let (entry_id, fields) = &entries[0];
    assert_eq!(entry_id, &id);
    assert_eq!(fields["v"], "1");
    assert_eq!(fields["event"], "message.received");
    assert_eq!(fields["channel"], "support");
    assert_eq!(fields["idempotency_key"], "k1");
    assert_eq!(fields["case_id"], "case-k1");
    assert_eq!(fields["case"], "{}");

    // The idempotency key lives under the stream's slot, with the configured TTL.
    let mut conn = redis.connection().await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg("{intake:cases}:idem:k1")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 3500 && ttl <= 3600, "ttl {ttl}");
}

#[tokio::test]
async fn fallback_key_catches_a_renumbered_message() {
    let redis = require_server!(RedisServer::start().await);
    let cfg = config(&redis.url(), "{intake}:cases", "{intake}:dead");
    let mut sink = sink_for(&cfg);

    let mut first = entry(&["uid:1:5", "sha:abc"], "{}");
    first.lookup_keys = 1;
    sink.append(&[first]).await.unwrap();
    // Byte-identical mail delivered again is a new message: only its UID key is looked up.
    let mut twin = entry(&["uid:1:6", "sha:abc"], "{}");
    twin.lookup_keys = 1;
    let twin = sink.append(&[twin]).await.unwrap();
    assert!(matches!(twin[0], Ok(AppendOutcome::Appended(_))));
    // After a UIDVALIDITY change the same bytes arrive under a new UID key.
    let renumbered = sink
        .append(&[entry(&["uid:2:1", "sha:abc"], "{}")])
        .await
        .unwrap();
    assert!(matches!(renumbered[0], Ok(AppendOutcome::Duplicate(_))));
    // The new primary key was recorded too: it alone now finds the entry.
    let by_new_key = sink.append(&[entry(&["uid:2:1"], "{}")]).await.unwrap();
    assert!(matches!(by_new_key[0], Ok(AppendOutcome::Duplicate(_))));
    assert_eq!(redis.stream_len("{intake}:cases").await.unwrap(), 2);

    let mut conn = redis.connection().await.unwrap();
    let exists: i64 = redis::cmd("EXISTS")
        .arg("{intake}:idem:sha:abc")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 1, "keys use the stream's hash tag");
}

#[tokio::test]
async fn pipelined_batch_is_exactly_once_and_ordered() {
    let redis = require_server!(RedisServer::start().await);
    let cfg = config(&redis.url(), "intake:cases", "intake:dead");
    let mut sink = sink_for(&cfg);

    let keys: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let batch: Vec<Entry> = keys
        .iter()
        .map(|k| {
            let mut e = entry(&[k.as_str()], k);
            if k.ends_with('7') {
                e.target = Target::DeadLetters;
            }
            e
        })
        .collect();
    let first = sink.append(&batch).await.unwrap();
    assert!(
        first
            .iter()
            .all(|r| matches!(r, Ok(AppendOutcome::Appended(_))))
    );
    let second = sink.append(&batch).await.unwrap();
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(
            b.as_ref().unwrap(),
            &AppendOutcome::Duplicate(a.as_ref().unwrap().entry_id().to_string())
        );
    }
    let cases = redis.read_stream("intake:cases").await.unwrap();
    let dead = redis.read_stream("intake:dead").await.unwrap();
    assert_eq!(cases.len() + dead.len(), 1000);
    assert_eq!(dead.len(), 100);
    assert!(
        dead.iter()
            .all(|(_, f)| f.contains_key("dead_letter") && !f.contains_key("case"))
    );
    // Receive order is stream order.
    let docs: Vec<&str> = cases.iter().map(|(_, f)| f["case"].as_str()).collect();
    let expected: Vec<&str> = keys
        .iter()
        .map(String::as_str)
        .filter(|k| !k.ends_with('7'))
        .collect();
    assert_eq!(docs, expected);
}

#[tokio::test]
async fn redis_restart_loses_the_script_cache_and_the_sink_recovers() {
    let redis = require_server!(RedisServer::start_persistent().await);
    let cfg = config(&redis.url(), "intake:cases", "intake:dead");
    let mut sink = sink_for(&cfg);
    sink.append(&[entry(&["before"], "{}")]).await.unwrap();

    redis.kill();
    let down = sink.append(&[entry(&["during"], "{}")]).await;
    match down {
        Err(e) => assert!(e.is_transient(), "redis down must be transient: {e}"),
        Ok(results) => assert!(
            results
                .iter()
                .all(|r| r.as_ref().is_err_and(|e| e.is_transient()))
        ),
    }

    redis.restart().await.unwrap();
    let mut recovered = None;
    for _ in 0..50 {
        match sink.append(&[entry(&["after"], "{}")]).await {
            Ok(r) if r[0].is_ok() => {
                recovered = Some(r);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let recovered = recovered.expect("sink recovers after redis restarts");
    assert!(matches!(recovered[0], Ok(AppendOutcome::Appended(_))));
}
