//! The WhatsApp and SMS (Twilio) channels end to end: the real gateway with a real
//! redis-server, payloads shaped like the providers' documented examples and signed with their
//! algorithms, fake Graph API / Twilio media servers on loopback. 200 comes only once the case
//! is durable; a replay lands once; every refusal appends nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use intake_config::{ChannelConfig, Secret, SmsConfig, WhatsappConfig};
use intake_gateway::Gateway;
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{CASES, HttpResponse, config, http_get, http_post};

const APP_SECRET: &str = "wa-app-secret";
const VERIFY_TOKEN: &str = "wa-verify-token";
const ACCESS_TOKEN: &str = "wa-access-token";
const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "twilio-auth-token";
const PUBLIC_URL: &str = "https://intake.example.com/webhooks/sms";

/// The fake provider for media: Graph API `GET /v21.0/<id>` → `{url}`, `GET /media/<id>` → the
/// bytes (both with the bearer token), and Twilio media `GET /twilio/<id>` (basic auth).
#[derive(Clone)]
struct Fake {
    base: Arc<std::sync::OnceLock<String>>,
    downloads: Arc<AtomicUsize>,
}

fn media_bytes(id: &str) -> Vec<u8> {
    format!("the bytes of media {id}").into_bytes()
}

async fn graph_media(
    State(fake): State<Fake>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {ACCESS_TOKEN}"))
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if id == "404404" {
        return StatusCode::NOT_FOUND.into_response();
    }
    let base = fake.base.get().cloned().unwrap_or_default();
    axum::Json(serde_json::json!({
        "messaging_product": "whatsapp",
        "url": format!("{base}/media/{id}"),
        "mime_type": "image/jpeg",
        "sha256": "unused",
        "file_size": 20,
        "id": id,
    }))
    .into_response()
}

async fn graph_download(
    State(fake): State<Fake>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {ACCESS_TOKEN}"))
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    fake.downloads.fetch_add(1, Ordering::SeqCst);
    media_bytes(&id).into_response()
}

async fn twilio_media(
    State(fake): State<Fake>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    use base64::Engine;
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Basic {expected}"))
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    fake.downloads.fetch_add(1, Ordering::SeqCst);
    media_bytes(&id).into_response()
}

async fn start_fake() -> (String, Fake) {
    let fake = Fake {
        base: Arc::default(),
        downloads: Arc::default(),
    };
    let app = Router::new()
        .route("/v21.0/{id}", get(graph_media))
        .route("/media/{id}", get(graph_download))
        .route("/twilio/{id}", get(twilio_media))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    fake.base.set(base.clone()).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, fake)
}

struct Rig {
    gateway: Gateway,
    fake_base: String,
    fake: Fake,
    blobs: tempfile::TempDir,
}

async fn rig(redis: &RedisServer) -> Rig {
    let (fake_base, fake) = start_fake().await;
    let blobs = tempfile::tempdir().unwrap();
    let mut config = config(redis, blobs.path(), Vec::new());
    config.channels = vec![
        ChannelConfig::Whatsapp(WhatsappConfig {
            name: "whatsapp".into(),
            app_secret: Secret::new(APP_SECRET),
            verify_token: Secret::new(VERIFY_TOKEN),
            access_token: Secret::new(ACCESS_TOKEN),
            api_url: format!("{fake_base}/v21.0"),
            max_media_bytes: 1024 * 1024,
        }),
        ChannelConfig::Sms(SmsConfig {
            name: "sms".into(),
            public_url: PUBLIC_URL.into(),
            account_sid: ACCOUNT_SID.into(),
            auth_token: Secret::new(AUTH_TOKEN),
            max_media_bytes: 1024 * 1024,
        }),
    ];
    let gateway = Gateway::start(config).await.unwrap();
    let ingest = gateway.health().ingest();
    intake_tests::wait::wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
        let ingest = ingest.clone();
        async move { ingest.is_up() }
    })
    .await
    .expect("ingest comes up");
    Rig {
        gateway,
        fake_base,
        fake,
        blobs,
    }
}

