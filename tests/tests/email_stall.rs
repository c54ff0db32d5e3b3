//! Never skip, never stall, for the email channel against a real Dovecot behind the harness's
//! rewriting proxy: a message the server leaves out of its FETCH answers or refuses with NO is
//! never passed by the checkpoint while it exists, is retried, and after `poison_after` failures
//! is dead-lettered so later mail still lands; a message really expunged between the search
//! and the fetch is skipped once `UID SEARCH` confirms it; rejected logins back off and say so;
//! server text (NO text, unparsable responses) never reaches an error or /readyz.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use intake_channels::email::EmailChannel;
use intake_channels::{
    Channel, ChannelError, ChannelStatus, Inbound, MemoryCheckpointStore, Payload, Receipt,
};
use intake_config::{EmailConfig, Secret};
use intake_gateway::Gateway;
use intake_tests::dovecot::Dovecot;
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{config, email_channel, http_get};
use intake_tests::{ImapProxy, wait_for, wait_until};
use tokio_util::sync::CancellationToken;

const STEP: Duration = Duration::from_secs(15);
const CHECKPOINT: &str = "email:support";
/// What a misbehaving server "says"; it must never show up in an error.
const PLANTED: &str = "PLANTED Dear support my card is 4111-1111";

/// The channel on `port` (the proxy's), polling fast, giving up on a message after `poison_after`.
fn channel_config(dovecot: &Dovecot, port: u16, poison_after: u32) -> EmailConfig {
    EmailConfig {
        port,
        poll_interval: Duration::from_millis(200),
        poison_after,
        ..email_channel(dovecot, "support", "INBOX")
    }
}

fn channel(
    config: EmailConfig,
    store: &MemoryCheckpointStore,
) -> EmailChannel<MemoryCheckpointStore> {
    EmailChannel::new(config, store.clone(), CancellationToken::new())
}

async fn receive(channel: &mut EmailChannel<MemoryCheckpointStore>) -> Vec<Inbound> {
    tokio::time::timeout(STEP, channel.receive(10))
        .await
        .expect("receive timed out")
        .unwrap()
}

fn uids(batch: &[Inbound]) -> Vec<u64> {
    batch.iter().map(|item| item.receipt.0).collect()
}

fn message(n: usize) -> Vec<u8> {
    format!(
        "From: Customer {n} <c{n}@example.com>\r\nTo: support@example.com\r\nSubject: help {n}\r\n\
         Message-ID: <m{n}@example.com>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nbody {n}\r\n"
    )
    .into_bytes()
}

fn deliver(dovecot: &Dovecot, count: usize) {
    for n in 1..=count {
        dovecot
            .deliver(dovecot.user(), "INBOX", &message(n))
            .unwrap();
    }
}

