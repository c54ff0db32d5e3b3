//! Conversations end to end: threading chains, newsletter replies that must stay apart, a reply
//! carrying only a subject tag, and loop detection — through Dovecot, the gateway and Redis.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use intake_gateway::Gateway;
use intake_tests::dovecot::Dovecot;
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{config, email_channel};
use serde_json::Value;

fn mail(from: &str, id: &str, subject: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: support@example.com\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra}Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nHello, this is {id}.\r\n"
    )
    .into_bytes()
}

/// Cases by Message-ID.
async fn cases(redis: &RedisServer) -> HashMap<String, Value> {
    let (cases, _) = common::entries(redis).await;
    cases
        .into_iter()
        .map(|(_, f)| {
            let doc: Value = serde_json::from_str(&f["case"]).unwrap();
            (
                doc["source"]["message_id"].as_str().unwrap().to_string(),
                doc,
            )
        })
        .collect()
}

fn key(cases: &HashMap<String, Value>, id: &str) -> String {
    cases[id]["conversation"]["key"]
        .as_str()
        .unwrap()
        .to_string()
}

fn is_new(cases: &HashMap<String, Value>, id: &str) -> bool {
    cases[id]["conversation"]["is_new"].as_bool().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_join_and_strangers_stay_apart() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    let messages = [
        // A three-message thread; Outlook rewrote the second one's In-Reply-To.
        mail(
            "Alice <alice@example.com>",
            "a1@example.com",
            "Printer broken",
            "",
        ),
        mail(
            "Alice <alice@example.com>",
            "a2@example.com",
            "RE: Printer broken",
            "In-Reply-To: <rewritten-by-outlook@example.com>\r\nReferences: <a1@example.com>\r\n",
        ),
        // Two customers answering the same newsletter, which itself was delivered too.
        mail(
            "News <news@example.com>",
            "news1@example.com",
            "Our November news",
            "List-Id: <news.example.com>\r\nPrecedence: bulk\r\n",
        ),
        mail(
            "Bob <bob@example.com>",
            "b1@example.com",
            "Re: Our November news",
            "In-Reply-To: <news1@example.com>\r\nReferences: <news1@example.com>\r\n",
        ),
        mail(
            "Carol <carol@example.com>",
            "c1@example.com",
            "Re: Our November news",
            "In-Reply-To: <news1@example.com>\r\nReferences: <news1@example.com>\r\n",
        ),
        // A subject tag alone carries the thread, per sender.
        mail(
            "Dave <dave@example.com>",
            "d1@example.com",
            "[Case #123] Invoice wrong",
            "",
        ),
        mail(
            "Dave <dave@example.com>",
            "d2@example.com",
            "Re: [Case #123] Invoice wrong",
            "",
        ),
        mail(
            "Erin <erin@example.com>",
            "e1@example.com",
            "[Case #123] me too",
            "",
        ),
    ];
    for raw in &messages {
        dovecot.deliver(dovecot.user(), "INBOX", raw).unwrap();
    }
    let blobs = tempfile::tempdir().unwrap();
    let mut channel = email_channel(&dovecot, "support", "INBOX");
    // Small batches: the chains span batches as well as resolving within one.
    channel.batch_size = 3;
    let gateway = Gateway::start(config(&redis, blobs.path(), vec![channel]))
        .await
        .unwrap();
    common::wait_for_total(&redis, messages.len() as u64, Duration::from_secs(30)).await;

    // The third message of the chain arrives later, answering the second.
    dovecot
        .append(
            "INBOX",
            &mail(
                "Alice <alice@example.com>",
                "a3@example.com",
                "RE: Printer broken",
                "In-Reply-To: <a2@example.com>\r\n",
            ),
        )
        .await
        .unwrap();
    common::wait_for_total(&redis, messages.len() as u64 + 1, Duration::from_secs(30)).await;
    let cases = cases(&redis).await;

    assert!(is_new(&cases, "a1@example.com"));
    assert_eq!(key(&cases, "a2@example.com"), key(&cases, "a1@example.com"));
    assert_eq!(key(&cases, "a3@example.com"), key(&cases, "a1@example.com"));
    assert!(!is_new(&cases, "a2@example.com") && !is_new(&cases, "a3@example.com"));
    let a2_hints = cases["a2@example.com"]["conversation"]["hints"]
        .as_array()
        .unwrap();
    let used: Vec<&str> = a2_hints
        .iter()
        .filter(|h| h["used"] == true)
        .map(|h| h["signal"].as_str().unwrap())
        .collect();
    assert_eq!(used, ["references"], "{a2_hints:?}");

    assert_ne!(key(&cases, "b1@example.com"), key(&cases, "c1@example.com"));
    assert_ne!(
        key(&cases, "b1@example.com"),
        key(&cases, "news1@example.com")
    );
    assert!(is_new(&cases, "b1@example.com") && is_new(&cases, "c1@example.com"));

    assert_eq!(key(&cases, "d2@example.com"), key(&cases, "d1@example.com"));
    assert!(!is_new(&cases, "d2@example.com"));
    assert_ne!(key(&cases, "e1@example.com"), key(&cases, "d1@example.com"));
    gateway.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_sender_is_flagged_as_a_loop() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    for i in 0..25 {
        let raw = mail(
            "Robot <robot@example.com>",
            &format!("r{i}@example.com"),
            "Auto: ack",
            "",
        );
        dovecot.deliver(dovecot.user(), "INBOX", &raw).unwrap();
    }
    let frank = mail("Frank <frank@example.com>", "f1@example.com", "hi", "");
    dovecot.deliver(dovecot.user(), "INBOX", &frank).unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let mut cfg = config(
        &redis,
        blobs.path(),
        vec![email_channel(&dovecot, "support", "INBOX")],
    );
    // A day-long window: the test never straddles a window boundary.
    cfg.conversations.loop_window = Duration::from_secs(86_400);
    let gateway = Gateway::start(cfg).await.unwrap();
    common::wait_for_total(&redis, 26, Duration::from_secs(30)).await;
    let cases = cases(&redis).await;
    let flagged = (0..25)
        .filter(|i| cases[&format!("r{i}@example.com")]["classification"]["loop_suspect"] == true)
        .count();
    // The default threshold is 20 per window: messages 21 to 25 are flagged.
    assert_eq!(flagged, 5);
    assert_eq!(
        cases["f1@example.com"]["classification"]["loop_suspect"],
        false
    );
    let reasons = cases["r24@example.com"]["classification"]["reasons"].to_string();
    assert!(
        reasons.contains("rate: 25 messages from this sender within 1day"),
        "{reasons}"
    );
    gateway.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounce_of_a_recorded_reply_joins_its_conversation() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    // The helpdesk sent a reply in conversation "conv-helpdesk-1" and recorded its Message-ID,
    // as ARCHITECTURE.md describes; the reply bounced (a Postfix DSN from the golden fixtures).
    let mut conn = redis.connection().await.unwrap();
    let () = redis::cmd("SET")
        .arg("{intake:cases}:conv:msgid:4E326A95.3010907@example.com")
        .arg("conv-helpdesk-1")
        .query_async(&mut conn)
        .await
        .unwrap();
    let dsn = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../normalizer/tests/fixtures/email/dsn_mailbox_full.eml"
    ))
    .unwrap();
    dovecot.deliver(dovecot.user(), "INBOX", &dsn).unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let cfg = config(
        &redis,
        blobs.path(),
        vec![email_channel(&dovecot, "support", "INBOX")],
    );
    let gateway = Gateway::start(cfg).await.unwrap();
    common::wait_for_total(&redis, 1, Duration::from_secs(20)).await;
    let (cases, _) = common::entries(&redis).await;
    let doc: Value = serde_json::from_str(&cases[0].1["case"]).unwrap();
    assert_eq!(doc["conversation"]["key"], "conv-helpdesk-1", "{doc}");
    assert_eq!(doc["conversation"]["is_new"], false);
    let hints = doc["conversation"]["hints"].as_array().unwrap();
    assert!(
        hints
            .iter()
            .any(|h| h["signal"] == "bounce_original" && h["used"] == true),
        "{hints:?}"
    );
    gateway.shutdown(Duration::from_secs(5)).await;
}