// ---- WhatsApp ----

/// A notification as Meta documents it, with `messages` (and optional `statuses`) per change.
fn notification(changes: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": changes }]
    }))
    .unwrap()
}

fn change(messages: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
            "contacts": [{ "profile": { "name": "Sheena Nelson" }, "wa_id": "16505551234" }],
            "messages": messages
        },
        "field": "messages"
    })
}

fn text_message(id: &str, body: &str) -> serde_json::Value {
    serde_json::json!({
        "from": "16505551234",
        "id": id,
        "timestamp": "1749416383",
        "type": "text",
        "text": { "body": body }
    })
}

async fn post_whatsapp(
    rig: &Rig,
    body: &[u8],
    signature: Option<&str>,
    content_type: &str,
) -> HttpResponse {
    let signed = intake_channels::whatsapp::verify::sign(APP_SECRET.as_bytes(), body);
    let mut headers = vec![("Content-Type", content_type)];
    headers.push(("X-Hub-Signature-256", signature.unwrap_or(&signed)));
    http_post(
        rig.gateway.http_addr(),
        "/webhooks/whatsapp",
        &headers,
        body,
    )
    .await
    .unwrap()
}

async fn cases(redis: &RedisServer) -> Vec<serde_json::Value> {
    redis
        .read_stream(CASES)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, fields)| serde_json::from_str(&fields["case"]).unwrap())
        .collect()
}

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
    assert_eq!(
        video["sha256"],
        "34ebcdba28b3be3a4dd079f45fa8791d94ac48cea101c8f88aec12cc95344ca0"
    );
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

// ---- SMS (Twilio) ----

/// Twilio's inbound message parameters as documented, with `extra` added or replacing.
fn sms_params(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = [
        ("ToCountry", "US"),
        ("ToState", "CA"),
        ("SmsMessageSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f"),
        ("NumMedia", "0"),
        ("ToCity", "SAN FRANCISCO"),
        ("FromZip", "94105"),
        ("SmsSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f"),
        ("FromState", "CA"),
        ("SmsStatus", "received"),
        ("FromCity", "SAN FRANCISCO"),
        ("Body", "Hello, my order has not arrived"),
        ("FromCountry", "US"),
        ("To", "+15017122661"),
        ("ToZip", "94105"),
        ("NumSegments", "1"),
        ("MessageSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f"),
        ("AccountSid", ACCOUNT_SID),
        ("From", "+15558675310"),
        ("ApiVersion", "2010-04-01"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (name, value) in extra {
        params.retain(|(k, _)| k != name);
        params.push((name.to_string(), value.to_string()));
    }
    params
}

fn encode(params: &[(String, String)]) -> Vec<u8> {
    let mut form = String::new();
    for (k, v) in params {
        if !form.is_empty() {
            form.push('&');
        }
        form.push_str(&format!("{}={}", encode_part(k), encode_part(v)));
    }
    form.into_bytes()
}

fn encode_part(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn sms_form(extra: &[(&str, &str)]) -> Vec<u8> {
    encode(&sms_params(extra))
}

/// Posts `form`, signed as Twilio would for the configured public URL (unless `signature`).
async fn post_sms(rig: &Rig, form: &[u8], signature: Option<&str>) -> HttpResponse {
    let params: Vec<(String, String)> = form_urlencoded_pairs(form);
    let signed = intake_channels::sms::verify::sign(AUTH_TOKEN.as_bytes(), PUBLIC_URL, &params);
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("X-Twilio-Signature", signature.unwrap_or(&signed)),
    ];
    http_post(rig.gateway.http_addr(), "/webhooks/sms", &headers, form)
        .await
        .unwrap()
}

fn form_urlencoded_pairs(form: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(form)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode_part(k), decode_part(v)))
        .collect()
}

fn decode_part(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

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
