//! The email channel against a real Dovecot: receive without marking, ack marks exactly the
//! acked prefix and saves the checkpoint, a new channel resumes after it, oversized messages are
//! rejected with their headers only, MoveTo/Delete act on the server, IDLE wakes on new mail and
//! shutdown ends the wait. Skipped (loudly) without /usr/sbin/dovecot unless CI is set.

mod support;

use std::time::Duration;

use intake_channels::email::{EmailChannel, check};
use intake_channels::{Channel, ChannelError, Inbound, MemoryCheckpointStore, Payload, Receipt};
use intake_config::{AfterIngest, EmailConfig, Secret, TlsMode};
use support::{Dovecot, PASSWORD, TestResult, USER, dovecot_available, message};
use tokio_util::sync::CancellationToken;

const STEP: Duration = Duration::from_secs(10);

fn config(dovecot: &Dovecot, after_ingest: AfterIngest) -> EmailConfig {
    EmailConfig {
        tls_ca_file: None,
        name: "support".into(),
        host: "127.0.0.1".into(),
        port: dovecot.port,
        tls: TlsMode::None,
        allow_insecure: false,
        username: USER.into(),
        password: Secret::new(PASSWORD),
        mailbox: "INBOX".into(),
        after_ingest,
        idle: true,
        poll_interval: Duration::from_millis(200),
        batch_size: 100,
        max_message_bytes: 1_000_000,
    }
}

fn channel(
    config: EmailConfig,
    store: &MemoryCheckpointStore,
) -> EmailChannel<MemoryCheckpointStore> {
    EmailChannel::new(config, store.clone(), CancellationToken::new())
}

async fn receive(
    channel: &mut EmailChannel<MemoryCheckpointStore>,
    max: usize,
) -> TestResult<Vec<Inbound>> {
    Ok(tokio::time::timeout(STEP, channel.receive(max)).await??)
}

fn uids(batch: &[Inbound]) -> Vec<u64> {
    batch.iter().map(|item| item.receipt.0).collect()
}

fn raw(item: &Inbound) -> Option<&[u8]> {
    match &item.payload {
        Payload::Email { raw, .. } => Some(raw),
        Payload::Rejected(_) => None,
    }
}

#[tokio::test]
async fn receive_ack_resume() -> TestResult {
    if !dovecot_available("receive_ack_resume") {
        return Ok(());
    }
    let dovecot = Dovecot::start().await?;
    let sent: Vec<Vec<u8>> = (1..=5).map(|n| message(n, "please help")).collect();
    for raw in &sent {
        dovecot.deliver("INBOX", raw).await?;
    }
    let store = MemoryCheckpointStore::new();
    let mut first = channel(config(&dovecot, AfterIngest::Seen), &store);

    let batch = receive(&mut first, 3).await?;
    assert_eq!(uids(&batch), [1, 2, 3]);
    for (item, expected) in batch.iter().zip(&sent) {
        assert_eq!(raw(item), Some(expected.as_slice()), "raw bytes differ");
        assert!(item.idempotency_keys[0].starts_with("email:alice@127.0.0.1:INBOX:"));
        assert_eq!(item.idempotency_keys.len(), 2);
    }
    assert!(
        dovecot.flags("INBOX").await?.iter().all(|(_, seen)| !seen),
        "receive set \\Seen"
    );

    first.ack(vec![Receipt(1), Receipt(2)]).await?;
    let flags = dovecot.flags("INBOX").await?;
    assert_eq!(
        flags,
        [(1, true), (2, true), (3, false), (4, false), (5, false)]
    );
    let checkpoint = store.get("email:support").ok_or("no checkpoint saved")?;
    assert!(checkpoint.ends_with(":2"), "checkpoint {checkpoint}");

    // Not a prefix of what is still in flight (3): refused, nothing marked.
    let err = first
        .ack(vec![Receipt(4)])
        .await
        .err()
        .ok_or("non-prefix ack accepted")?;
    assert!(matches!(err, ChannelError::Protocol { .. }), "{err}");

    // Receiving again without acking 3 returns it again, first.
    let again = receive(&mut first, 10).await?;
    assert_eq!(uids(&again), [3, 4, 5]);
    drop(first);

    // A new channel (restart) with the same store continues after the checkpoint.
    let mut second = channel(config(&dovecot, AfterIngest::Seen), &store);
    let batch = receive(&mut second, 10).await?;
    assert_eq!(uids(&batch), [3, 4, 5]);
    assert_eq!(raw(&batch[2]), Some(sent[4].as_slice()));
    second.ack(vec![Receipt(3), Receipt(4), Receipt(5)]).await?;
    assert!(dovecot.flags("INBOX").await?.iter().all(|(_, seen)| *seen));
    assert!(
        store
            .get("email:support")
            .is_some_and(|c| c.ends_with(":5"))
    );
    Ok(())
}

