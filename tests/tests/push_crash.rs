//! The `intake` binary serving an api channel, SIGKILLed twice while 400 deliveries are in
//! flight from clients that retry until they get 200: every acknowledged delivery is in the
//! stream exactly once, and so is every other (all are retried until acknowledged).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use intake_tests::push::{API_SECRET, api_headers, borrowed, now};
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{CASES, http_post, intake_binary};

const DELIVERIES: usize = 400;
const CLIENTS: usize = 16;

/// Kills the child on drop, so a failing assertion never leaves a gateway running.
struct Gateway(Option<Child>);

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
    }
}

fn spawn(binary: &std::path::Path, config: &std::path::Path) -> Gateway {
    let child = Command::new(binary)
        .args(["run", "--config"])
        .arg(config)
        .env("API_SECRET", API_SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Gateway(Some(child))
}

fn body(i: usize) -> Vec<u8> {
    serde_json::json!({
        "sender": {"name": format!("Customer {i}"), "address": format!("c{i}@example.com")},
        "subject": format!("request {i}"),
        "text": format!("Please help with request number {i}."),
    })
    .to_string()
    .into_bytes()
}

/// Posts delivery `i` until it is acknowledged; connection errors (the gateway is down) and
/// 503s are retried.
async fn deliver(addr: SocketAddr, i: usize) {
    let body = body(i);
    loop {
        let headers = api_headers(&format!("crash-{i}"), now(), &body);
        match http_post(addr, "/webhooks/website", &borrowed(&headers), &body).await {
            Ok(answer) if answer.status == 200 => return,
            Ok(answer) => assert!(answer.status == 503, "unexpected answer {answer:?}"),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_twice_with_deliveries_in_flight_keeps_every_acknowledged_one_exactly_once() {
    let redis = require_server!(RedisServer::start().await);
    let binary = intake_binary().unwrap();
    let work = tempfile::tempdir().unwrap();
    let port = intake_tests::net::free_port().unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let config = format!(
        "[redis]\nurl = {:?}\n\n[http]\nlisten = \"{addr}\"\n\n[blobs]\ndir = {:?}\n\n[[channels]]\ntype = \"api\"\nname = \"website\"\nsecret_env = \"API_SECRET\"\n",
        redis.url(),
        work.path().join("blobs").display().to_string(),
    );
    let config_path = work.path().join("intake.toml");
    std::fs::write(&config_path, config).unwrap();

    let mut gateway = spawn(&binary, &config_path);
    let acked = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let (acked, next) = (acked.clone(), next.clone());
        clients.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= DELIVERIES {
                    return;
                }
                deliver(addr, i).await;
                acked.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    for kill_at in [100, 250] {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while acked.load(Ordering::Relaxed) < kill_at {
            assert!(
                std::time::Instant::now() < deadline,
                "stuck below {kill_at} acks"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        drop(gateway); // SIGKILL, with deliveries in flight
        eprintln!("killed at {} acknowledged", acked.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(200)).await;
        gateway = spawn(&binary, &config_path);
    }
    tokio::time::timeout(Duration::from_secs(120), async {
        while clients.join_next().await.is_some() {}
    })
    .await
    .expect("every delivery acknowledged in the end");
    assert_eq!(acked.load(Ordering::Relaxed), DELIVERIES);

    let entries = redis.read_stream(CASES).await.unwrap();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (_, fields) in &entries {
        *seen.entry(fields["idempotency_key"].clone()).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "appended more than once: {twice:?}");
    let expected: HashSet<String> = (0..DELIVERIES)
        .map(|i| format!("api:website:crash-{i}"))
        .collect();
    let landed: HashSet<String> = seen.into_keys().collect();
    assert_eq!(
        landed, expected,
        "every acknowledged delivery is in the stream"
    );
    assert_eq!(entries.len(), DELIVERIES);
    drop(gateway);
}
