//! The `slack` channel end to end, with payloads shaped like the Events API documentation's
//! examples, signed with Slack's v0 scheme, through the real HTTP server and a real
//! redis-server, and a fake Slack file host on loopback for shared files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::Router;
use axum::http::Uri;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use intake_tests::push::{borrowed, now, push_config, slack_channel, slack_headers, start};
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{CASES, http_post, schema};

const ROUTE: &str = "/webhooks/slack";
const BOT_TOKEN: &str = "xoxb-test-token";
const REPORT: &[u8] = b"%PDF-1.4 not really a pdf\n";

/// A direct message event as in the `message.im` documentation.
fn dm_event(text: &str, ts: &str) -> serde_json::Value {
    serde_json::json!({
        "token": "z26uFbvR1xHJEdHE1OQiO6t8",
        "team_id": "T061EG9RZ",
        "api_app_id": "A0FFV41KK",
        "event": {
            "type": "message",
            "channel": "D024BE91L",
            "user": "U2147483697",
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im"
        },
        "type": "event_callback",
        "authed_users": ["U061F7AUR"],
        "authorizations": [{"enterprise_id": null, "team_id": "T061EG9RZ", "user_id": "U061F7AUR", "is_bot": true, "is_enterprise_install": false}],
        "event_id": "Ev9UQ52YNA",
        "event_time": 1355517523
    })
}

