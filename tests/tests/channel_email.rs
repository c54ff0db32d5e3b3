//! The email channel alone (no gateway, no Redis) against the harness's Dovecot: receive without
//! marking, ack marks exactly the acked prefix and saves the checkpoint, a new channel resumes
//! after it, oversized messages are rejected with their headers only, MoveTo/Delete act on the
//! server, IDLE wakes on new mail and shutdown ends the wait, polling, UIDVALIDITY resets rescan,
//! and auth/TLS failures are classified without leaking the password.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use intake_channels::email::{EmailChannel, check};
use intake_channels::{Channel, ChannelError, Inbound, MemoryCheckpointStore, Payload, Receipt};
use intake_config::{AfterIngest, EmailConfig, TlsMode};
use intake_tests::dovecot::{DEFAULT_USER, Dovecot};
use intake_tests::require_server;
use intake_tests::setup::email_channel;
use tokio_util::sync::CancellationToken;

const STEP: Duration = Duration::from_secs(10);
/// The channel's name, hence its checkpoint key `email:support`.
const NAME: &str = "support";
const CHECKPOINT: &str = "email:support";

fn config(dovecot: &Dovecot, after_ingest: AfterIngest) -> EmailConfig {
    EmailConfig {
        after_ingest,
        poll_interval: Duration::from_millis(200),
        max_message_bytes: 1_000_000,
        ..email_channel(dovecot, NAME, "INBOX")
    }
}

fn channel(
    config: EmailConfig,
    store: &MemoryCheckpointStore,
) -> EmailChannel<MemoryCheckpointStore> {
    EmailChannel::new(config, store.clone(), CancellationToken::new())
}

async fn receive(channel: &mut EmailChannel<MemoryCheckpointStore>, max: usize) -> Vec<Inbound> {
    tokio::time::timeout(STEP, channel.receive(max))
        .await
        .expect("receive timed out")
        .unwrap()
}

fn uids(batch: &[Inbound]) -> Vec<u64> {
    batch.iter().map(|item| item.receipt.0).collect()
}

fn raw(item: &Inbound) -> Option<&[u8]> {
    match &item.payload {
        Payload::Wire(wire) => Some(&wire.bytes),
        Payload::Rejected(_) => None,
    }
}

/// `(uid, seen)` of every message in `mailbox`.
async fn seen(dovecot: &Dovecot, mailbox: &str) -> Vec<(u32, bool)> {
    dovecot
        .flags(mailbox)
        .await
        .unwrap()
        .into_iter()
        .map(|(uid, flags)| (uid, flags.iter().any(|f| f == "\\Seen")))
        .collect()
}

/// Writes `raw` into the primary user's `mailbox` on disk (LDA-style name).
fn deliver(dovecot: &Dovecot, mailbox: &str, raw: &[u8]) {
    dovecot.deliver(dovecot.user(), mailbox, raw).unwrap();
}