#[tokio::test]
async fn a_uid_left_out_of_fetch_is_never_passed_then_dead_lettered() {
    let dovecot = require_server!(Dovecot::start().await);
    deliver(&dovecot, 5);
    let proxy = ImapProxy::start(dovecot.port()).await.unwrap();
    proxy.set(|rules| {
        rules.hide.insert(3);
    });
    let store = MemoryCheckpointStore::new();
    let mut channel = channel(channel_config(&dovecot, proxy.port(), 3), &store);

    // The batch stops before 3, which still exists: nothing after it is handed out.
    assert_eq!(uids(&receive(&mut channel).await), [1, 2]);
    assert!(
        proxy.commands().iter().any(|c| c == "UID SEARCH UID 3"),
        "no confirmation"
    );
    channel.ack(vec![Receipt(1), Receipt(2)]).await.unwrap();
    assert!(store.get(CHECKPOINT).unwrap().ends_with(":2"));
    // Its retry is not due yet: the fetch-ahead finds nothing rather than passing it.
    assert!(channel.receive_ready(10).await.unwrap().is_empty());

    // The third failure in a row dead-letters it; 4 and 5 follow in the same batch.
    let started = Instant::now();
    let batch = receive(&mut channel).await;
    assert_eq!(uids(&batch), [3, 4, 5]);
    // Two retries after 0.5 s and 1 s.
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
    assert!(proxy.fetches_of(3) >= 3);
    match &batch[0].payload {
        Payload::Rejected(rejection) => {
            assert_eq!(rejection.reason, "fetch_failed");
            assert!(rejection.error.contains("3 times"), "{}", rejection.error);
            assert!(
                rejection.error.contains("no raw bytes"),
                "{}",
                rejection.error
            );
            assert_eq!(rejection.source.imap.as_ref().map(|i| i.uid), Some(3));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(batch[0].idempotency_keys.len(), 1);
    assert!(matches!(batch[2].payload, Payload::Wire(_)));
    channel
        .ack(vec![Receipt(3), Receipt(4), Receipt(5)])
        .await
        .unwrap();
    assert!(store.get(CHECKPOINT).unwrap().ends_with(":5"));
}

#[tokio::test]
async fn a_refused_fetch_isolates_the_uid_and_a_retry_recovers_it() {
    let dovecot = require_server!(Dovecot::start().await);
    deliver(&dovecot, 4);
    let proxy = ImapProxy::start(dovecot.port()).await.unwrap();
    proxy.set(|rules| {
        rules.refuse.insert(2);
        rules.text = PLANTED.into();
    });
    let store = MemoryCheckpointStore::new();
    let mut channel = channel(channel_config(&dovecot, proxy.port(), 5), &store);

    // The batch FETCH got NO; 1 fetched alone is fine, 2 is refused again: the batch is cut.
    assert_eq!(uids(&receive(&mut channel).await), [1]);
    let commands = proxy.commands();
    assert!(
        commands
            .iter()
            .any(|c| c == "UID FETCH 2 (UID RFC822.SIZE)"),
        "{commands:?}"
    );
    channel.ack(vec![Receipt(1)]).await.unwrap();
    assert!(store.get(CHECKPOINT).unwrap().ends_with(":1"));

    // The server recovers: the retry reads 2, with its real bytes, then 3 and 4.
    proxy.set(|rules| rules.refuse.clear());
    let batch = receive(&mut channel).await;
    assert_eq!(uids(&batch), [2, 3, 4]);
    match &batch[0].payload {
        Payload::Wire(wire) => assert_eq!(wire.bytes, message(2)),
        other => panic!("expected the message, got {other:?}"),
    }
    channel
        .ack(vec![Receipt(2), Receipt(3), Receipt(4)])
        .await
        .unwrap();
    assert!(store.get(CHECKPOINT).unwrap().ends_with(":4"));
}

#[tokio::test]
async fn an_expunged_uid_is_skipped_after_confirmation() {
    let dovecot = require_server!(Dovecot::start().await);
    deliver(&dovecot, 5);
    let proxy = ImapProxy::start(dovecot.port()).await.unwrap();
    let store = MemoryCheckpointStore::new();
    let mut channel = channel(channel_config(&dovecot, proxy.port(), 5), &store);

    // The search found 1..=5; the first batch takes two, the rest wait without a new search.
    let first = tokio::time::timeout(STEP, channel.receive(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(uids(&first), [1, 2]);
    // Nothing was missing: no confirmation round trip on the normal path.
    let searches = |proxy: &ImapProxy| {
        let commands = proxy.commands();
        commands
            .iter()
            .filter(|c| c.starts_with("UID SEARCH UID ") && !c.ends_with(":*"))
            .count()
    };
    assert_eq!(searches(&proxy), 0);
    // Another client really expunges 3 before the channel fetches it.
    let mut other = dovecot.imap_session().await.unwrap();
    other.select("INBOX").await.unwrap();
    other
        .run_command_and_check_ok("UID STORE 3 +FLAGS.SILENT (\\Deleted)")
        .await
        .unwrap();
    other
        .run_command_and_check_ok("UID EXPUNGE 3")
        .await
        .unwrap();
    other.logout().await.unwrap();

    let started = Instant::now();
    let next = channel.receive_ready(10).await.unwrap();
    assert_eq!(uids(&next), [4, 5]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a gone message must not be retried"
    );
    assert!(
        proxy.commands().iter().any(|c| c == "UID SEARCH UID 3"),
        "no confirmation"
    );
    channel
        .ack(vec![Receipt(1), Receipt(2), Receipt(4), Receipt(5)])
        .await
        .unwrap();
    assert!(store.get(CHECKPOINT).unwrap().ends_with(":5"));
}

#[tokio::test]
async fn server_text_never_reaches_errors_or_status() {
    let dovecot = require_server!(Dovecot::start().await);
    deliver(&dovecot, 2);
    let proxy = ImapProxy::start(dovecot.port()).await.unwrap();
    proxy.set(|rules| {
        rules.refuse_commands.insert("SELECT".into());
        rules.text = PLANTED.into();
    });
    let store = MemoryCheckpointStore::new();
    let mut channel = channel(channel_config(&dovecot, proxy.port(), 5), &store);
    let status = channel.status().unwrap();

    // SELECT answered NO with the planted text: a mailbox error, in our words only.
    let err = channel.receive(10).await.expect_err("select refused");
    assert!(matches!(err, ChannelError::Mailbox { .. }), "{err}");
    assert!(!err.to_string().contains("PLANTED"), "{err}");
    match &*status.borrow() {
        ChannelStatus::Failed(text) => assert!(!text.contains("PLANTED"), "{text}"),
        other => panic!("expected a failed status, got {other:?}"),
    }

    // A FETCH response no parser accepts, quoting the planted text: a protocol error that
    // names the command and the kind of failure only.
    proxy.set(|rules| {
        rules.refuse_commands.clear();
        rules.garble.insert(2);
    });
    let err = tokio::time::timeout(STEP, channel.receive(10))
        .await
        .expect("receive timed out")
        .expect_err("garbled response accepted");
    assert!(matches!(err, ChannelError::Protocol { .. }), "{err}");
    let text = err.to_string();
    assert!(
        !text.contains("PLANTED") && !text.contains("4111"),
        "{text}"
    );
    assert!(
        text.contains("UID FETCH") && text.contains("unreadable server response"),
        "{text}"
    );
}

#[tokio::test]
async fn a_fetch_that_breaks_the_session_is_isolated_then_dead_lettered() {
    let dovecot = require_server!(Dovecot::start().await);
    deliver(&dovecot, 4);
    let proxy = ImapProxy::start(dovecot.port()).await.unwrap();
    proxy.set(|rules| {
        rules.garble.insert(2);
        rules.text = PLANTED.into();
    });
    let store = MemoryCheckpointStore::new();
    let mut channel = channel(channel_config(&dovecot, proxy.port(), 2), &store);

    // The batch's answer is unreadable: the session is gone, nothing is handed out.
    let err = next(&mut channel)
        .await
        .expect_err("garbled batch accepted");
    assert!(matches!(err, ChannelError::Protocol { .. }), "{err}");
    // After reconnecting, that batch's UIDs come one at a time: 1 is fine.
    assert_eq!(uids(&next(&mut channel).await.unwrap()), [1]);
    channel.ack(vec![Receipt(1)]).await.unwrap();
    // 2 alone breaks the session twice (poison_after = 2) ...
    next(&mut channel)
        .await
        .expect_err("garbled message accepted");
    next(&mut channel)
        .await
        .expect_err("garbled message accepted");
    assert!(store.get(CHECKPOINT).unwrap().ends_with(":1"));
    // ... and is then dead-lettered without another fetch; 3 and 4 follow.
    let fetches = proxy.fetches_of(2);
    let batch = next(&mut channel).await.unwrap();
    assert_eq!(uids(&batch), [2]);
    assert_eq!(proxy.fetches_of(2), fetches, "fetched after giving up");
    match &batch[0].payload {
        Payload::Rejected(rejection) => {
            assert_eq!(rejection.reason, "fetch_failed");
            let error = &rejection.error;
            assert!(error.contains("broke the IMAP session"), "{error}");
            assert!(!error.contains("PLANTED"), "{error}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    channel.ack(vec![Receipt(2)]).await.unwrap();
    let mut rest = uids(&next(&mut channel).await.unwrap());
    rest.extend(uids(&channel.receive_ready(10).await.unwrap()));
    assert_eq!(rest, [3, 4]);
    channel.ack(vec![Receipt(3), Receipt(4)]).await.unwrap();
    assert!(store.get(CHECKPOINT).unwrap().ends_with(":4"));
}

/// The next batch, or the error, within [`STEP`].
async fn next(
    channel: &mut EmailChannel<MemoryCheckpointStore>,
) -> Result<Vec<Inbound>, ChannelError> {
    tokio::time::timeout(STEP, channel.receive(10))
        .await
        .expect("receive timed out")
}

#[tokio::test]
async fn rejected_logins_back_off_and_say_so() {
    let dovecot = require_server!(Dovecot::start().await);
    let mut config = channel_config(&dovecot, dovecot.port(), 5);
    config.password = Secret::new("wrong-password-123");
    let store = MemoryCheckpointStore::new();
    let mut channel =
        channel(config, &store).with_auth_backoff(Duration::from_secs(1), Duration::from_secs(2));
    let status = channel.status().unwrap();

    let err = channel.receive(1).await.expect_err("bad password accepted");
    assert!(matches!(err, ChannelError::Auth { .. }), "{err}");
    assert_eq!(err.retry_floor(), Some(Duration::from_secs(1)));
    assert!(
        err.to_string()
            .ends_with("retrying in 1s to avoid an account lockout"),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong-password-123"));
    match &*status.borrow() {
        ChannelStatus::Failed(text) => assert_eq!(text, &err.to_string()),
        other => panic!("expected a failed status, got {other:?}"),
    }

    // Called again at once, the channel waits out the pause before the next login, which
    // doubles it up to the cap.
    for expected in [2, 2] {
        let started = Instant::now();
        let err = channel.receive(1).await.expect_err("bad password accepted");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(900),
            "logged in again after {waited:?}"
        );
        assert_eq!(
            err.retry_floor(),
            Some(Duration::from_secs(expected)),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_dead_letters_an_unfetchable_message_and_moves_on() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    deliver(&dovecot, 4);
    let proxy = ImapProxy::start(dovecot.port()).await.unwrap();
    proxy.set(|rules| {
        rules.refuse.insert(2);
        rules.text = PLANTED.into();
    });
    let blobs = tempfile::tempdir().unwrap();
    let cfg = config(
        &redis,
        blobs.path(),
        vec![channel_config(&dovecot, proxy.port(), 2)],
    );
    let gateway = Gateway::start(cfg).await.unwrap();

    common::wait_for_total(&redis, 4, Duration::from_secs(20)).await;
    common::assert_exactly_once(&redis, 4).await;
    let (cases, dead) = common::entries(&redis).await;
    assert_eq!((cases.len(), dead.len()), (3, 1));
    let doc: serde_json::Value = serde_json::from_str(&dead[0].1["dead_letter"]).unwrap();
    assert_eq!(doc["reason"], "fetch_failed");
    assert_eq!(doc["source"]["imap"]["uid"], 2);
    assert!(doc["raw_ref"].is_null(), "{doc}");
    assert!(!doc.to_string().contains("PLANTED"), "{doc}");
    // All four are acked on the server, the dead-lettered one included.
    wait_until(STEP, Duration::from_millis(100), || async {
        let flags = dovecot.flags("INBOX").await.unwrap_or_default();
        flags.len() == 4 && flags.values().all(|f| f.iter().any(|f| f == "\\Seen"))
    })
    .await
    .expect("every message marked \\Seen");
    gateway.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_says_a_rejected_login_is_backing_off() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    let blobs = tempfile::tempdir().unwrap();
    let mut channel = email_channel(&dovecot, "support", "INBOX");
    channel.password = Secret::new("wrong-password-123");
    let gateway = Gateway::start(config(&redis, blobs.path(), vec![channel]))
        .await
        .unwrap();
    let addr = gateway.http_addr();
    let body = wait_for(STEP, Duration::from_millis(100), || async {
        let (status, body) = http_get(addr, "/readyz").await.ok()?;
        (status == 503 && body.contains("account lockout")).then_some(body)
    })
    .await
    .expect("/readyz reports the login backoff");
    assert!(body.contains("retrying in 30s"), "{body}");
    assert!(!body.contains("wrong-password-123"), "{body}");
    gateway.shutdown(Duration::from_secs(5)).await;
}
