//! The Telegram channel in webhook mode, in process: the real HTTP server, a real redis-server,
//! teloxide's client against the fake Bot API for files and for `set-webhook`. The answer is the
//! ack: 401 and nothing appended without the secret, 503 while Redis is down, 200 only once the
//! case is durable, and a redelivered update lands once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use intake_channels::telegram::{WebhookCommand, webhook_command};
use intake_config::{ChannelConfig, Secret, TelegramConfig, TelegramMode};
use intake_gateway::Gateway;
use intake_tests::fake_telegram::{FakeTelegram, fixture};
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{HttpResponse, config_with, http_post, telegram_channel};

const SECRET: &str = "s3cret-Token_for-the-hook";
const CASES: &str = "intake:cases";

fn webhook_channel(fake: &FakeTelegram) -> TelegramConfig {
    let mut bot = telegram_channel("bot", &fake.api_url());
    bot.mode = TelegramMode::Webhook {
        url: "https://intake.example.com/webhooks/bot".into(),
        secret: Secret::new(SECRET),
    };
    bot
}

async fn deliver(gateway: &Gateway, secret: Option<&str>, body: &[u8]) -> HttpResponse {
    let headers: Vec<(&str, &str)> = secret
        .map(|s| vec![("X-Telegram-Bot-Api-Secret-Token", s)])
        .unwrap_or_default();
    let mut headers = headers;
    headers.push(("Content-Type", "application/json"));
    http_post(gateway.http_addr(), "/webhooks/bot", &headers, body)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_guards_the_hook_and_200_means_durable_once() {
    let redis = require_server!(RedisServer::start().await);
    let fake = FakeTelegram::start().await.unwrap();
    fake.add_file("AgACAgQAAxkBAAIBlarge", b"photo bytes".to_vec());
    let blobs = tempfile::tempdir().unwrap();
    let bot = webhook_channel(&fake);

    // set-webhook registers the URL with the secret token.
    let said = webhook_command(&bot, WebhookCommand::Set).await.unwrap();
    assert!(
        said.contains("https://intake.example.com/webhooks/bot"),
        "{said}"
    );
    assert_eq!(
        fake.webhook(),
        Some((
            "https://intake.example.com/webhooks/bot".into(),
            Some(SECRET.into())
        ))
    );
    let info = webhook_command(&bot, WebhookCommand::Info).await.unwrap();
    assert!(info.contains("intake.example.com"), "{info}");

    let cfg = config_with(&redis, blobs.path(), vec![ChannelConfig::Telegram(bot)]);
    let gateway = Gateway::start(cfg).await.unwrap();
    let update = fixture("private_text.json").unwrap().to_string();

    for wrong in [
        None,
        Some("wrong"),
        Some("s3cret-Token_for-the-hoo"),
        Some(""),
    ] {
        let refused = deliver(&gateway, wrong, update.as_bytes()).await;
        assert_eq!(refused.status, 401, "{wrong:?}: {refused:?}");
    }
    assert_eq!(
        redis.stream_len(CASES).await.unwrap(),
        0,
        "nothing appended"
    );

    let accepted = deliver(&gateway, Some(SECRET), update.as_bytes()).await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
    assert_eq!(
        redis.stream_len(CASES).await.unwrap(),
        1,
        "200 only once durable"
    );
    let again = deliver(&gateway, Some(SECRET), update.as_bytes()).await;
    assert_eq!(again.status, 200, "a redelivery is acknowledged");
    assert_eq!(redis.stream_len(CASES).await.unwrap(), 1, "and lands once");

    let photo = fixture("photo.json").unwrap().to_string();
    assert_eq!(
        deliver(&gateway, Some(SECRET), photo.as_bytes())
            .await
            .status,
        200
    );
    let skipped = fixture("channel_post.json").unwrap().to_string();
    assert_eq!(
        deliver(&gateway, Some(SECRET), skipped.as_bytes())
            .await
            .status,
        200
    );

    // Telegram's bytes that are no update: a dead letter, answered once it is durable.
    let junk = br#"{"not":"an update"}"#;
    assert_eq!(deliver(&gateway, Some(SECRET), junk).await.status, 200);
    assert_eq!(deliver(&gateway, Some(SECRET), junk).await.status, 200);
    common::wait_for_total(&redis, 3, Duration::from_secs(10)).await;
    common::assert_exactly_once(&redis, 3).await;
    let (cases, dead) = common::entries(&redis).await;
    assert_eq!((cases.len(), dead.len()), (2, 1));
    let photo_case: serde_json::Value = serde_json::from_str(&cases[1].1["case"]).unwrap();
    assert!(
        photo_case["attachments"][0]["ref"].is_string(),
        "{photo_case}"
    );
    assert_eq!(fake.calls("getUpdates"), 0, "webhook mode never polls");
    gateway.shutdown(Duration::from_secs(5)).await;

    let deleted = webhook_command(
        &telegram_channel("bot", &fake.api_url()),
        WebhookCommand::Delete,
    )
    .await
    .unwrap();
    assert!(deleted.contains("deleted"));
    assert!(fake.webhook().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_503_so_telegram_redelivers() {
    let redis = require_server!(RedisServer::start().await);
    let fake = FakeTelegram::start().await.unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let cfg = config_with(
        &redis,
        blobs.path(),
        vec![ChannelConfig::Telegram(webhook_channel(&fake))],
    );
    let gateway = Gateway::start(cfg).await.unwrap();
    let update = fixture("private_short.json").unwrap().to_string();
    redis.kill();
    // The gateway's Redis watcher notices within a few seconds.
    let deadline = Instant::now() + Duration::from_secs(15);
    let refused = loop {
        let response = deliver(&gateway, Some(SECRET), update.as_bytes()).await;
        if response.status == 503 || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(refused.header("retry-after").is_some(), "{refused:?}");
    redis.restart().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = deliver(&gateway, Some(SECRET), update.as_bytes()).await;
        if response.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never acknowledged: {response:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(redis.stream_len(CASES).await.unwrap(), 1);
    gateway.shutdown(Duration::from_secs(5)).await;
}
