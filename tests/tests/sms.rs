//! The SMS (Twilio) channel end to end: the real gateway and redis-server, inbound message
//! forms as Twilio documents them, signed with `X-Twilio-Signature` over the public URL, MMS
//! media from a fake server that wants the account's credentials.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod push_rig;

use std::sync::atomic::Ordering;
use std::time::Duration;

use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{CASES, http_post};
use push_rig::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_is_a_case_once_answered_with_empty_twiml() {
    let redis = require_server!(RedisServer::start().await);
    let rig = rig(&redis).await;
    let form = sms_form(&[]);
    let response = post_sms(&rig, &form, None).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("content-type"), Some("text/xml"));
    assert!(response.body.ends_with("<Response/>"), "{response:?}");
    assert_eq!(
        redis.stream_len(CASES).await.unwrap(),
        1,
        "200 only once durable"
    );
    assert_eq!(
        post_sms(&rig, &form, None).await.status,
        200,
        "Twilio's retry"
    );
    common::assert_exactly_once(&redis, 1).await;
    let case = &cases(&redis).await[0];
    assert_eq!(case["channel"]["kind"], "sms");
    assert_eq!(
        case["idempotency_key"],
        format!("sms:{ACCOUNT_SID}:SM1f0e8ae6ade43cb3c0ce4525424e404f")
    );
    assert_eq!(
        case["sender"],
        serde_json::json!({"name": null, "address": "+15558675310", "kind": "phone"})
    );
    assert_eq!(case["recipients"]["to"][0]["address"], "+15017122661");
    assert_eq!(case["body"]["text"], "Hello, my order has not arrived");
    rig.gateway.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mms_brings_its_media_fetched_with_the_account_credentials() {
    let redis = require_server!(RedisServer::start().await);
    let rig = rig(&redis).await;
    let url0 = format!("{}/twilio/ME0", rig.fake_base);
    let url1 = format!("{}/twilio/ME1", rig.fake_base);
    let form = sms_form(&[
        ("MessageSid", "MM0123"),
        ("NumMedia", "2"),
        ("Body", ""),
        ("MediaUrl0", &url0),
        ("MediaContentType0", "image/jpeg"),
        ("MediaUrl1", &url1),
        ("MediaContentType1", "image/png"),
    ]);
    let response = post_sms(&rig, &form, None).await;
    assert_eq!(response.status, 200, "{response:?}");
    common::assert_exactly_once(&redis, 1).await;
    let case = &cases(&redis).await[0];
    let attachments = case["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2);
    for (attachment, (id, kind)) in attachments
        .iter()
        .zip([("ME0", "image/jpeg"), ("ME1", "image/png")])
    {
        let sha = intake_normalizer::sha256_hex(&media_bytes(id));
        assert_eq!(attachment["ref"], format!("sha256:{sha}"));
        assert_eq!(attachment["content_type"], kind);
    }
    assert_eq!(rig.fake.downloads.load(Ordering::SeqCst), 2);
    rig.gateway.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_refusals_append_nothing_and_status_callbacks_are_not_cases() {
    let redis = require_server!(RedisServer::start().await);
    let rig = rig(&redis).await;
    let form = sms_form(&[]);
    let forged = intake_channels::sms::verify::sign(
        b"other token",
        PUBLIC_URL,
        &form_urlencoded_pairs(&form),
    );
    assert_eq!(post_sms(&rig, &form, Some(&forged)).await.status, 401);
    // Signed for the URL Intake sees behind the proxy, not the public one Twilio calls.
    let local = intake_channels::sms::verify::sign(
        AUTH_TOKEN.as_bytes(),
        "http://127.0.0.1/webhooks/sms",
        &form_urlencoded_pairs(&form),
    );
    assert_eq!(post_sms(&rig, &form, Some(&local)).await.status, 401);
    let json = http_post(
        rig.gateway.http_addr(),
        "/webhooks/sms",
        &[
            ("Content-Type", "application/json"),
            ("X-Twilio-Signature", "x"),
        ],
        b"{}",
    )
    .await
    .unwrap();
    assert_eq!(json.status, 415);
    let no_sid: Vec<(String, String)> = sms_params(&[])
        .into_iter()
        .filter(|(k, _)| !k.ends_with("MessageSid"))
        .collect();
    let missing = post_sms(&rig, &encode(&no_sid), None).await;
    assert_eq!(missing.status, 400, "{missing:?}");
    assert!(missing.body.contains("MessageSid"), "{missing:?}");
    let status_callback = encode(&[
        ("MessageSid".to_string(), "SMours".to_string()),
        ("MessageStatus".to_string(), "delivered".to_string()),
        ("AccountSid".to_string(), ACCOUNT_SID.to_string()),
        ("From".to_string(), "+15017122661".to_string()),
        ("To".to_string(), "+15558675310".to_string()),
    ]);
    assert_eq!(post_sms(&rig, &status_callback, None).await.status, 200);
    assert_eq!(redis.stream_len(CASES).await.unwrap(), 0);
    rig.gateway.shutdown(Duration::from_secs(2)).await;
}

/// Twilio retrying while the first request is still being answered: every copy is
/// acknowledged, one case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_copies_of_one_message_land_once() {
    let redis = require_server!(RedisServer::start().await);
    let rig = std::sync::Arc::new(rig(&redis).await);
    let form = sms_form(&[("MessageSid", "SMconcurrent")]);
    let copies = (0..6).map(|_| {
        let (rig, form) = (rig.clone(), form.clone());
        tokio::spawn(async move { post_sms(&rig, &form, None).await })
    });
    for copy in futures::future::join_all(copies).await {
        let response = copy.unwrap();
        assert_eq!(response.status, 200, "{response:?}");
    }
    common::assert_exactly_once(&redis, 1).await;
}
