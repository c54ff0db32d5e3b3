//! The bot token is in every Bot API URL, and both reqwest's errors (the URL) and the API's own
//! descriptions can carry it. Planted in every error path the fake can produce, and with a
//! second bot whose API is unreachable (connection errors quote the URL), it must never show
//! up in the logs captured at trace level, in /readyz, in cases or in dead letters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use intake_config::ChannelConfig;
use intake_tests::fake_telegram::{FakeTelegram, TOKEN, fixture};
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{
    config_with, http_get, intake_binary, telegram_channel, write_config_toml,
};
use intake_tests::wait::{wait_for, wait_until};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The token's secret part alone must not leak either.
const SECRET_PART: &str = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_shows_in_logs_readyz_or_documents() {
    let redis = require_server!(RedisServer::start().await);
    let fake = FakeTelegram::start().await.unwrap();
    let planted =
        |method: &str| format!("Bad Request: see https://api/bot{TOKEN}/{method} ({SECRET_PART})");
    fake.fail_next("getMe", 400, &planted("getMe"), 1);
    fake.fail_next("getWebhookInfo", 400, &planted("getWebhookInfo"), 1);
    fake.fail_next("getUpdates", 400, &planted("getUpdates"), 2);
    fake.refuse_file("AgACAgQAAxkBAAIBlarge", &planted("getFile"));
    fake.push(fixture("photo.json").unwrap());
    fake.push(fixture("private_text.json").unwrap());

    let work = tempfile::tempdir().unwrap();
    let bot = telegram_channel("bot", &fake.api_url());
    let closed = intake_tests::net::free_port().unwrap();
    let unreachable = telegram_channel("unreachable", &format!("http://127.0.0.1:{closed}"));
    let cfg = config_with(
        &redis,
        &work.path().join("blobs"),
        vec![
            ChannelConfig::Telegram(bot),
            ChannelConfig::Telegram(unreachable),
        ],
    );
    let port = intake_tests::net::free_port().unwrap();
    let config_path = write_config_toml(work.path(), &cfg, port).unwrap();
    let log_path = work.path().join("stderr.log");
    let mut child = Command::new(intake_binary().unwrap())
        .args(["run", "--config"])
        .arg(&config_path)
        .env("TELEGRAM_TOKEN", TOKEN)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();

    common::wait_for_total(&redis, 2, Duration::from_secs(60)).await;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let readyz = wait_for(
        Duration::from_secs(20),
        Duration::from_millis(100),
        || async {
            let (status, body) = http_get(addr, "/readyz").await.ok()?;
            (status == 503 && body.contains("unreachable")).then_some(body)
        },
    )
    .await
    .expect("/readyz reports the unreachable bot");
    // Let the unreachable bot fail a few more times at trace level.
    tokio::time::sleep(Duration::from_secs(2)).await;
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    wait_until(Duration::from_secs(20), Duration::from_millis(50), || {
        let exited = child.try_wait().ok().flatten().is_some();
        async move { exited }
    })
    .await
    .expect("exits on SIGTERM");

    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "logs were captured at trace level"
    );
    assert!(
        logs.contains("could not connect"),
        "the connection failure is logged"
    );
    assert!(
        logs.contains("bot[redacted]/getUpdates"),
        "the planted descriptions reached the log, masked"
    );
    let (cases, dead) = common::entries(&redis).await;
    let documents: Vec<String> = cases
        .iter()
        .chain(&dead)
        .flat_map(|(_, fields)| fields.values().cloned())
        .collect();
    let photo = documents
        .iter()
        .find(|d| d.contains("omitted_reason") && d.contains("refused by the bot api"))
        .expect("the refused photo is kept as metadata");
    for (what, text) in [
        ("logs", logs.as_str()),
        ("/readyz", readyz.as_str()),
        ("a case", photo.as_str()),
    ] {
        assert!(!text.contains(TOKEN), "the token is in {what}");
        assert!(
            !text.contains(SECRET_PART),
            "the token's secret is in {what}"
        );
    }
    for document in &documents {
        assert!(
            !document.contains(SECRET_PART),
            "the token's secret is in a document"
        );
    }
}