#[tokio::test]
async fn oversized_message_is_rejected_with_headers_only() -> TestResult {
    if !dovecot_available("oversized_message_is_rejected_with_headers_only") {
        return Ok(());
    }
    let dovecot = Dovecot::start().await?;
    dovecot.deliver("INBOX", &message(1, "small")).await?;
    dovecot
        .deliver("INBOX", &message(2, &"x".repeat(5000)))
        .await?;
    dovecot.deliver("INBOX", &message(3, "small")).await?;
    let mut config = config(&dovecot, AfterIngest::Seen);
    config.max_message_bytes = 1000;
    let store = MemoryCheckpointStore::new();
    let mut channel = channel(config, &store);

    let batch = receive(&mut channel, 10).await?;
    assert_eq!(uids(&batch), [1, 2, 3]);
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
        other => return Err(format!("expected a rejection, got {other:?}").into()),
    }
    assert_eq!(batch[1].idempotency_keys.len(), 1);
    // The rejected message is acked like any other once dead-lettered.
    channel
        .ack(vec![Receipt(1), Receipt(2), Receipt(3)])
        .await?;
    assert!(dovecot.flags("INBOX").await?.iter().all(|(_, seen)| *seen));
    Ok(())
}

#[tokio::test]
async fn move_to_and_delete_act_on_the_server() -> TestResult {
    if !dovecot_available("move_to_and_delete_act_on_the_server") {
        return Ok(());
    }
    let dovecot = Dovecot::start().await?;
    dovecot.create_folder("Done").await?;
    for n in 1..=4 {
        dovecot.deliver("INBOX", &message(n, "move me")).await?;
    }
    let move_config = config(&dovecot, AfterIngest::MoveTo("Done".into()));
    let report = check(&move_config).await?;
    assert!(report.capabilities.idle && report.capabilities.move_supported);
    assert_eq!(
        (report.messages, report.move_target.as_deref()),
        (4, Some("Done"))
    );

    let store = MemoryCheckpointStore::new();
    let mut mover = channel(move_config, &store);
    let batch = receive(&mut mover, 3).await?;
    assert_eq!(uids(&batch), [1, 2, 3]);
    mover.ack(vec![Receipt(1), Receipt(2), Receipt(3)]).await?;
    assert_eq!(dovecot.flags("INBOX").await?, [(4, false)]);
    assert_eq!(dovecot.flags("Done").await?.len(), 3);
    drop(mover);

    let mut deleter = channel(config(&dovecot, AfterIngest::Delete), &store);
    let batch = receive(&mut deleter, 10).await?;
    assert_eq!(uids(&batch), [4]);
    deleter.ack(vec![Receipt(4)]).await?;
    assert_eq!(dovecot.flags("INBOX").await?, []);

    let missing = config(&dovecot, AfterIngest::MoveTo("Nowhere".into()));
    let err = check(&missing)
        .await
        .err()
        .ok_or("check passed without the target folder")?;
    assert!(matches!(err, ChannelError::Mailbox { .. }), "{err}");
    Ok(())
}

