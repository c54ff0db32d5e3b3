//! The Telegram channel in polling mode, end to end and in process: teloxide's client against
//! the fake Bot API, a real redis-server, the gateway. Updates shaped like the Bot API's own
//! objects become one valid case each, with their files; skipped updates are confirmed too; the
//! offset survives a restart; conflicts (a webhook set, another poller) show in /readyz.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use intake_config::{ChannelConfig, TelegramChats, TelegramMode};
use intake_gateway::Gateway;
use intake_gateway::blobs::BlobStore;
use intake_tests::fake_telegram::{FakeTelegram, fixture};
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{config_with, http_get, telegram_channel};
use intake_tests::wait::wait_until;
use serde_json::Value;

fn cases_by_update(cases: &[intake_tests::StreamEntry]) -> Vec<Value> {
    let mut docs: Vec<Value> = cases
        .iter()
        .map(|(_, f)| serde_json::from_str(&f["case"]).unwrap())
        .collect();
    docs.sort_by_key(|d| d["source"]["telegram"]["update_id"].as_i64());
    docs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_updates_become_one_valid_case_each_with_their_files() {
    let redis = require_server!(RedisServer::start().await);
    let fake = FakeTelegram::start().await.unwrap();
    fake.add_file("AgACAgQAAxkBAAIBlarge", b"\xff\xd8 a jpeg".to_vec());
    fake.refuse_file("BQACAgQAAxkBAAIBdoc", "Bad Request: file is too big");
    let mut ids = Vec::new();
    for name in [
        "private_text.json",
        "private_short.json",
        "group_mention.json",
        "group_chatter.json",
        "topic.json",
        "photo.json",
        "document.json",
        "edited.json",
        "channel_post.json",
    ] {
        ids.push(fake.push(fixture(name).unwrap()));
    }
    for update in fixture("venue_contact_sticker.json")
        .unwrap()
        .as_array()
        .unwrap()
    {
        ids.push(fake.push(update.clone()));
    }
    let blobs = tempfile::tempdir().unwrap();
    let mut bot = telegram_channel("bot", &fake.api_url());
    bot.chats = TelegramChats::All;
    let cfg = config_with(&redis, blobs.path(), vec![ChannelConfig::Telegram(bot)]);
    let gateway = Gateway::start(cfg).await.unwrap();

    // 12 updates: the group chatter (no mention) and the channel post are skipped.
    common::wait_for_total(&redis, 10, Duration::from_secs(30)).await;
    common::assert_exactly_once(&redis, 10).await;
    let last = *ids.last().unwrap();
    wait_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async { fake.confirmed() == last + 1 },
    )
    .await
    .expect("every update, skipped ones too, is confirmed");

    let (cases, dead) = common::entries(&redis).await;
    assert!(dead.is_empty());
    let docs = cases_by_update(&cases);
    let by_id = |i: usize| {
        docs.iter()
            .find(|d| d["source"]["telegram"]["update_id"] == ids[i])
            .unwrap_or_else(|| panic!("no case for update {i}"))
    };
    assert!(
        !docs
            .iter()
            .any(|d| d["source"]["telegram"]["update_id"] == ids[3]
                || d["source"]["telegram"]["update_id"] == ids[8]),
        "group chatter and the channel post are not cases"
    );
    assert_eq!(
        by_id(0)["idempotency_key"],
        format!("telegram:123456789:{}", ids[0])
    );
    assert_eq!(
        by_id(1)["language"],
        "de",
        "the client's language for a short text"
    );
    assert_eq!(by_id(2)["source"]["telegram"]["chat_type"], "supergroup");
    assert_eq!(by_id(4)["source"]["telegram"]["thread_id"], 42);
    assert_ne!(
        by_id(2)["conversation"]["key"],
        by_id(4)["conversation"]["key"],
        "another chat, another conversation"
    );
    let photo = &by_id(5)["attachments"][0];
    let store = BlobStore::new(blobs.path());
    let sha = photo["ref"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap();
    assert_eq!(store.get(sha).unwrap().unwrap(), b"\xff\xd8 a jpeg");
    let doc = &by_id(6)["attachments"][0];
    assert!(doc["ref"].is_null());
    assert_eq!(doc["filename"], "invoice-4521.pdf");
    assert!(
        doc["omitted_reason"]
            .as_str()
            .unwrap()
            .contains("file is too big"),
        "{doc}"
    );
    let edit = by_id(7);
    assert_eq!(edit["event"], "message.edited");
    assert_eq!(
        edit["conversation"]["key"],
        by_id(0)["conversation"]["key"],
        "an edit joins the original's conversation"
    );
    assert_eq!(by_id(9)["location"]["title"], "Pickup point");
    assert_eq!(by_id(10)["contact"]["phone_number"], "+442071234567");
    assert_eq!(by_id(11)["body"]["text"], "[sticker 👍]");
    for d in &docs {
        let text = d.to_string();
        assert!(
            !text.contains("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
            "token in a case"
        );
    }

    // A restart resumes at the stored offset: only what arrived meanwhile is new.
    gateway.shutdown(Duration::from_secs(5)).await;
    let confirmed = fake.confirmed();
    let later: Vec<i64> = (0..3)
        .map(|i| fake.push_text(9000 + i, "after the restart"))
        .collect();
    let bot = telegram_channel("bot", &fake.api_url());
    let cfg = config_with(&redis, blobs.path(), vec![ChannelConfig::Telegram(bot)]);
    let gateway = Gateway::start(cfg).await.unwrap();
    common::wait_for_total(&redis, 13, Duration::from_secs(30)).await;
    assert!(confirmed <= later[0]);
    gateway.shutdown(Duration::from_secs(5)).await;
}

async fn readyz(gateway: &Gateway) -> (u16, String) {
    http_get(gateway.http_addr(), "/readyz").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_or_another_poller_is_reported_in_plain_words_and_retried() {
    let redis = require_server!(RedisServer::start().await);
    let fake = FakeTelegram::start().await.unwrap();
    fake.set_webhook("https://elsewhere.example/hook");
    let blobs = tempfile::tempdir().unwrap();
    let bot = telegram_channel("bot", &fake.api_url());
    let cfg = config_with(&redis, blobs.path(), vec![ChannelConfig::Telegram(bot)]);
    let gateway = Gateway::start(cfg).await.unwrap();
    fake.push_text(1, "hello while a webhook is set");

    let said = intake_tests::wait::wait_for(
        Duration::from_secs(15),
        Duration::from_millis(100),
        || async {
            let (status, body) = readyz(&gateway).await;
            (status == 503 && body.contains("a webhook is set")).then_some(body)
        },
    )
    .await
    .expect("/readyz names the webhook");
    assert!(!said.contains("AAHdq"), "{said}");
    assert_eq!(
        fake.webhook().map(|w| w.0).as_deref(),
        Some("https://elsewhere.example/hook"),
        "not deleted"
    );
    assert_eq!(redis.stream_len("intake:cases").await.unwrap(), 0);

    // Someone deletes the webhook: the retries get through.
    intake_channels::telegram::webhook_command(
        &telegram_channel("bot", &fake.api_url()),
        intake_channels::telegram::WebhookCommand::Delete,
    )
    .await
    .unwrap();
    common::wait_for_total(&redis, 1, Duration::from_secs(30)).await;
    wait_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async { readyz(&gateway).await.0 == 200 },
    )
    .await
    .expect("ready again");

    // Another poller on the same bot: 409 "terminated by other getUpdates request".
    fake.fail_next(
        "getUpdates",
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        3,
    );
    let said = intake_tests::wait::wait_for(
        Duration::from_secs(15),
        Duration::from_millis(50),
        || async {
            let (status, body) = readyz(&gateway).await;
            (status == 503 && body.contains("another getUpdates poller")).then_some(body)
        },
    )
    .await
    .expect("/readyz names the other poller");
    assert!(said.contains("409"), "{said}");
    let calls = fake.calls("getUpdates");
    fake.push_text(2, "hello after the conflict");
    common::wait_for_total(&redis, 2, Duration::from_secs(60)).await;
    assert!(fake.calls("getUpdates") > calls, "retried after the 409s");
    wait_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async { readyz(&gateway).await.0 == 200 },
    )
    .await
    .expect("ready again after the conflict");
    gateway.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_webhook_true_deletes_it_at_start() {
    let redis = require_server!(RedisServer::start().await);
    let fake = FakeTelegram::start().await.unwrap();
    fake.set_webhook("https://old.example/hook");
    fake.push_text(3, "queued behind the webhook");
    let blobs = tempfile::tempdir().unwrap();
    let mut bot = telegram_channel("bot", &fake.api_url());
    bot.mode = TelegramMode::Polling {
        timeout: Duration::from_secs(1),
        delete_webhook: true,
    };
    let cfg = config_with(&redis, blobs.path(), vec![ChannelConfig::Telegram(bot)]);
    let gateway = Gateway::start(cfg).await.unwrap();
    common::wait_for_total(&redis, 1, Duration::from_secs(30)).await;
    assert!(fake.webhook().is_none());
    assert_eq!(fake.conflicts(), 0, "deleted before the first getUpdates");
    gateway.shutdown(Duration::from_secs(5)).await;
}
