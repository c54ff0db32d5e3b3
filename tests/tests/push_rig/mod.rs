//! What the WhatsApp and SMS end-to-end tests share: the gateway with both channels on a real
//! redis-server, a fake media provider (Graph API and Twilio media on loopback), and payloads
//! shaped like the providers' documentation, signed with their algorithms.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use intake_config::{ChannelConfig, Secret, SmsConfig, WhatsappConfig};
use intake_gateway::Gateway;
use intake_tests::redis::RedisServer;
use intake_tests::setup::{CASES, HttpResponse, config, http_post};

pub const APP_SECRET: &str = "wa-app-secret";
pub const VERIFY_TOKEN: &str = "wa-verify-token";
pub const ACCESS_TOKEN: &str = "wa-access-token";
pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "twilio-auth-token";
pub const PUBLIC_URL: &str = "https://intake.example.com/webhooks/sms";

/// The fake provider for media: Graph API `GET /v21.0/<id>` → `{url}`, `GET /media/<id>` → the
/// bytes (both with the bearer token), and Twilio media `GET /twilio/<id>` (basic auth).
#[derive(Clone)]
pub struct Fake {
    pub base: Arc<std::sync::OnceLock<String>>,
    pub downloads: Arc<AtomicUsize>,
}

pub fn media_bytes(id: &str) -> Vec<u8> {
    format!("the bytes of media {id}").into_bytes()
}

pub async fn graph_media(
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

pub async fn graph_download(
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

pub async fn twilio_media(
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

pub async fn start_fake() -> (String, Fake) {
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

pub struct Rig {
    pub gateway: Gateway,
    pub fake_base: String,
    pub fake: Fake,
    pub blobs: tempfile::TempDir,
}

pub async fn rig(redis: &RedisServer) -> Rig {
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

// WhatsApp payloads.

/// A notification as Meta documents it, with `messages` (and optional `statuses`) per change.
pub fn notification(changes: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": changes }]
    }))
    .unwrap()
}

pub fn change(messages: serde_json::Value) -> serde_json::Value {
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

pub fn text_message(id: &str, body: &str) -> serde_json::Value {
    serde_json::json!({
        "from": "16505551234",
        "id": id,
        "timestamp": "1749416383",
        "type": "text",
        "text": { "body": body }
    })
}

pub async fn post_whatsapp(
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

pub async fn cases(redis: &RedisServer) -> Vec<serde_json::Value> {
    redis
        .read_stream(CASES)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, fields)| serde_json::from_str(&fields["case"]).unwrap())
        .collect()
}

// Twilio payloads.

/// Twilio's inbound message parameters as documented, with `extra` added or replacing.
pub fn sms_params(extra: &[(&str, &str)]) -> Vec<(String, String)> {
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

pub fn encode(params: &[(String, String)]) -> Vec<u8> {
    let mut form = String::new();
    for (k, v) in params {
        if !form.is_empty() {
            form.push('&');
        }
        form.push_str(&format!("{}={}", encode_part(k), encode_part(v)));
    }
    form.into_bytes()
}

pub fn encode_part(text: &str) -> String {
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

pub fn sms_form(extra: &[(&str, &str)]) -> Vec<u8> {
    encode(&sms_params(extra))
}

/// Posts `form`, signed as Twilio would for the configured public URL (unless `signature`).
pub async fn post_sms(rig: &Rig, form: &[u8], signature: Option<&str>) -> HttpResponse {
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

pub fn form_urlencoded_pairs(form: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(form)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode_part(k), decode_part(v)))
        .collect()
}

pub fn decode_part(text: &str) -> String {
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
