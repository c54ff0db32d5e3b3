//! The `api` channel end to end, through the real HTTP server and a real redis-server: a signed
//! (or bearer) delivery answers 200 only once its case is in the stream, a replay lands once,
//! every refusal (bad signature, stale timestamp, wrong content type, malformed JSON, oversized
//! body, a slow client) has its status and appends nothing, and Redis stopped answers 503 at
//! once and loses nothing once it is back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use intake_tests::push::{API_TOKEN, api_channel, api_headers, borrowed, now, push_config, start};
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{CASES, http_get, http_post, schema};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ROUTE: &str = "/webhooks/website";

fn form(text: &str) -> Vec<u8> {
    serde_json::json!({
        "sender": {"name": "Ada Lovelace", "address": "ada@example.com"},
        "subject": "Order 1234 never arrived",
        "text": text,
        "conversation_id": "widget-session-77",
        "attachments": [{
            "filename": "receipt.txt",
            "content_type": "text/plain",
            "content_base64": "cmVjZWlwdCAxMjM0Cg=="
        }]
    })
    .to_string()
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_delivery_is_a_case_once_and_its_replay_is_acknowledged_again() {
    let redis = require_server!(RedisServer::start().await);
    let blobs = tempfile::tempdir().unwrap();
    let config = push_config(&redis, blobs.path(), vec![api_channel("website")]);
    let (gateway, addr) = start(config).await.unwrap();
    // Ready before its first message: a push channel waits for traffic, which a readiness
    // probe holding it back would never let come.
    let ready = intake_tests::wait::wait_for(
        Duration::from_secs(5),
        Duration::from_millis(20),
        || async {
            let (status, body) = http_get(addr, "/readyz").await.ok()?;
            (status == 200).then_some(body)
        },
    )
    .await;
    assert!(
        ready.is_ok(),
        "/readyz: {:?}",
        http_get(addr, "/readyz").await
    );

    let body = form("Hello, my order 1234 has not arrived yet. Could you check where it is?");
    let headers = api_headers("msg_2Lh0", now(), &body);
    let answer = http_post(addr, ROUTE, &borrowed(&headers), &body)
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        redis.stream_len(CASES).await.unwrap(),
        1,
        "durable before 200"
    );
    // Standard Webhooks senders retry with the same id (and a fresh signature).
    let replay = api_headers("msg_2Lh0", now(), &body);
    let again = http_post(addr, ROUTE, &borrowed(&replay), &body)
        .await
        .unwrap();
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(
        redis.stream_len(CASES).await.unwrap(),
        1,
        "the replay lands once"
    );

    let entries = redis.read_stream(CASES).await.unwrap();
    let fields = &entries[0].1;
    assert_eq!(fields["idempotency_key"], "api:website:msg_2Lh0");
    let case: serde_json::Value = serde_json::from_str(&fields["case"]).unwrap();
    let validator = schema("case.schema.json").unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&case)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{case:#}");
    assert_eq!(case["channel"]["kind"], "api");
    assert_eq!(case["sender"]["address"], "ada@example.com");
    assert_eq!(case["sender"]["kind"], "email");
    assert_eq!(case["subject"], "Order 1234 never arrived");
    assert_eq!(case["source"]["message_id"], "msg_2Lh0");
    assert_eq!(case["language"], "en");
    let attachment = &case["attachments"][0];
    assert_eq!(attachment["filename"], "receipt.txt");
    assert_eq!(attachment["size"], 13);
    let stored = intake_gateway::blobs::BlobStore::new(blobs.path())
        .get(attachment["sha256"].as_str().unwrap())
        .unwrap();
    assert_eq!(stored.as_deref(), Some(&b"receipt 1234\n"[..]));
    let hint = &case["conversation"]["hints"][0];
    assert_eq!(hint["signal"], "chat");
    assert_eq!(hint["value"], "website:widget-session-77");

    // A bearer client names the delivery in the body.
    let mut bearer_body: serde_json::Value =
        serde_json::from_slice(&form("Second message")).unwrap();
    bearer_body["id"] = "form-42".into();
    let bearer_body = bearer_body.to_string().into_bytes();
    let auth = format!("Bearer {API_TOKEN}");
    let bearer = [
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
    ];
    for _ in 0..2 {
        let answer = http_post(addr, ROUTE, &bearer, &bearer_body).await.unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    assert_eq!(redis.stream_len(CASES).await.unwrap(), 2);
    gateway.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_has_its_status_and_appends_nothing() {
    let redis = require_server!(RedisServer::start().await);
    let blobs = tempfile::tempdir().unwrap();
    let mut config = push_config(&redis, blobs.path(), vec![api_channel("website")]);
    config.http.max_body_bytes = 4096;
    let (gateway, addr) = start(config).await.unwrap();
    let body = form("hello");
    let post = |headers: Vec<(String, String)>, body: Vec<u8>| async move {
        http_post(addr, ROUTE, &borrowed(&headers), &body)
            .await
            .unwrap()
    };

    let mut forged = api_headers("m1", now(), &body);
    forged[3].1 = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    assert_eq!(
        post(forged, body.clone()).await.status,
        401,
        "bad signature"
    );
    let stale = api_headers("m1", now() - 301, &body);
    assert_eq!(
        post(stale, body.clone()).await.status,
        401,
        "stale timestamp"
    );
    let unsigned = vec![("content-type".to_string(), "application/json".to_string())];
    assert_eq!(
        post(unsigned, body.clone()).await.status,
        401,
        "no credentials"
    );
    let wrong_token = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("authorization".to_string(), "Bearer nope".to_string()),
    ];
    assert_eq!(
        post(wrong_token, body.clone()).await.status,
        401,
        "bad token"
    );

    let mut text_plain = api_headers("m1", now(), &body);
    text_plain[0].1 = "text/plain".into();
    assert_eq!(
        post(text_plain, body.clone()).await.status,
        415,
        "content type"
    );

    let broken = b"{\"sender\": {\"name\": \"x\"}, \"text\": ".to_vec();
    let answer = post(api_headers("m2", now(), &broken), broken).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("malformed JSON"), "{answer:?}");
    let no_text = br#"{"sender": {"name": "private name"}}"#.to_vec();
    let answer = post(api_headers("m3", now(), &no_text), no_text).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("missing field `text`"), "{answer:?}");
    assert!(
        !answer.body.contains("private name"),
        "never echoes the body: {answer:?}"
    );
    let bad_file = br#"{"sender": {"name": "x"}, "text": "t", "attachments": [{"content_type": "a/b", "content_base64": "%%%"}]}"#.to_vec();
    let answer = post(api_headers("m4", now(), &bad_file), bad_file).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("attachments[0]"), "{answer:?}");
    let auth = format!("Bearer {API_TOKEN}");
    let no_id = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("authorization".to_string(), auth),
    ];
    assert_eq!(
        post(no_id, body.clone()).await.status,
        400,
        "bearer needs an id"
    );

    let huge = form(&"x".repeat(8000));
    let answer = post(api_headers("m5", now(), &huge), huge).await;
    assert_eq!(answer.status, 413, "{answer:?}");

    assert_eq!(
        redis.stream_len(CASES).await.unwrap(),
        0,
        "nothing appended"
    );
    let (_, metrics) = http_get(addr, "/metrics").await.unwrap();
    for reason in [
        "bad_signature",
        "stale_timestamp",
        "unsupported_media_type",
        "bad_request",
        "too_large",
    ] {
        let line =
            format!("intake_webhook_rejections_total{{channel=\"website\",reason=\"{reason}\"}}");
        assert!(metrics.contains(&line), "{line} missing");
    }
    gateway.shutdown(Duration::from_secs(5)).await;
}

