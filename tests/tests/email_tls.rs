//! Real TLS against Dovecot: implicit TLS and STARTTLS with a certificate from a private CA
//! (`tls_ca_file`), and a clear TLS error when the CA is not trusted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use intake_config::TlsMode;
use intake_gateway::Gateway;
use intake_tests::dovecot::Dovecot;
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{config, email_channel};

fn mail(i: usize) -> Vec<u8> {
    format!("From: a{i}@example.com\r\nSubject: tls {i}\r\nMessage-ID: <tls{i}@example.com>\r\n\r\nhello\r\n")
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_and_starttls_with_a_private_ca() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start_tls().await);
    dovecot.deliver(dovecot.user(), "INBOX", &mail(1)).unwrap();
    dovecot.deliver(dovecot.user(), "Other", &mail(2)).unwrap();
    let blobs = tempfile::tempdir().unwrap();

    let mut implicit = email_channel(&dovecot, "implicit", "INBOX");
    implicit.host = "localhost".into();
    implicit.tls = TlsMode::Implicit;
    implicit.port = dovecot.imaps_port().unwrap();
    implicit.tls_ca_file = Some(dovecot.ca_file());
    let mut starttls = email_channel(&dovecot, "starttls", "Other");
    starttls.tls = TlsMode::Starttls;
    starttls.tls_ca_file = Some(dovecot.ca_file());

    let report = intake_channels::email::check(&implicit).await.unwrap();
    assert!(report.to_string().contains("INBOX"), "{report}");
    intake_channels::email::check(&starttls).await.unwrap();

    let gateway = Gateway::start(config(&redis, blobs.path(), vec![implicit, starttls]))
        .await
        .unwrap();
    common::wait_for_total(&redis, 2, Duration::from_secs(20)).await;
    common::assert_exactly_once(&redis, 2).await;
    gateway.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_a_tls_error() {
    let dovecot = require_server!(Dovecot::start_tls().await);
    let mut channel = email_channel(&dovecot, "implicit", "INBOX");
    channel.tls = TlsMode::Implicit;
    channel.port = dovecot.imaps_port().unwrap();
    let error = intake_channels::email::check(&channel).await.unwrap_err();
    assert!(
        matches!(error, intake_channels::ChannelError::Tls { .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains(dovecot.password()));

    let mut starttls = email_channel(&dovecot, "starttls", "INBOX");
    starttls.tls = TlsMode::Starttls;
    let error = intake_channels::email::check(&starttls).await.unwrap_err();
    assert!(
        matches!(error, intake_channels::ChannelError::Tls { .. }),
        "{error:?}"
    );
}
