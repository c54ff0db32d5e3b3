//! A full disk under the blob store pauses ingest and says so in /readyz; once space is freed
//! ingestion resumes without a restart, and nothing is lost or doubled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use intake_tests::dovecot::Dovecot;
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::http_get;
use intake_tests::small_disk::SmallDisk;

fn mail(i: usize) -> Vec<u8> {
    format!(
        "From: Customer {i} <c{i}@example.com>\r\nTo: support@example.com\r\nSubject: disk {i}\r\nMessage-ID: <d{i}@example.com>\r\n\r\n{}\r\n",
        "my printer is out of toner again. ".repeat(200)
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_ingest_and_freeing_space_resumes_it() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    let disk = require_server!(SmallDisk::mount(2 * 1024 * 1024));
    let blob_dir = disk.path().join("blobs");
    let gateway = common::start_email_gateway(&redis, &dovecot, &blob_dir).await;
    let addr = gateway.http_addr();
    common::wait_ready(&gateway).await;

    let filler = disk.fill().unwrap();
    for i in 0..20 {
        dovecot.append("INBOX", &mail(i)).await.unwrap();
    }
    intake_tests::wait::wait_until(
        Duration::from_secs(15),
        Duration::from_millis(100),
        || async {
            let (status, body) = http_get(addr, "/readyz").await.unwrap();
            status == 503 && body.contains("blobs")
        },
    )
    .await
    .expect("/readyz names the blob store while the disk is full");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        common::total(&redis).await,
        0,
        "nothing appended without its blobs"
    );
    let flags = dovecot.flags("INBOX").await.unwrap();
    assert!(
        flags.values().all(|f| !f.iter().any(|f| f == "\\Seen")),
        "nothing acked while the disk is full"
    );

    std::fs::remove_file(filler).unwrap();
    common::wait_for_total(&redis, 20, Duration::from_secs(30)).await;
    common::assert_exactly_once(&redis, 20).await;
    intake_tests::wait::wait_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        || async { http_get(addr, "/readyz").await.unwrap().0 == 200 },
    )
    .await
    .expect("/readyz recovers once space is freed");
    gateway.shutdown(Duration::from_secs(5)).await;
}
