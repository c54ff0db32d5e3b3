//! What Intake says about and refuses in a real redis-server's setup: the words for each
//! persistence setting, an evicting `maxmemory-policy` refused by `intake check`, `intake run`
//! and the in-process gateway, a Redis user without `CONFIG`, `durability = "aof"` on a server
//! without WAITAOF, and a Redis that is down at start-up and misconfigured when it comes up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use intake_config::{Durability, EmailConfig};
use intake_gateway::redis_setup::{self, Level, SetupReport};
use intake_gateway::sink::{Entry, SinkError, StreamSink, Target};
use intake_gateway::{Gateway, GatewayError};
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{config, intake_binary, write_config_toml};

/// An email channel on a loopback port nothing listens on: start-up never waits for it, and
/// the tests here are about Redis.
fn closed_channel() -> EmailConfig {
    EmailConfig {
        name: "support".into(),
        host: "127.0.0.1".into(),
        port: intake_tests::free_port().unwrap(),
        tls: intake_config::TlsMode::None,
        allow_insecure: false,
        tls_ca_file: None,
        authserv_id: None,
        username: "support".into(),
        password: intake_config::Secret::new("unused"),
        mailbox: "INBOX".into(),
        after_ingest: intake_config::AfterIngest::Seen,
        idle: true,
        poll_interval: Duration::from_secs(1),
        batch_size: 10,
        max_message_bytes: 1024 * 1024,
        poison_after: 5,
    }
}

async fn report_of(redis: &RedisServer, durability: &Durability) -> SetupReport {
    let mut conn = redis.connection().await.unwrap();
    redis_setup::inspect(&mut conn, durability).await.unwrap()
}

fn persistence(report: &SetupReport) -> (Level, String) {
    let f = report.findings.iter().find(|f| f.topic == "persistence");
    let f = f.unwrap_or_else(|| panic!("no persistence finding: {report:?}"));
    (f.level, f.text.clone())
}

#[tokio::test]
async fn says_what_a_crash_can_lose_for_each_persistence_setting() {
    let cases: [(&[&str], Level, &str); 4] = [
        (
            &["--appendonly", "no"],
            Level::Warn,
            "loses everything acknowledged: nothing is persisted",
        ),
        (
            &["--appendonly", "no", "--save", "3600 1"],
            Level::Warn,
            "since the last RDB snapshot",
        ),
        (
            &["--appendonly", "yes", "--appendfsync", "everysec"],
            Level::Warn,
            "can lose up to ~1 s",
        ),
        (
            &["--appendonly", "yes", "--appendfsync", "always"],
            Level::Ok,
            "nothing acknowledged is lost",
        ),
    ];
    for (args, level, words) in cases {
        let redis = require_server!(RedisServer::start_with_args(args).await);
        let report = report_of(&redis, &Durability::Append).await;
        let (got, text) = persistence(&report);
        assert_eq!(got, level, "{args:?}: {text}");
        assert!(text.contains(words), "{args:?}: {text}");
        assert_eq!(report.refusal(), None, "{args:?}: {report:?}");
        assert!(
            report
                .version
                .as_deref()
                .is_some_and(|v| v.starts_with('7'))
        );
    }
}

#[tokio::test]
async fn a_user_without_config_is_told_the_setup_cannot_be_read() {
    let redis = require_server!(RedisServer::start().await);
    let mut admin = redis.connection().await.unwrap();
    redis::cmd("ACL")
        .arg(&[
            "SETUSER", "intake", "on", ">pw-123", "~*", "&*", "+@all", "-config",
        ])
        .query_async::<()>(&mut admin)
        .await
        .unwrap();
    let url = format!("redis://intake:pw-123@127.0.0.1:{}/", redis.port());
    let mut conn = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let report = redis_setup::inspect(&mut conn, &Durability::Append)
        .await
        .unwrap();
    let (level, text) = persistence(&report);
    assert_eq!(level, Level::Warn);
    assert!(
        text.contains("cannot read") && text.contains("not allowed"),
        "{text}"
    );
    assert_eq!(report.refusal(), None, "unknown is said, not refused");
    assert!(report.version.is_some(), "INFO is still allowed");
}