/// The fake file host: files need the bot token, `files.info` answers for F2.
async fn fake_slack() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let authorized = |headers: &HeaderMap| {
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer xoxb-test-token")
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route(
            "/files-pri/T061EG9RZ-F1/report.pdf",
            get(move |headers: HeaderMap| async move {
                if authorized(&headers) {
                    REPORT.into_response()
                } else {
                    StatusCode::FORBIDDEN.into_response()
                }
            }),
        )
        .route(
            "/files.info",
            get(move |headers: HeaderMap, uri: Uri| async move {
                let ok = authorized(&headers) && uri.query() == Some("file=F2");
                let url = format!("http://{addr}/files-pri/T061EG9RZ-F1/report.pdf");
                axum::Json(serde_json::json!({"ok": ok, "file": {"id": "F2", "url_private": url}}))
            }),
        );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

async fn post(
    addr: std::net::SocketAddr,
    body: &serde_json::Value,
    extra: &[(&str, &str)],
) -> intake_tests::setup::HttpResponse {
    let bytes = body.to_string().into_bytes();
    let headers = slack_headers(now(), &bytes);
    let mut headers = borrowed(&headers);
    headers.extend_from_slice(extra);
    http_post(addr, ROUTE, &headers, &bytes).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_lands_once_across_retries_and_noise_is_acknowledged() {
    let redis = require_server!(RedisServer::start().await);
    let blobs = tempfile::tempdir().unwrap();
    let channel = slack_channel("slack", &["C0SUPPORT"], "http://127.0.0.1:9", None);
    let (gateway, addr) = start(push_config(&redis, blobs.path(), vec![channel]))
        .await
        .unwrap();

    let challenge = serde_json::json!({
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification"
    });
    let answer = post(addr, &challenge, &[]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );

    let dm = dm_event(
        "Hello hello can you hear me? My invoice is wrong.",
        "1355517523.000005",
    );
    assert_eq!(post(addr, &dm, &[]).await.status, 200);
    assert_eq!(
        redis.stream_len(CASES).await.unwrap(),
        1,
        "durable before 200"
    );
    for retry in ["1", "2"] {
        let extra = [
            ("x-slack-retry-num", retry),
            ("x-slack-retry-reason", "http_timeout"),
        ];
        assert_eq!(post(addr, &dm, &extra).await.status, 200);
    }
    assert_eq!(
        redis.stream_len(CASES).await.unwrap(),
        1,
        "retries land once"
    );

    let mut noise = Vec::new();
    let mut bot = dm_event("I am a bot", "1355517524.000001");
    bot["event"]["bot_id"] = "B123".into();
    bot["event"]["subtype"] = "bot_message".into();
    noise.push(bot);
    let mut own = dm_event("our own reply", "1355517524.000002");
    own["event"]["user"] = "U061F7AUR".into();
    noise.push(own);
    let mut edit = dm_event("edited", "1355517524.000003");
    edit["event"]["subtype"] = "message_changed".into();
    noise.push(edit);
    let mut elsewhere = dm_event("in a channel nobody watches", "1355517524.000004");
    elsewhere["event"]["channel"] = "C0RANDOM".into();
    elsewhere["event"]["channel_type"] = "channel".into();
    noise.push(elsewhere);
    for event in &noise {
        let answer = post(addr, event, &[]).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.body, "ignored\n");
    }
    let mut watched = dm_event("Question in #support", "1355517525.000001");
    watched["event"]["channel"] = "C0SUPPORT".into();
    watched["event"]["channel_type"] = "channel".into();
    assert_eq!(post(addr, &watched, &[]).await.status, 200);
    assert_eq!(
        redis.stream_len(CASES).await.unwrap(),
        2,
        "noise appended nothing"
    );

    let entries = redis.read_stream(CASES).await.unwrap();
    assert_eq!(
        entries[0].1["idempotency_key"],
        "slack:T061EG9RZ:D024BE91L:1355517523.000005"
    );
    let validator = schema("case.schema.json").unwrap();
    for (_, fields) in &entries {
        let case: serde_json::Value = serde_json::from_str(&fields["case"]).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&case)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}\n{case:#}");
    }
    let case: serde_json::Value = serde_json::from_str(&entries[0].1["case"]).unwrap();
    assert_eq!(case["channel"]["kind"], "slack");
    assert_eq!(case["sender"]["kind"], "slack");
    assert_eq!(case["sender"]["address"], "U2147483697");
    assert_eq!(case["sent_at"], "2012-12-14T20:38:43Z");
    assert_eq!(
        case["conversation"]["hints"][0]["value"],
        "slack:T061EG9RZ:D024BE91L"
    );

    // Forged and replayed requests.
    let bytes = dm.to_string().into_bytes();
    let mut forged = slack_headers(now(), &bytes);
    forged[2].1 = format!("v0={}", "0".repeat(64));
    assert_eq!(
        http_post(addr, ROUTE, &borrowed(&forged), &bytes)
            .await
            .unwrap()
            .status,
        401
    );
    let stale = slack_headers(now() - 6 * 60, &bytes);
    assert_eq!(
        http_post(addr, ROUTE, &borrowed(&stale), &bytes)
            .await
            .unwrap()
            .status,
        401
    );
    let broken = b"{\"type\": \"event_callback\", ".to_vec();
    let answer = http_post(
        addr,
        ROUTE,
        &borrowed(&slack_headers(now(), &broken)),
        &broken,
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(redis.stream_len(CASES).await.unwrap(), 2);
    gateway.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_files_are_downloaded_with_the_bot_token_into_the_blob_store() {
    let redis = require_server!(RedisServer::start().await);
    let blobs = tempfile::tempdir().unwrap();
    let (files, _task) = fake_slack().await;
    let api_url = format!("http://{files}");
    let channel = slack_channel("slack", &[], &api_url, Some(BOT_TOKEN));
    let (gateway, addr) = start(push_config(&redis, blobs.path(), vec![channel]))
        .await
        .unwrap();

    let mut event = dm_event("Here is the report", "1355517600.000100");
    event["event"]["subtype"] = "file_share".into();
    event["event"]["files"] = serde_json::json!([
        {"id": "F1", "name": "report.pdf", "mimetype": "application/pdf", "size": REPORT.len(),
         "url_private": format!("{api_url}/files-pri/T061EG9RZ-F1/report.pdf")},
        {"id": "F2", "name": "shared.pdf", "mimetype": "application/pdf", "file_access": "check_file_info"},
        {"id": "F3", "name": "gone.png", "mimetype": "image/png", "size": 10,
         "url_private": format!("{api_url}/files-pri/T061EG9RZ-F3/gone.png")},
        {"id": "F4", "name": "elsewhere.png", "mimetype": "image/png", "size": 10,
         "url_private": "http://127.0.0.2:1/steal"}
    ]);
    assert_eq!(post(addr, &event, &[]).await.status, 200);
    let entries = redis.read_stream(CASES).await.unwrap();
    assert_eq!(entries.len(), 1);
    let case: serde_json::Value = serde_json::from_str(&entries[0].1["case"]).unwrap();
    let validator = schema("case.schema.json").unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&case)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{case:#}");
    let attachments = case["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 4);
    let store = intake_gateway::blobs::BlobStore::new(blobs.path());
    for fetched in &attachments[..2] {
        assert!(fetched["omitted_reason"].is_null(), "{fetched}");
        let stored = store.get(fetched["sha256"].as_str().unwrap()).unwrap();
        assert_eq!(stored.as_deref(), Some(REPORT));
    }
    assert!(
        attachments[2]["omitted_reason"]
            .as_str()
            .unwrap()
            .contains("HTTP 404"),
        "{}",
        attachments[2]
    );
    assert!(
        attachments[3]["omitted_reason"]
            .as_str()
            .unwrap()
            .contains("not a Slack host"),
        "{}",
        attachments[3]
    );
    assert!(attachments[3]["ref"].is_null());
    gateway.shutdown(Duration::from_secs(5)).await;
}