/// Sends `head` and then `body` a byte every `gap`; returns the status line (or "" when the
/// server closed without answering) and how long it took.
async fn slow_request(
    addr: std::net::SocketAddr,
    head: &str,
    body: &[u8],
    gap: Duration,
) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let writer = async {
        for byte in head.as_bytes().iter().chain(body) {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(gap).await;
        }
    };
    // Stop writing once the server answers or closes.
    let mut answer = Vec::new();
    tokio::select! {
        () = writer => {}
        _ = tokio::time::sleep(Duration::from_secs(20)) => {}
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    (
        text.lines().next().unwrap_or("").to_string(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_cut_off_and_appends_nothing() {
    let redis = require_server!(RedisServer::start().await);
    let blobs = tempfile::tempdir().unwrap();
    let mut config = push_config(&redis, blobs.path(), vec![api_channel("website")]);
    config.http.header_timeout = Duration::from_millis(600);
    config.http.body_timeout = Duration::from_millis(800);
    let (gateway, addr) = start(config).await.unwrap();
    let body = form("slow");
    let headers = api_headers("slow-1", now(), &body);
    let mut head = format!(
        "POST {ROUTE} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");

    // Headers a byte every 50 ms take far longer than 600 ms: the server hangs up.
    let (status, took) = slow_request(addr, &head, &body, Duration::from_millis(50)).await;
    assert!(!status.contains("200"), "{status}");
    assert!(
        took < Duration::from_secs(5),
        "cut off near the header timeout: {took:?}"
    );

    // Headers at once, then the body a byte every 50 ms: 408 at the body timeout.
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let trickle = async {
        for byte in &body {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(1500), trickle).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A client that keeps to the limits still gets through afterwards.
    let ok = http_post(addr, ROUTE, &borrowed(&headers), &body)
        .await
        .unwrap();
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(
        redis.stream_len(CASES).await.unwrap(),
        1,
        "only the complete request"
    );
    gateway.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_answers_503_fast_and_nothing_is_lost_once_back() {
    let redis = require_server!(RedisServer::start().await);
    let blobs = tempfile::tempdir().unwrap();
    let config = push_config(&redis, blobs.path(), vec![api_channel("website")]);
    let (gateway, addr) = start(config).await.unwrap();
    redis.kill();
    // The watcher notices within its 2 s PING interval.
    let health = gateway.health().clone();
    intake_tests::wait::wait_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async { !health.ingest().is_up() },
    )
    .await
    .unwrap();
    let mut refused = 0;
    for i in 0..20 {
        let body = form(&format!("while redis is down {i}"));
        let headers = api_headers(&format!("down-{i}"), now(), &body);
        let asked = Instant::now();
        let answer = http_post(addr, ROUTE, &borrowed(&headers), &body)
            .await
            .unwrap();
        assert_eq!(answer.status, 503, "{answer:?}");
        assert!(answer.header("retry-after").is_some(), "{answer:?}");
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "{:?}",
            asked.elapsed()
        );
        refused += 1;
    }
    redis.restart().await.unwrap();
    // The senders retry until acknowledged; each lands once.
    for i in 0..refused {
        let body = form(&format!("while redis is down {i}"));
        let mut status = 0;
        for _ in 0..100 {
            let headers = api_headers(&format!("down-{i}"), now(), &body);
            status = http_post(addr, ROUTE, &borrowed(&headers), &body)
                .await
                .unwrap()
                .status;
            if status == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, 200);
    }
    assert_eq!(redis.stream_len(CASES).await.unwrap(), refused);
    gateway.shutdown(Duration::from_secs(5)).await;
}

/// docs/api-channel.openapi.json says what the route takes; the server must take exactly that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_the_route() {
    let redis = require_server!(RedisServer::start().await);
    let blobs = tempfile::tempdir().unwrap();
    let config = push_config(&redis, blobs.path(), vec![api_channel("website")]);
    let (gateway, addr) = start(config).await.unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/api-channel.openapi.json"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let post = &doc["paths"]["/webhooks/{channel}"]["post"];
    let headers: Vec<&str> = post["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "header")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        headers,
        ["webhook-id", "webhook-timestamp", "webhook-signature"]
    );
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["standardWebhooks"]["name"], "webhook-signature");
    let statuses: Vec<&String> = post["responses"].as_object().unwrap().keys().collect();
    assert_eq!(statuses, ["200", "400", "401", "408", "413", "415", "503"]);

    // The documented example is accepted as documented, every field ending up in the case.
    let example = &post["requestBody"]["content"]["application/json"]["example"];
    let auth = format!("Bearer {API_TOKEN}");
    let bearer = [
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
    ];
    let body = example.to_string().into_bytes();
    let answer = http_post(addr, ROUTE, &bearer, &body).await.unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    let reply: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(reply["status"], "accepted");
    assert_eq!(reply["id"], example["id"]);
    let entries = redis.read_stream(CASES).await.unwrap();
    let case: serde_json::Value = serde_json::from_str(&entries[0].1["case"]).unwrap();
    assert_eq!(case["sender"]["name"], example["sender"]["name"]);
    assert_eq!(case["sender"]["address"], example["sender"]["address"]);
    assert_eq!(case["subject"], example["subject"]);
    assert_eq!(case["body"]["text"], example["text"]);
    assert_eq!(
        case["attachments"][0]["filename"],
        example["attachments"][0]["filename"]
    );
    assert_eq!(
        case["attachments"][0]["content_type"],
        example["attachments"][0]["content_type"]
    );
    let conversation = example["conversation_id"].as_str().unwrap();
    assert_eq!(
        case["conversation"]["hints"][0]["value"],
        format!("website:{conversation}")
    );

    // The schema's required fields are the code's: dropping one is a 400 naming it; dropping an
    // optional one (other than the bearer's id) is fine.
    let schema = &doc["components"]["schemas"]["Message"];
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for (n, field) in schema["properties"].as_object().unwrap().keys().enumerate() {
        let mut body = example.clone();
        body.as_object_mut().unwrap().remove(field);
        if field != "id" {
            body["id"] = format!("openapi-{n}").into();
        }
        let answer = http_post(addr, ROUTE, &bearer, body.to_string().as_bytes())
            .await
            .unwrap();
        if required.contains(&field.as_str()) || field == "id" {
            assert_eq!(answer.status, 400, "{field}: {answer:?}");
            assert!(
                answer.body.contains(&format!("`{field}`")),
                "{field}: {answer:?}"
            );
        } else {
            assert_eq!(answer.status, 200, "{field}: {answer:?}");
        }
    }
    gateway.shutdown(Duration::from_secs(5)).await;
}