/// A small RFC 5322 message, unique by `n`.
fn message(n: usize, body: &str) -> Vec<u8> {
    format!(
        "From: Customer {n} <c{n}@example.com>\r\nTo: support@example.com\r\nSubject: help {n}\r\n\
         Message-ID: <m{n}@example.com>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn receive_ack_resume() {
    let dovecot = require_server!(Dovecot::start().await);
    let sent: Vec<Vec<u8>> = (1..=5).map(|n| message(n, "please help")).collect();
    for raw in &sent {
        deliver(&dovecot, "INBOX", raw);
    }
    let store = MemoryCheckpointStore::new();
    let mut first = channel(config(&dovecot, AfterIngest::Seen), &store);

    let batch = receive(&mut first, 3).await;
    assert_eq!(uids(&batch), [1, 2, 3]);
    for (item, expected) in batch.iter().zip(&sent) {
        assert_eq!(raw(item), Some(expected.as_slice()), "raw bytes differ");
        assert!(item.idempotency_keys[0].starts_with("email:alice@127.0.0.1:INBOX:"));
        assert_eq!(item.idempotency_keys.len(), 2);
    }
    assert!(
        seen(&dovecot, "INBOX").await.iter().all(|(_, seen)| !seen),
        "receive set \\Seen"
    );

    first.ack(vec![Receipt(1), Receipt(2)]).await.unwrap();
    assert_eq!(
        seen(&dovecot, "INBOX").await,
        [(1, true), (2, true), (3, false), (4, false), (5, false)]
    );
    let checkpoint = store.get(CHECKPOINT).expect("no checkpoint saved");
    assert!(checkpoint.ends_with(":2"), "checkpoint {checkpoint}");

    // Not a prefix of what is still in flight (3): refused, nothing marked.
    let err = first
        .ack(vec![Receipt(4)])
        .await
        .expect_err("non-prefix ack accepted");
    assert!(matches!(err, ChannelError::Protocol { .. }), "{err}");

    // On the same connection the next batch continues after what is in flight: 3 is not
    // fetched twice while it awaits its ack (the worker fetches ahead this way).
    let ahead = first.receive_ready(10).await.unwrap();
    assert_eq!(uids(&ahead), [4, 5]);
    // Nothing more is waiting: receive_ready answers at once, empty.
    let none = tokio::time::timeout(Duration::from_secs(5), first.receive_ready(10))
        .await
        .expect("receive_ready must not wait")
        .unwrap();
    assert!(none.is_empty());
    drop(first);

    // A new channel (restart) with the same store continues after the checkpoint: everything
    // unacked (3, and 4 and 5 fetched ahead) comes again.
    let mut second = channel(config(&dovecot, AfterIngest::Seen), &store);
    let batch = receive(&mut second, 10).await;
    assert_eq!(uids(&batch), [3, 4, 5]);
    assert_eq!(raw(&batch[2]), Some(sent[4].as_slice()));
    second
        .ack(vec![Receipt(3), Receipt(4), Receipt(5)])
        .await
        .unwrap();
    assert!(seen(&dovecot, "INBOX").await.iter().all(|(_, seen)| *seen));
    assert!(store.get(CHECKPOINT).is_some_and(|c| c.ends_with(":5")));
}

#[tokio::test]
async fn oversized_message_is_rejected_with_headers_only() {
    let dovecot = require_server!(Dovecot::start().await);
    deliver(&dovecot, "INBOX", &message(1, "small"));
    deliver(&dovecot, "INBOX", &message(2, &"x".repeat(5000)));
    deliver(&dovecot, "INBOX", &message(3, "small"));
    // Bare LFs: the size IMAP reports (and the file name's W=) counts each as CRLF.
    let lf_only = String::from_utf8(message(4, &"line\r\n".repeat(500)))
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes();
    let lf_count = lf_only.iter().filter(|&&b| b == b'\n').count();
    deliver(&dovecot, "INBOX", &lf_only);
    let mut config = config(&dovecot, AfterIngest::Seen);
    config.max_message_bytes = 1000;
    let store = MemoryCheckpointStore::new();
    let mut channel = channel(config, &store);

    let batch = receive(&mut channel, 10).await;
    assert_eq!(uids(&batch), [1, 2, 3, 4]);
    assert!(raw(&batch[0]).is_some() && raw(&batch[2]).is_some());
    match &batch[1].payload {
        Payload::Rejected(rejection) => {
            assert_eq!(rejection.reason, "too_large");
            assert!(rejection.size.is_some_and(|size| size > 5000));
            assert_eq!(rejection.source.imap.as_ref().map(|imap| imap.uid), Some(2));
            // Only the header block was fetched, and it was parsed.
            assert_eq!(
                rejection.headers.get("subject").map(String::as_str),
                Some("help 2")
            );
            assert_eq!(
                rejection.source.message_id.as_deref(),
                Some("m2@example.com")
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(batch[1].idempotency_keys.len(), 1);
    match &batch[3].payload {
        Payload::Rejected(rejection) => assert_eq!(
            rejection.size.map(|size| size as usize),
            Some(lf_only.len() + lf_count)
        ),
        other => panic!("expected a rejection, got {other:?}"),
    }
    // The rejected messages are acked like any other once dead-lettered.
    channel
        .ack(vec![Receipt(1), Receipt(2), Receipt(3), Receipt(4)])
        .await
        .unwrap();
    assert!(seen(&dovecot, "INBOX").await.iter().all(|(_, seen)| *seen));
}

#[tokio::test]
async fn move_to_and_delete_act_on_the_server() {
    let dovecot = require_server!(Dovecot::start().await);
    dovecot.create_mailbox("Done").await.unwrap();
    for n in 1..=4 {
        deliver(&dovecot, "INBOX", &message(n, "move me"));
    }
    let move_config = config(&dovecot, AfterIngest::MoveTo("Done".into()));
    let report = check(&move_config).await.unwrap();
    assert!(report.capabilities.idle && report.capabilities.move_supported);
    assert_eq!(
        (report.messages, report.move_target.as_deref()),
        (4, Some("Done"))
    );

    let store = MemoryCheckpointStore::new();
    let mut mover = channel(move_config, &store);
    let batch = receive(&mut mover, 3).await;
    assert_eq!(uids(&batch), [1, 2, 3]);
    mover
        .ack(vec![Receipt(1), Receipt(2), Receipt(3)])
        .await
        .unwrap();
    assert_eq!(seen(&dovecot, "INBOX").await, [(4, false)]);
    assert_eq!(seen(&dovecot, "Done").await.len(), 3);
    drop(mover);

    let mut deleter = channel(config(&dovecot, AfterIngest::Delete), &store);
    let batch = receive(&mut deleter, 10).await;
    assert_eq!(uids(&batch), [4]);
    deleter.ack(vec![Receipt(4)]).await.unwrap();
    assert_eq!(seen(&dovecot, "INBOX").await, []);

    let missing = config(&dovecot, AfterIngest::MoveTo("Nowhere".into()));
    let err = check(&missing)
        .await
        .expect_err("check passed without the target folder");
    assert!(matches!(err, ChannelError::Mailbox { .. }), "{err}");
}

#[tokio::test]
async fn idle_wakes_on_new_mail_and_shutdown_ends_the_wait() {
    let dovecot = require_server!(Dovecot::start().await);
    let shutdown = CancellationToken::new();
    let store = MemoryCheckpointStore::new();
    let mut channel = EmailChannel::new(
        config(&dovecot, AfterIngest::Seen),
        store.clone(),
        shutdown.clone(),
    );

    let waiting = tokio::spawn(async move {
        let batch = channel.receive(10).await;
        (channel, batch)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "receive returned on an empty mailbox"
    );
    dovecot.append("INBOX", &message(1, "hello")).await.unwrap();
    let (mut channel, batch) = tokio::time::timeout(STEP, waiting)
        .await
        .expect("IDLE did not wake on new mail")
        .unwrap();
    assert_eq!(uids(&batch.unwrap()), [1]);
    channel.ack(vec![Receipt(1)]).await.unwrap();

    let waiting = tokio::spawn(async move { channel.receive(10).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("shutdown did not end the wait")
        .unwrap();
    assert!(matches!(result, Err(ChannelError::Shutdown)), "{result:?}");
}

#[tokio::test]
async fn polling_uidvalidity_reset_and_bad_password() {
    let dovecot = require_server!(Dovecot::start().await);
    deliver(&dovecot, "INBOX", &message(1, "one"));
    let store = MemoryCheckpointStore::new();
    // A checkpoint from another UIDVALIDITY must not hide UID 1.
    let other = dovecot.uidvalidity("INBOX").await.unwrap().wrapping_add(1);
    store.set(CHECKPOINT, &format!("{other}:999"));
    let mut config = config(&dovecot, AfterIngest::Seen);
    config.idle = false;
    let mut poller = channel(config.clone(), &store);
    assert_eq!(uids(&receive(&mut poller, 10).await), [1]);
    poller.ack(vec![Receipt(1)]).await.unwrap();

    let waiting = tokio::spawn(async move {
        let batch = poller.receive(10).await;
        (poller, batch)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    dovecot.append("INBOX", &message(2, "two")).await.unwrap();
    let (mut poller, batch) = tokio::time::timeout(STEP, waiting)
        .await
        .expect("polling did not see new mail")
        .unwrap();
    assert_eq!(uids(&batch.unwrap()), [2]);
    poller.ack(vec![Receipt(2)]).await.unwrap();
    drop(poller);

    // A real UIDVALIDITY reset: a restarted channel rescans from UID 1 and looks up the content
    // keys of the renumbered messages.
    let before = store.get(CHECKPOINT).unwrap();
    let new = dovecot.reset_uidvalidity("INBOX").await.unwrap();
    assert!(!before.starts_with(&format!("{new}:")), "{before}");
    let mut rescanner = channel(config.clone(), &store);
    let batch = receive(&mut rescanner, 10).await;
    assert_eq!(uids(&batch), [1, 2]);
    assert!(batch.iter().all(|item| item.lookup_keys == 2));
    rescanner.ack(vec![Receipt(1), Receipt(2)]).await.unwrap();
    let after = store.get(CHECKPOINT).unwrap();
    assert!(after.starts_with(&format!("{new}:2")), "{after}");
    drop(rescanner);

    config.password = intake_config::Secret::new("wrong-password-123");
    let err = channel(config, &store)
        .receive(1)
        .await
        .expect_err("bad password accepted");
    assert!(matches!(err, ChannelError::Auth { .. }), "{err}");
    assert!(!err.to_string().contains("wrong-password-123"));
}

#[tokio::test]
async fn tls_against_a_plaintext_server_is_a_tls_error() {
    // A distinctive password, so that "not in the error" means something.
    let password = "correct-horse-battery";
    let dovecot = require_server!(Dovecot::start_with_users(&[(DEFAULT_USER, password)]).await);
    for mode in [TlsMode::Implicit, TlsMode::Starttls] {
        let mut config = config(&dovecot, AfterIngest::Seen);
        config.tls = mode;
        let store = MemoryCheckpointStore::new();
        let result = tokio::time::timeout(STEP, channel(config, &store).receive(1))
            .await
            .expect("TLS attempt timed out");
        let err = result.expect_err("tls against a plaintext server succeeded");
        assert!(matches!(err, ChannelError::Tls { .. }), "{mode:?}: {err}");
        assert!(!err.to_string().contains(password));
    }
}
