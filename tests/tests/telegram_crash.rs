//! Telegram polling under faults: the `intake` binary SIGKILLed five times while 2,000 updates
//! arrive (every update exactly once, every one confirmed to the API in the end), and Redis down
//! for 10 s while updates keep coming (none lost, the offset not advanced meanwhile).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use intake_config::ChannelConfig;
use intake_gateway::Gateway;
use intake_tests::fake_telegram::{FakeTelegram, TOKEN};
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{config_with, intake_binary, telegram_channel, write_config_toml};
use intake_tests::wait::wait_until;
use rand::{Rng, SeedableRng};

/// Kills the child on drop, so a failing assertion never leaves a gateway running.
struct Child9(Option<Child>);

impl Drop for Child9 {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(binary: &std::path::Path, config: &std::path::Path) -> Child9 {
    let child = Command::new(binary)
        .args(["run", "--config"])
        .arg(config)
        .env("TELEGRAM_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Child9(Some(child))
}

const UPDATES: usize = 2000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_five_times_while_updates_arrive_keeps_exactly_once() {
    let redis = require_server!(RedisServer::start_persistent().await);
    let fake = std::sync::Arc::new(FakeTelegram::start().await.unwrap());
    let binary = intake_binary().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut bot = telegram_channel("bot", &fake.api_url());
    bot.batch_size = 50;
    let cfg = config_with(
        &redis,
        &work.path().join("blobs"),
        vec![ChannelConfig::Telegram(bot)],
    );
    let port = intake_tests::net::free_port().unwrap();
    let config_path = write_config_toml(work.path(), &cfg, port).unwrap();

    // Updates keep arriving through all the kills: 2,000 over about 4 s.
    let feeder = {
        let fake = fake.clone();
        tokio::spawn(async move {
            let mut last = 0;
            for i in 0..UPDATES {
                last = fake.push_text(100_000 + i as i64, &format!("message number {i}"));
                if i % 25 == 24 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            last
        })
    };
    let seed: u64 = rand::rng().random();
    eprintln!("telegram crash test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for round in 0..5 {
        let before = common::total(&redis).await;
        let child = spawn(&binary, &config_path);
        let progress = rng.random_range(1..200);
        let deadline = Instant::now() + Duration::from_secs(30);
        while common::total(&redis).await < (before + progress).min(UPDATES as u64)
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..50))).await;
        drop(child); // SIGKILL
        let after = common::total(&redis).await;
        eprintln!("round {round}: killed at {after} entries (was {before})");
    }
    let last = feeder.await.unwrap();
    let _child = spawn(&binary, &config_path);
    common::wait_for_total(&redis, UPDATES as u64, Duration::from_secs(120)).await;
    let keys = common::assert_exactly_once(&redis, UPDATES).await;
    for i in [0, UPDATES as i64 / 2, UPDATES as i64 - 1] {
        assert!(keys.contains(&format!(
            "telegram:123456789:{}",
            last - (UPDATES as i64 - 1) + i
        )));
    }
    wait_until(
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async { fake.confirmed() == last + 1 },
    )
    .await
    .expect("every update is confirmed to the api in the end");
    assert_eq!(fake.unconfirmed(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_for_ten_seconds_loses_nothing_and_holds_the_offset() {
    let redis = require_server!(RedisServer::start_persistent().await);
    let fake = FakeTelegram::start().await.unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let bot = telegram_channel("bot", &fake.api_url());
    let cfg = config_with(&redis, blobs.path(), vec![ChannelConfig::Telegram(bot)]);
    let gateway = Gateway::start(cfg).await.unwrap();
    for i in 0..100 {
        fake.push_text(200_000 + i, &format!("before the outage {i}"));
    }
    common::wait_for_total(&redis, 100, Duration::from_secs(30)).await;
    wait_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async { fake.unconfirmed() == 0 },
    )
    .await
    .unwrap();
    let held = fake.confirmed();

    redis.kill();
    let mut last = 0;
    for second in 0..10 {
        for i in 0..10 {
            last = fake.push_text(
                300_000 + second * 10 + i,
                &format!("during the outage {second}.{i}"),
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            fake.confirmed(),
            held,
            "offset advanced while redis was down"
        );
    }
    assert_eq!(
        fake.unconfirmed(),
        100,
        "nothing confirmed during the outage"
    );
    redis.restart().await.unwrap();
    common::wait_for_total(&redis, 200, Duration::from_secs(60)).await;
    common::assert_exactly_once(&redis, 200).await;
    wait_until(
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async { fake.confirmed() == last + 1 },
    )
    .await
    .expect("confirmed once durable");
    gateway.shutdown(Duration::from_secs(5)).await;
}
