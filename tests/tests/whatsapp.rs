//! The WhatsApp channel end to end: the real gateway and redis-server, notifications shaped
//! like Meta's documented examples and signed with `X-Hub-Signature-256`, media from a fake
//! Graph API. 200 comes only once every message is durable; a replay lands once; every refusal
//! appends nothing; Redis down answers 503 at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod push_rig;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{CASES, HttpResponse, http_get, http_post};
use push_rig::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_handshake_answers_the_challenge_only_with_our_token() {
    let redis = require_server!(RedisServer::start().await);
    let rig = rig(&redis).await;
    let addr = rig.gateway.http_addr();
    let ok = format!(
        "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"
    );
    assert_eq!(
        http_get(addr, &ok).await.unwrap(),
        (200, "1158201444".to_string())
    );
    let wrong =
        "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess";
    assert_eq!(http_get(addr, wrong).await.unwrap().0, 403);
    assert_eq!(redis.stream_len(CASES).await.unwrap(), 0);
    rig.gateway.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_text_is_a_case_once_and_its_replay_is_acknowledged_again() {
    let redis = require_server!(RedisServer::start().await);
    let rig = rig(&redis).await;
    let id = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=";
    let body = notification(&[change(serde_json::json!([text_message(
        id,
        "Does it come in another color?"
    )]))]);
    let response = post_whatsapp(&rig, &body, None, "application/json").await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(
        redis.stream_len(CASES).await.unwrap(),
        1,
        "200 only once durable"
    );
    let replay = post_whatsapp(&rig, &body, None, "application/json").await;
    assert_eq!(replay.status, 200, "Meta's retry is acknowledged again");
    common::assert_exactly_once(&redis, 1).await;
    let case = &cases(&redis).await[0];
    assert_eq!(
        case["channel"],
        serde_json::json!({"kind": "whatsapp", "name": "whatsapp"})
    );
    assert_eq!(
        case["idempotency_key"],
        format!("whatsapp:106540352242922:{id}")
    );
    assert_eq!(
        case["sender"],
        serde_json::json!({"name": "Sheena Nelson", "address": "+16505551234", "kind": "phone"})
    );
    assert_eq!(case["recipients"]["to"][0]["address"], "+15550783881");
    assert_eq!(case["body"]["text"], "Does it come in another color?");
    assert_eq!(case["source"]["message_id"], id);
    assert_eq!(case["sent_at"], "2025-06-08T20:59:43Z");
    assert_eq!(case["conversation"]["hints"][0]["signal"], "chat");
    rig.gateway.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_of_every_entry_is_its_own_case_with_its_media() {
    let redis = require_server!(RedisServer::start().await);
    let rig = rig(&redis).await;
    let first = change(serde_json::json!([
        { "from": "16505551234", "id": "wamid.image", "timestamp": "1749416383", "type": "image",
          "image": { "caption": "The broken part", "mime_type": "image/jpeg",
                     "sha256": "NOvNuiizvjpN0Hn0X6h5HZSsSM6hAcj4iuwSzJU0TKA=", "id": "1003383421387256" } },
        { "from": "16505551234", "id": "wamid.document", "timestamp": "1749416384", "type": "document",
          "document": { "caption": "Invoice", "filename": "invoice.pdf", "mime_type": "application/pdf",
                        "sha256": "8x1Yk9n3cEqZQ8Zb6lrhaDpBGvmTrQm5m2M5g3pPkAs=", "id": "1041442887805012" } },
        { "from": "16505551234", "id": "wamid.audio", "timestamp": "1749416385", "type": "audio",
          "audio": { "mime_type": "audio/ogg; codecs=opus", "sha256": "t8tnsE+sxvxnAdpPn+Y0PpaPwyAYVZzkQFf+mK8Hf8U=",
                     "id": "1277474340355512", "voice": true } }
    ]));
    let second = change(serde_json::json!([
        { "from": "16505551234", "id": "wamid.location", "timestamp": "1749416386", "type": "location",
          "location": { "address": "1 Hacker Way, Menlo Park, CA 94025", "latitude": 37.483307,
                        "longitude": -122.148981, "name": "Main Street Beach" } },
        { "from": "16505551234", "id": "wamid.contacts", "timestamp": "1749416387", "type": "contacts",
          "contacts": [{ "name": { "first_name": "Barbara", "formatted_name": "Barbara J. Johnson" },
                         "phones": [{ "phone": "+1 (415) 555-0000", "wa_id": "14155550000", "type": "MOBILE" }],
                         "emails": [{ "email": "bjohnson@example.com", "type": "WORK" }] }] },
        { "from": "16505551234", "id": "wamid.reaction", "timestamp": "1749416388", "type": "reaction",
          "reaction": { "message_id": "wamid.image", "emoji": "\u{1F600}" } },
        { "from": "16505551234", "id": "wamid.video", "timestamp": "1749416389", "type": "video",
          "video": { "mime_type": "video/mp4", "sha256": "NOvNuiizvjpN0Hn0X6h5HZSsSM6hAcj4iuwSzJU0TKA=", "id": "404404" } }
    ]));
    let statuses = serde_json::json!({
        "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
            "statuses": [{ "id": "wamid.ours", "status": "delivered", "timestamp": "1749416390",
                           "recipient_id": "16505551234" }]
        },
        "field": "messages"
    });
    let body = notification(&[first, second, statuses]);
    let response = post_whatsapp(&rig, &body, None, "application/json").await;
    assert_eq!(response.status, 200, "{response:?}");
    // Reactions and statuses are not cases.
    common::assert_exactly_once(&redis, 6).await;
    let cases = cases(&redis).await;
    let by_id = |id: &str| {
        cases
            .iter()
            .find(|c| c["source"]["message_id"] == id)
            .unwrap_or_else(|| panic!("no case {id}"))
    };
    let image = by_id("wamid.image");
    assert_eq!(image["body"]["text"], "The broken part");
    let attachment = &image["attachments"][0];
    let bytes = media_bytes("1003383421387256");
    assert_eq!(
        attachment["ref"],
        format!("sha256:{}", intake_normalizer::sha256_hex(&bytes))
    );
    assert_eq!(attachment["content_type"], "image/jpeg");
    let store = intake_gateway::blobs::BlobStore::new(rig.blobs.path());
    assert_eq!(
        store.get(&intake_normalizer::sha256_hex(&bytes)).unwrap(),
        Some(bytes)
    );
    assert_eq!(
        by_id("wamid.document")["attachments"][0]["filename"],
        "invoice.pdf"
    );
    assert_eq!(
        by_id("wamid.audio")["attachments"][0]["content_type"],
        "audio/ogg"
    );
    let location = by_id("wamid.location")["body"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        location.contains("37.483307") && location.contains("Main Street Beach"),
        "{location}"
    );
    let contact = by_id("wamid.contacts")["body"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        contact.contains("Barbara J. Johnson") && contact.contains("+1 (415) 555-0000"),
        "{contact}"
    );
    // The video's media is gone at the provider: the case keeps its metadata and says why.
    let video = &by_id("wamid.video")["attachments"][0];
    assert_eq!(video["ref"], serde_json::Value::Null);
    assert!(
        video["omitted_reason"].as_str().unwrap().contains("404"),
        "{video}"
    );
    assert_eq!(video["sha256"], "");
    assert_eq!(rig.fake.downloads.load(Ordering::SeqCst), 3);
    rig.gateway.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_refusals_append_nothing() {
    let redis = require_server!(RedisServer::start().await);
    let rig = rig(&redis).await;
    let body = notification(&[change(serde_json::json!([text_message(
        "wamid.x", "hello"
    )]))]);
    let forged = intake_channels::whatsapp::verify::sign(b"another secret", &body);
    let status = |r: HttpResponse| r.status;
    assert_eq!(
        status(post_whatsapp(&rig, &body, Some(&forged), "application/json").await),
        401
    );
    assert_eq!(
        status(post_whatsapp(&rig, &body, Some("sha256="), "application/json").await),
        401
    );
    let unsigned = http_post(
        rig.gateway.http_addr(),
        "/webhooks/whatsapp",
        &[("Content-Type", "application/json")],
        &body,
    )
    .await
    .unwrap();
    assert_eq!(unsigned.status, 401);
    assert_eq!(
        status(post_whatsapp(&rig, &body, None, "text/plain").await),
        415
    );
    let malformed = post_whatsapp(
        &rig,
        b"{\"object\": \"whatsapp_business_account\", \"entry\": [",
        None,
        "application/json",
    )
    .await;
    assert_eq!(malformed.status, 400);
    assert!(malformed.body.contains("JSON"), "{malformed:?}");
    let not_whatsapp =
        post_whatsapp(&rig, b"{\"object\": \"page\"}", None, "application/json").await;
    assert_eq!(not_whatsapp.status, 400);
    assert_eq!(redis.stream_len(CASES).await.unwrap(), 0);
    rig.gateway.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_503_fast_and_the_retry_lands_once() {
    let redis = require_server!(RedisServer::start().await);
    let rig = rig(&redis).await;
    redis.kill();
    // The gateway notices within its 2 s watch interval.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let body = notification(&[change(serde_json::json!([text_message(
        "wamid.down",
        "are you there?"
    )]))]);
    let asked = Instant::now();
    let refused = post_whatsapp(&rig, &body, None, "application/json").await;
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(refused.header("retry-after").is_some());
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    let sms = sms_form(&[("MessageSid", "SMdown"), ("Body", "hello?")]);
    let refused = post_sms(&rig, &sms, None).await;
    assert_eq!(refused.status, 503, "{refused:?}");
    redis.restart().await.unwrap();
    for (name, retry) in [("whatsapp", &body), ("sms", &sms)] {
        let mut acknowledged = false;
        for _ in 0..60 {
            let response = match name {
                "whatsapp" => post_whatsapp(&rig, retry, None, "application/json").await,
                _ => post_sms(&rig, retry, None).await,
            };
            if response.status == 200 {
                acknowledged = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(acknowledged, "{name} acknowledged once Redis is back");
    }
    common::assert_exactly_once(&redis, 2).await;
    rig.gateway.shutdown(Duration::from_secs(2)).await;
}

/// Meta resends while the first delivery is still in flight (Zammad's duplicate, their
/// #5164): concurrent copies are all acknowledged and land once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_copies_of_one_notification_land_once() {
    let redis = require_server!(RedisServer::start().await);
    let rig = std::sync::Arc::new(rig(&redis).await);
    let body = notification(&[change(serde_json::json!([
        text_message("wamid.twice.1", "first"),
        text_message("wamid.twice.2", "second")
    ]))]);
    let copies = (0..6).map(|_| {
        let (rig, body) = (rig.clone(), body.clone());
        tokio::spawn(async move { post_whatsapp(&rig, &body, None, "application/json").await })
    });
    for copy in futures::future::join_all(copies).await {
        let response = copy.unwrap();
        assert_eq!(response.status, 200, "{response:?}");
    }
    common::assert_exactly_once(&redis, 2).await;
}
