//! `intake ingest`, the MTA pipe: the real binary with a message on stdin and a real
//! redis-server. Exit 0 only once the case is durable, 75 (EX_TEMPFAIL) while Redis is down
//! with nothing appended, and the same message piped twice lands once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{CASES, DEAD, intake_binary};

/// A config with the pipe channel `mta` (messages up to `max` bytes) and an email channel whose
/// password is not set: `ingest` needs only Redis's secrets.
fn write_config(dir: &Path, redis: &RedisServer, max: u64) -> PathBuf {
    let toml = format!(
        "[redis]\nurl = {:?}\nstream = {CASES:?}\ndead_letter_stream = {DEAD:?}\n\n[blobs]\ndir = {:?}\n\n\
         [[channels]]\ntype = \"pipe\"\nname = \"mta\"\nmax_message_bytes = {max}\n\n\
         [[channels]]\ntype = \"email\"\nname = \"support\"\nhost = \"imap.example.com\"\n\
         username = \"support\"\npassword_env = \"INTAKE_TEST_UNSET_PASSWORD\"\n",
        redis.url(),
        dir.join("blobs").display().to_string(),
    );
    let path = dir.join("intake.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// Runs `intake ingest` with `message` on stdin, as an MTA's pipe transport does.
async fn ingest(config: &Path, channel: &str, message: &[u8]) -> Output {
    let (config, channel, message) = (config.to_path_buf(), channel.to_string(), message.to_vec());
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(intake_binary().unwrap())
            .args(["ingest", "--channel", &channel, "--config"])
            .arg(&config)
            .env_remove("INTAKE_TEST_UNSET_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&message).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn corpus_message() -> Vec<u8> {
    let corpus = intake_tests::corpus::corpus_messages().unwrap();
    let path = corpus
        .iter()
        .find(|p| p.to_string_lossy().contains("cpython-test_email__00717"))
        .or(corpus.first())
        .unwrap();
    std::fs::read(path).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_piped_message_is_one_case_however_often_it_is_piped() {
    let redis = require_server!(RedisServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &redis, 25 * 1024 * 1024);
    let message = corpus_message();
    let first = ingest(&config, "mta", &message).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(
        redis.stream_len(CASES).await.unwrap(),
        1,
        "durable before exit 0"
    );
    let again = ingest(&config, "mta", &message).await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    common::assert_exactly_once(&redis, 1).await;
    let entries = redis.read_stream(CASES).await.unwrap();
    let case: serde_json::Value = serde_json::from_str(&entries[0].1["case"]).unwrap();
    assert_eq!(
        case["channel"],
        serde_json::json!({"kind": "pipe", "name": "mta"})
    );
    let key = case["idempotency_key"].as_str().unwrap();
    let sha = intake_normalizer::sha256_hex(&message);
    assert!(key.starts_with("pipe:mta:") && key.ends_with(&sha), "{key}");

    // Another message with the same Message-ID is another case: the content differs.
    let mut edited = message.clone();
    edited.extend_from_slice(b"\r\n-- \r\nedited\r\n");
    let other = ingest(&config, "mta", &edited).await;
    assert_eq!(other.status.code(), Some(0), "{}", stderr(&other));
    common::assert_exactly_once(&redis, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_exits_75_within_seconds_and_appends_nothing() {
    let redis = require_server!(RedisServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &redis, 25 * 1024 * 1024);
    redis.kill();
    let started = Instant::now();
    let refused = ingest(&config, "mta", &corpus_message()).await;
    assert_eq!(refused.status.code(), Some(75), "{}", stderr(&refused));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(
        stderr(&refused).contains("EX_TEMPFAIL"),
        "{}",
        stderr(&refused)
    );
    redis.restart().await.unwrap();
    assert_eq!(common::total(&redis).await, 0, "nothing appended");
    // The MTA's retry lands it.
    let retried = ingest(&config, "mta", &corpus_message()).await;
    assert_eq!(retried.status.code(), Some(0), "{}", stderr(&retried));
    common::assert_exactly_once(&redis, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_a_dead_letter_and_an_unknown_channel_is_deferred() {
    let redis = require_server!(RedisServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &redis, 64);
    let big = b"From: a@example.com\r\nMessage-ID: <big@example.com>\r\nSubject: big\r\n\r\n"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'x', 10_000))
        .collect::<Vec<u8>>();
    let out = ingest(&config, "mta", &big).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    common::assert_exactly_once(&redis, 1).await;
    let dead = redis.read_stream(DEAD).await.unwrap();
    let letter: serde_json::Value = serde_json::from_str(&dead[0].1["dead_letter"]).unwrap();
    assert_eq!(letter["reason"], "too_large", "{letter}");

    let unknown = ingest(&config, "nope", b"Subject: x\r\n\r\nx\r\n").await;
    assert_eq!(unknown.status.code(), Some(75), "{}", stderr(&unknown));
    assert_eq!(common::total(&redis).await, 1);
}