/// Runs the `intake` binary with `args`, killing it if it has not exited within 20 s.
fn run_intake(args: &[&str], config: &std::path::Path) -> Output {
    let mut child = Command::new(intake_binary().unwrap())
        .args(args)
        .arg("--config")
        .arg(config)
        .env("IMAP_PASSWORD", "unused")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!(
                "intake {args:?} did not exit: {:?}",
                child.wait_with_output()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicting_policy_is_refused_by_check_run_and_start() {
    for policy in ["volatile-lru", "allkeys-lru"] {
        let redis =
            require_server!(RedisServer::start_with_args(&["--maxmemory-policy", policy]).await);
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(&redis, &dir.path().join("blobs"), vec![closed_channel()]);
        let path = write_config_toml(dir.path(), &cfg, 0).unwrap();

        let check = run_intake(&["check"], &path);
        let stdout = String::from_utf8_lossy(&check.stdout);
        assert_eq!(check.status.code(), Some(1), "{stdout}");
        let redis_line = stdout.lines().find(|l| l.starts_with("redis ")).unwrap();
        assert!(
            redis_line.contains("FAILED") && redis_line.contains(policy),
            "{stdout}"
        );
        assert!(stdout.contains("  eviction: REFUSED: "), "{stdout}");
        assert!(stdout.contains("  persistence: "), "{stdout}");

        let run = run_intake(&["run"], &path);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("redis setup refused") && stderr.contains(policy),
            "{stderr}"
        );

        match Gateway::start(cfg).await {
            Err(GatewayError::RedisSetup { detail }) => assert!(detail.contains(policy)),
            other => panic!("{policy}: started anyway: {other:?}"),
        }
        assert_eq!(redis.stream_len("intake:cases").await.unwrap(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_what_a_crash_can_lose_and_passes_a_sound_setup() {
    let redis = require_server!(
        RedisServer::start_with_args(&["--appendonly", "yes", "--appendfsync", "everysec"]).await
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&redis, &dir.path().join("blobs"), vec![closed_channel()]);
    let path = write_config_toml(dir.path(), &cfg, 0).unwrap();
    let stdout = String::from_utf8_lossy(&run_intake(&["check"], &path).stdout).to_string();
    let redis_line = stdout.lines().find(|l| l.starts_with("redis ")).unwrap();
    assert!(redis_line.contains(": ok (redis 7"), "{stdout}");
    assert!(
        stdout.contains("  persistence: WARNING: a Redis crash can lose up to ~1 s"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  eviction: maxmemory-policy noeviction"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  durability: intake acks a message once"),
        "{stdout}"
    );
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aof_durability_needs_waitaof() {
    let redis = require_server!(RedisServer::start_persistent().await);
    let blobs = tempfile::tempdir().unwrap();
    let mut cfg = config(&redis, blobs.path(), vec![closed_channel()]);
    cfg.redis.durability = Durability::Aof {
        replicas: 0,
        timeout: Duration::from_secs(1),
    };
    let report = report_of(&redis, &cfg.redis.durability).await;
    let version = report.version.clone().unwrap();
    let mut numbers = version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    let has_waitaof = (numbers.next(), numbers.next()) >= (Some(7), Some(2));
    if has_waitaof {
        // A newer server than Debian's: the mode works, an append waits for the fsync.
        assert_eq!(report.refusal(), None, "{report:?}");
        let conn = intake_gateway::redis_conn::connect(&cfg.redis).unwrap();
        let mut sink = StreamSink::new(conn, &cfg.redis);
        let outcomes = sink.append(&[entry("a")]).await.unwrap();
        assert!(outcomes[0].is_ok(), "{outcomes:?}");
        return;
    }
    let refusal = report.refusal().unwrap_or_default();
    assert!(
        refusal.contains("7.2") && refusal.contains(&version),
        "{refusal}"
    );
    match Gateway::start(cfg).await {
        Err(GatewayError::RedisSetup { detail }) => assert!(detail.contains("WAITAOF"), "{detail}"),
        other => panic!("aof on redis {version} started: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_down_at_start_is_checked_before_the_first_append() {
    let redis = require_server!(
        RedisServer::start_with_args(&["--maxmemory-policy", "volatile-ttl"]).await
    );
    redis.kill();
    let blobs = tempfile::tempdir().unwrap();
    let cfg = config(&redis, blobs.path(), vec![closed_channel()]);

    // Start-up does not wait for Redis.
    let started = std::time::Instant::now();
    let gateway = Gateway::start(cfg.clone()).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    gateway.shutdown(Duration::from_secs(2)).await;

    let conn = intake_gateway::redis_conn::connect(&cfg.redis).unwrap();
    let mut sink = StreamSink::new(conn, &cfg.redis);
    match sink.append(&[entry("a")]).await {
        Err(e) => assert!(e.is_transient(), "{e}"),
        Ok(outcomes) => panic!("appended to a dead redis: {outcomes:?}"),
    }
    redis.restart().await.unwrap();
    // Up again, with the evicting policy: nothing is appended...
    let mut refused = None;
    for _ in 0..50 {
        match sink.append(&[entry("a")]).await {
            Err(SinkError::SetupRefused { detail }) => {
                refused = Some(detail);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Ok(outcomes) => panic!("appended under volatile-ttl: {outcomes:?}"),
        }
    }
    assert!(refused.is_some_and(|d| d.contains("volatile-ttl")));
    assert_eq!(redis.stream_len("intake:cases").await.unwrap(), 0);

    // ...until the policy is fixed, which needs no restart of the gateway.
    let mut admin = redis.connection().await.unwrap();
    redis::cmd("CONFIG")
        .arg(&["SET", "maxmemory-policy", "noeviction"])
        .query_async::<()>(&mut admin)
        .await
        .unwrap();
    let outcomes = sink.append(&[entry("a")]).await.unwrap();
    assert!(outcomes[0].is_ok(), "{outcomes:?}");
    assert_eq!(redis.stream_len("intake:cases").await.unwrap(), 1);
}

/// deploy/redis.conf, run by a real redis-server, gives what the docs promise: nothing acked is
/// lost in a crash and nothing is evicted.
#[tokio::test]
async fn the_shipped_redis_conf_loses_nothing_acked_and_never_evicts() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/redis.conf");
    let text = std::fs::read_to_string(path).unwrap();
    // The harness sets where it listens and stores; everything else comes from the file.
    let args: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .filter(|(k, _)| !["bind", "port", "dir", "protected-mode"].contains(k))
        .flat_map(|(k, v)| [format!("--{k}"), v.trim().to_string()])
        .collect();
    assert!(args.len() >= 6, "{args:?}");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let redis = require_server!(RedisServer::start_with_args(&args).await);
    let report = report_of(&redis, &Durability::Append).await;
    assert_eq!(report.refusal(), None, "{report:?}");
    let (level, text) = persistence(&report);
    assert_eq!(level, Level::Ok, "{text}");
    assert!(text.contains("nothing acknowledged is lost"), "{text}");
    let eviction = report.findings.iter().find(|f| f.topic == "eviction");
    assert!(eviction.is_some_and(|f| f.level == Level::Ok && f.text.contains("noeviction")));
}
