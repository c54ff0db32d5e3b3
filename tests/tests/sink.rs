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
        durability: intake_config::Durability::Append,
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

fn keyed(n: usize) -> Entry {
    let key = format!("m{n}");
    entry(&[key.as_str()], &key)
}

/// Idempotency keys of the batch gates (`{prefix}:gate:<token>`) still in Redis.
async fn gate_keys(redis: &RedisServer, prefix: &str) -> Vec<String> {
    let mut conn = redis.connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(format!("{prefix}:gate:*"))
        .query_async(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_batch_sent_in_parts_keeps_order_and_dedupes_inside_itself() {
    let redis = require_server!(RedisServer::start().await);
    let cfg = config(&redis.url(), "intake:cases", "intake:dead");
    let mut sink = sink_for(&cfg);

    // 2 KB documents, so the batch goes out as many script calls.
    let doc = "x".repeat(2048);
    let mut batch: Vec<Entry> = (0..600)
        .map(|n| entry(&[format!("m{n}").as_str()], &format!("{n}:{doc}")))
        .collect();
    // The same message twice in one batch, in different parts and in the same part: the
    // repeats return the first entry's id.
    batch[450] = entry(&["m20"], "repeat");
    batch[21] = entry(&["m20"], "repeat");
    let results = sink.append(&batch).await.unwrap();
    let ids: Vec<&AppendOutcome> = results.iter().map(|r| r.as_ref().unwrap()).collect();
    let first = ids[20].entry_id().to_string();
    assert_eq!(ids[21], &AppendOutcome::Duplicate(first.clone()));
    assert_eq!(ids[450], &AppendOutcome::Duplicate(first));
    let appended: Vec<&str> = ids
        .iter()
        .filter_map(|o| match o {
            AppendOutcome::Appended(id) => Some(id.as_str()),
            AppendOutcome::Duplicate(_) => None,
        })
        .collect();
    assert_eq!(appended.len(), 598);

    let cases = redis.read_stream("intake:cases").await.unwrap();
    let stream_ids: Vec<&str> = cases.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(stream_ids, appended, "stream order is receive order");
    let keys: Vec<&str> = cases
        .iter()
        .map(|(_, f)| f["idempotency_key"].as_str())
        .collect();
    let expected: Vec<String> = (0..600)
        .filter(|&n| n != 21 && n != 450)
        .map(|n| format!("m{n}"))
        .collect();
    assert_eq!(keys, expected);
    assert!(gate_keys(&redis, "{intake:cases}").await.is_empty());
}

#[tokio::test]
async fn a_failed_part_holds_back_the_parts_after_it() {
    let redis = require_server!(RedisServer::start().await);
    let cfg = config(&redis.url(), "intake:cases", "intake:dead");
    let mut sink = sink_for(&cfg);
    let mut conn = redis.connection().await.unwrap();
    // The dead-letter stream's key holds a string: the XADD of entry 150 fails in part 2 of 3
    // (parts of 100 for these small entries), after entries 100..149 of that part went in.
    let _: () = redis::cmd("SET")
        .arg("intake:dead")
        .arg("not a stream")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut batch: Vec<Entry> = (0..250).map(keyed).collect();
    batch[150].target = Target::DeadLetters;

    let results = sink.append(&batch).await.unwrap();
    assert!(
        results[..100]
            .iter()
            .all(|r| matches!(r, Ok(AppendOutcome::Appended(_))))
    );
    // A failed call fails all of its entries: which of them went in is not known.
    for result in &results[100..200] {
        match result {
            Err(e) => assert!(e.to_string().contains("WRONGTYPE"), "{e}"),
            ok => panic!("the dead letter cannot be appended: {ok:?}"),
        }
    }
    // Part 3 did not run, so nothing is appended ahead of entry 150.
    assert!(results[200..].iter().all(|r| {
        r.as_ref()
            .is_err_and(|e| e.is_transient() && e.to_string().contains("earlier part"))
    }));
    assert_eq!(redis.stream_len("intake:cases").await.unwrap(), 150);
    // The gate of the failed batch is left to expire.
    let gates = gate_keys(&redis, "{intake:cases}").await;
    assert_eq!(gates.len(), 1);
    let ttl: i64 = redis::cmd("TTL")
        .arg(&gates[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 60, "ttl {ttl}");

    // The worker retries from the first failure once the cause is gone.
    let _: () = redis::cmd("DEL")
        .arg("intake:dead")
        .query_async(&mut conn)
        .await
        .unwrap();
    let before = redis.read_stream("intake:cases").await.unwrap();
    let retry = sink.append(&batch[100..]).await.unwrap();
    for (n, result) in (100..).zip(&retry) {
        match (n, result) {
            (100..150, Ok(AppendOutcome::Duplicate(id))) => assert_eq!(id, &before[n].0),
            (150.., Ok(AppendOutcome::Appended(_))) => {}
            other => panic!("entry {n}: {other:?}"),
        }
    }
    let cases = redis.read_stream("intake:cases").await.unwrap();
    let docs: Vec<&str> = cases.iter().map(|(_, f)| f["case"].as_str()).collect();
    let expected: Vec<String> = (0..250)
        .filter(|&n| n != 150)
        .map(|n| format!("m{n}"))
        .collect();
    assert_eq!(docs, expected, "stream order is receive order");
    assert_eq!(redis.stream_len("intake:dead").await.unwrap(), 1);
}

#[tokio::test]
async fn a_flushed_script_cache_is_reloaded_for_a_batch_in_parts() {
    let redis = require_server!(RedisServer::start().await);
    let cfg = config(&redis.url(), "intake:cases", "intake:dead");
    let mut sink = sink_for(&cfg);
    sink.append(&[keyed(0)]).await.unwrap();

    let mut conn = redis.connection().await.unwrap();
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    // Every part meets NOSCRIPT; the sink loads the script and sends them again. Entry 0 is a
    // repeat from before the flush.
    let batch: Vec<Entry> = (0..350).map(keyed).collect();
    let results = sink.append(&batch).await.unwrap();
    assert!(matches!(results[0], Ok(AppendOutcome::Duplicate(_))));
    assert!(
        results[1..]
            .iter()
            .all(|r| matches!(r, Ok(AppendOutcome::Appended(_))))
    );
    let cases = redis.read_stream("intake:cases").await.unwrap();
    let docs: Vec<&str> = cases.iter().map(|(_, f)| f["case"].as_str()).collect();
    let expected: Vec<String> = (0..350).map(|n| format!("m{n}")).collect();
    assert_eq!(docs, expected);
}

#[tokio::test]
async fn a_batch_in_parts_after_a_redis_restart_is_appended_once_in_order() {
    let redis = require_server!(RedisServer::start_persistent().await);
    let cfg = config(&redis.url(), "intake:cases", "intake:dead");
    let mut sink = sink_for(&cfg);
    let batch: Vec<Entry> = (0..400).map(keyed).collect();
    sink.append(&batch[..150]).await.unwrap();

    redis.restart().await.unwrap();
    // As the worker does: keep what is durable, retry the rest.
    let mut committed = 0;
    for _ in 0..50 {
        if let Ok(results) = sink.append(&batch[committed..]).await {
            let ok = results.iter().take_while(|r| r.is_ok()).count();
            for (n, result) in (committed..).zip(&results[..ok]) {
                let duplicate = matches!(result, Ok(AppendOutcome::Duplicate(_)));
                assert_eq!(duplicate, n < 150, "entry {n}: {result:?}");
            }
            committed += ok;
        }
        if committed == batch.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        committed,
        batch.len(),
        "the sink recovers after redis restarts"
    );
    let cases = redis.read_stream("intake:cases").await.unwrap();
    let docs: Vec<&str> = cases.iter().map(|(_, f)| f["case"].as_str()).collect();
    let expected: Vec<String> = (0..400).map(|n| format!("m{n}")).collect();
    assert_eq!(docs, expected);
}
