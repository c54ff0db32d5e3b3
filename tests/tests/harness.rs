//! Proves the test harness itself: real redis-server and Dovecot start, take data, and survive
//! the faults other tests inject (kill, restart, pause, UIDVALIDITY change).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use intake_tests::{Dovecot, RedisServer, corpus_messages, require_server, wait_until};
use redis::AsyncCommands as _;

fn message(n: usize) -> Vec<u8> {
    format!(
        "From: Sender <sender@example.com>\r\nTo: alice@example.com\r\nSubject: harness {n}\r\n\
         Message-ID: <harness-{n}@example.com>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nbody {n}\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn redis_starts_and_accepts_xadd() {
    let redis = require_server!(RedisServer::start().await);
    let mut conn = redis.connection().await.unwrap();
    for i in 0..2500 {
        let _: String = conn.xadd("s", "*", &[("n", i.to_string())]).await.unwrap();
    }
    assert_eq!(redis.stream_len("s").await.unwrap(), 2500);
    let entries = redis.read_stream("s").await.unwrap();
    assert_eq!(
        entries.len(),
        2500,
        "paged XRANGE must return every entry exactly once"
    );
    for (i, (_, fields)) in entries.iter().enumerate() {
        assert_eq!(fields["n"], i.to_string());
    }
    assert_eq!(redis.stream_len("missing").await.unwrap(), 0);
    assert!(redis.read_stream("missing").await.unwrap().is_empty());
}

#[tokio::test]
async fn redis_kill_and_restart_on_same_port() {
    let redis = require_server!(RedisServer::start().await);
    let port = redis.port();
    let mut conn = redis.connection().await.unwrap();
    let _: () = conn.set("k", "v").await.unwrap();

    redis.kill();
    assert!(
        redis.connection().await.is_err(),
        "connect must fail while killed"
    );
    redis.restart().await.unwrap();
    assert_eq!(redis.port(), port);
    let mut conn = redis.connection().await.unwrap();
    let value: Option<String> = conn.get("k").await.unwrap();
    assert_eq!(value, None, "in-memory server loses data on kill");
}

#[tokio::test]
async fn persistent_redis_keeps_data_across_kill() {
    let redis = require_server!(RedisServer::start_persistent().await);
    let mut conn = redis.connection().await.unwrap();
    let _: String = conn.xadd("s", "*", &[("f", "v")]).await.unwrap();
    redis.kill();
    redis.restart().await.unwrap();
    assert_eq!(redis.stream_len("s").await.unwrap(), 1);
}

#[tokio::test]
async fn redis_pause_and_resume() {
    let redis = require_server!(RedisServer::start().await);
    let mut conn = redis.connection().await.unwrap();
    redis.pause().unwrap();
    let ping_cmd = redis::cmd("PING");
    let ping = tokio::time::timeout(
        Duration::from_millis(300),
        ping_cmd.query_async::<String>(&mut conn),
    );
    assert!(ping.await.is_err(), "a paused server must not answer");
    redis.resume().unwrap();
    let pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn dovecot_delivers_into_maildir() {
    let dovecot = require_server!(Dovecot::start().await);
    for n in 0..3 {
        dovecot
            .deliver(dovecot.user(), "INBOX", &message(n))
            .unwrap();
    }
    dovecot
        .deliver(dovecot.user(), "Archive/2024", &message(3))
        .unwrap();
    dovecot
        .deliver_with_flags(dovecot.user(), "Archive/2024", &message(4), "S")
        .unwrap();

    assert_eq!(dovecot.message_count("INBOX").await.unwrap(), 3);
    assert_eq!(dovecot.message_count("Archive/2024").await.unwrap(), 2);
    let flags = dovecot.flags("Archive/2024").await.unwrap();
    assert_eq!(
        flags
            .values()
            .filter(|f| f.iter().any(|f| f == "\\Seen"))
            .count(),
        1
    );

    let mut session = dovecot.imap_session().await.unwrap();
    let names: Vec<_> = {
        use futures::TryStreamExt as _;
        let list = session.list(None, Some("*")).await.unwrap();
        list.map_ok(|n| n.name().to_owned())
            .try_collect()
            .await
            .unwrap()
    };
    assert!(
        names.contains(&"Archive/2024".to_owned()),
        "LIST shows the delivered folder: {names:?}"
    );
    let inbox = session.select("INBOX").await.unwrap();
    assert_eq!(inbox.exists, 3);
    session.logout().await.unwrap();

    // A folder created on disk after a session listed must still show up.
    let mut session = dovecot.imap_session().await.unwrap();
    session.select("INBOX").await.unwrap();
    dovecot
        .deliver(dovecot.user(), "Later", &message(5))
        .unwrap();
    assert_eq!(session.examine("Later").await.unwrap().exists, 1);
    session.logout().await.unwrap();
}

#[tokio::test]
async fn dovecot_append_and_users() {
    let dovecot = require_server!(
        Dovecot::start_with_users(&[("alice", "secret"), ("bob", "hunter2")]).await
    );
    dovecot.create_mailbox("Support").await.unwrap();
    dovecot.append("Support", &message(1)).await.unwrap();
    dovecot.append("INBOX", &message(2)).await.unwrap();
    assert_eq!(dovecot.message_count("Support").await.unwrap(), 1);
    assert_eq!(dovecot.message_count("INBOX").await.unwrap(), 1);

    dovecot.deliver("bob", "INBOX", &message(3)).unwrap();
    let mut bob = dovecot.imap_session_as("bob").await.unwrap();
    assert_eq!(bob.select("INBOX").await.unwrap().exists, 1);
    bob.logout().await.unwrap();
}

#[tokio::test]
async fn dovecot_uidvalidity_change_keeps_messages() {
    let dovecot = require_server!(Dovecot::start().await);
    for n in 0..3 {
        dovecot
            .deliver(dovecot.user(), "INBOX", &message(n))
            .unwrap();
    }
    let mut session = dovecot.imap_session().await.unwrap();
    let before = session.select("INBOX").await.unwrap();
    assert_eq!(before.exists, 3);

    let new = dovecot.reset_uidvalidity("INBOX").await.unwrap();

    let mut session2 = dovecot.imap_session().await.unwrap();
    let after = session2.select("INBOX").await.unwrap();
    assert_ne!(after.uid_validity, before.uid_validity);
    assert_eq!(after.uid_validity, Some(new));
    assert_eq!(after.exists, 3, "messages survive the UIDVALIDITY change");
    session2.logout().await.unwrap();
    // The session that had INBOX selected is told to go away (`* BYE ... inconsistent`), as
    // after a real index rebuild.
    // Dovecot notices at the next command, answers it, then sends BYE and closes.
    let _ = session.noop().await;
    assert!(
        session.select("INBOX").await.is_err(),
        "old session must be closed"
    );
}

#[tokio::test]
async fn dovecot_kill_and_restart_on_same_port() {
    let dovecot = require_server!(Dovecot::start().await);
    let port = dovecot.port();
    dovecot.append("INBOX", &message(1)).await.unwrap();
    let validity = dovecot.uidvalidity("INBOX").await.unwrap();
    dovecot.kill();
    assert!(
        dovecot.imap_session().await.is_err(),
        "login must fail while killed"
    );
    dovecot.restart().await.unwrap();
    assert_eq!(dovecot.port(), port);
    assert_eq!(dovecot.message_count("INBOX").await.unwrap(), 1);
    assert_eq!(
        dovecot.uidvalidity("INBOX").await.unwrap(),
        validity,
        "a restart alone keeps UIDVALIDITY"
    );
}

#[tokio::test]
async fn idle_client_sees_append() {
    let dovecot = require_server!(Dovecot::start().await);
    let mut session = dovecot.imap_session().await.unwrap();
    session.select("INBOX").await.unwrap();
    let mut idle = session.idle();
    idle.init().await.unwrap();
    let (wait, _stop) = idle.wait_with_timeout(Duration::from_secs(10));
    dovecot.append("INBOX", &message(1)).await.unwrap();
    let response = wait.await.unwrap();
    assert!(
        matches!(
            response,
            async_imap::extensions::idle::IdleResponse::NewData(_)
        ),
        "IDLE must report the APPEND, got {response:?}"
    );
    let mut session = idle.done().await.unwrap();
    session.logout().await.unwrap();
}

#[tokio::test]
async fn dovecot_takes_the_whole_corpus() {
    let dovecot = require_server!(Dovecot::start().await);
    let messages = corpus_messages().unwrap();
    for path in &messages {
        dovecot
            .deliver(dovecot.user(), "INBOX", &std::fs::read(path).unwrap())
            .unwrap();
    }
    let count = dovecot.message_count("INBOX").await.unwrap();
    assert_eq!(count as usize, messages.len());
}

#[tokio::test]
async fn idle_client_sees_maildir_delivery() {
    let dovecot = require_server!(Dovecot::start().await);
    let mut session = dovecot.imap_session().await.unwrap();
    session.select("INBOX").await.unwrap();
    let mut idle = session.idle();
    idle.init().await.unwrap();
    let (wait, _stop) = idle.wait_with_timeout(Duration::from_secs(10));
    dovecot
        .deliver(dovecot.user(), "INBOX", &message(1))
        .unwrap();
    let response = wait.await.unwrap();
    assert!(
        matches!(
            response,
            async_imap::extensions::idle::IdleResponse::NewData(_)
        ),
        "IDLE must report the delivery, got {response:?}"
    );
    idle.done().await.unwrap().logout().await.unwrap();
}

#[tokio::test]
async fn wait_until_polls_and_times_out() {
    let start = std::time::Instant::now();
    let ok = wait_until(
        Duration::from_secs(2),
        Duration::from_millis(10),
        || async { start.elapsed() > Duration::from_millis(50) },
    );
    ok.await.unwrap();
    let err = wait_until(
        Duration::from_millis(50),
        Duration::from_millis(10),
        || async { false },
    )
    .await;
    assert!(err.is_err());
}

#[test]
fn corpus_is_found() {
    let messages = corpus_messages().unwrap();
    assert!(
        messages.len() >= 500,
        "expected the 512-message corpus, found {}",
        messages.len()
    );
    assert!(messages.windows(2).all(|w| w[0] < w[1]));
}