#[tokio::test]
async fn idle_wakes_on_new_mail_and_shutdown_ends_the_wait() -> TestResult {
    if !dovecot_available("idle_wakes_on_new_mail_and_shutdown_ends_the_wait") {
        return Ok(());
    }
    let dovecot = Dovecot::start().await?;
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
    dovecot.deliver("INBOX", &message(1, "hello")).await?;
    let (mut channel, batch) = tokio::time::timeout(STEP, waiting).await??;
    assert_eq!(uids(&batch?), [1]);
    channel.ack(vec![Receipt(1)]).await?;

    let waiting = tokio::spawn(async move { channel.receive(10).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(2), waiting).await??;
    assert!(matches!(result, Err(ChannelError::Shutdown)), "{result:?}");
    Ok(())
}

#[tokio::test]
async fn polling_uidvalidity_reset_and_bad_password() -> TestResult {
    if !dovecot_available("polling_uidvalidity_reset_and_bad_password") {
        return Ok(());
    }
    let dovecot = Dovecot::start().await?;
    dovecot.deliver("INBOX", &message(1, "one")).await?;
    let store = MemoryCheckpointStore::new();
    // A checkpoint from another UIDVALIDITY must not hide UID 1.
    store.set("email:support", "1:999");
    let mut config = config(&dovecot, AfterIngest::Seen);
    config.idle = false;
    let mut poller = channel(config.clone(), &store);
    assert_eq!(uids(&receive(&mut poller, 10).await?), [1]);
    poller.ack(vec![Receipt(1)]).await?;

    let waiting = tokio::spawn(async move {
        let batch = poller.receive(10).await;
        (poller, batch)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    dovecot.deliver("INBOX", &message(2, "two")).await?;
    let (_poller, batch) = tokio::time::timeout(STEP, waiting).await??;
    assert_eq!(uids(&batch?), [2]);

    config.password = Secret::new("wrong-password-123");
    let err = channel(config, &store)
        .receive(1)
        .await
        .err()
        .ok_or("bad password accepted")?;
    assert!(matches!(err, ChannelError::Auth { .. }), "{err}");
    assert!(!err.to_string().contains("wrong-password-123"));
    Ok(())
}

/// Rough throughput of receive + ack over loopback (not a pass/fail test):
/// `cargo test -p intake-channels --release --test email_dovecot throughput -- --ignored --nocapture`
#[tokio::test]
#[ignore = "benchmark"]
async fn throughput() -> TestResult {
    if !dovecot_available("throughput") {
        return Ok(());
    }
    let dovecot = Dovecot::start().await?;
    let count = 20_000;
    dovecot.deliver("INBOX", &message(0, "first")).await?;
    let body = "Hello, my order has not arrived yet. ".repeat(60);
    dovecot.write_maildir((1..count).map(|n| message(n, &body)))?;
    let store = MemoryCheckpointStore::new();
    let mut config = config(&dovecot, AfterIngest::Seen);
    config.batch_size = 500;
    let mut channel = channel(config, &store);
    let started = std::time::Instant::now();
    let mut received = 0;
    let (mut in_receive, mut in_ack) = (Duration::ZERO, Duration::ZERO);
    while received < count {
        let step = std::time::Instant::now();
        let batch = receive(&mut channel, 500).await?;
        in_receive += step.elapsed();
        if received == 0 {
            eprintln!("first receive {:?}", step.elapsed());
        }
        received += batch.len();
        let step = std::time::Instant::now();
        channel
            .ack(batch.iter().map(|item| item.receipt).collect())
            .await?;
        in_ack += step.elapsed();
    }
    eprintln!("receive {in_receive:?}, ack {in_ack:?}");
    let elapsed = started.elapsed();
    eprintln!(
        "{received} messages in {elapsed:?}: {:.0} msgs/s",
        received as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

#[tokio::test]
async fn tls_against_a_plaintext_server_is_a_tls_error() -> TestResult {
    if !dovecot_available("tls_against_a_plaintext_server_is_a_tls_error") {
        return Ok(());
    }
    let dovecot = Dovecot::start().await?;
    for mode in [TlsMode::Implicit, TlsMode::Starttls] {
        let mut config = config(&dovecot, AfterIngest::Seen);
        config.tls = mode;
        let store = MemoryCheckpointStore::new();
        let result = tokio::time::timeout(STEP, channel(config, &store).receive(1)).await?;
        let err = result
            .err()
            .ok_or("tls against a plaintext server succeeded")?;
        assert!(matches!(err, ChannelError::Tls { .. }), "{mode:?}: {err}");
        assert!(!err.to_string().contains(PASSWORD));
    }
    Ok(())
}
