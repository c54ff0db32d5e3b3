//! The `intake` command line: `config check` exit codes and messages, `check` against live and
//! dead servers, `blob get` handing out what the gateway stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use intake_tests::dovecot::Dovecot;
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{CASES, config, email_channel, intake_binary, write_config_toml};

#[test]
fn config_check_accepts_the_example_and_reports_every_error_with_exit_2() {
    let binary = intake_binary().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/intake.example.toml");
    let ok = Command::new(&binary)
        .args(["config", "check", example])
        .env("IMAP_PASSWORD", "x")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[redis]\nurl = \"http://x\"\n[[channels]]\ntype = \"email\"\nname = \"a\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"INTAKE_TEST_UNSET_VAR\"\n[[channels]]\ntype = \"email\"\nname = \"b\"\nhost = \"example.com\"\ntls = \"none\"\nusername = \"u\"\npassword_env = \"IMAP_PW_MISSING\"\n",
    )
    .unwrap();
    let out = Command::new(&binary)
        .args(["config", "check"])
        .arg(&bad)
        .env_remove("INTAKE_TEST_UNSET_VAR")
        .env_remove("IMAP_PW_MISSING")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for path in [
        "redis.url",
        "channels[0].password_env",
        "channels[1].password_env",
        "channels[1].tls",
    ] {
        assert!(stderr.contains(path), "missing {path} in:\n{stderr}");
    }
    assert!(stderr.contains("IMAP_PW_MISSING"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_each_part_without_ingesting() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    dovecot
        .deliver(dovecot.user(), "INBOX", b"Subject: x\r\n\r\nbody\r\n")
        .unwrap();
    let binary = intake_binary().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = email_channel(&dovecot, "good", "INBOX");
    let missing_box = email_channel(&dovecot, "nobox", "NoSuchFolder");
    let cfg = config(&redis, &dir.path().join("blobs"), vec![good, missing_box]);
    let path = write_config_toml(dir.path(), &cfg, 0).unwrap();

    let out = Command::new(&binary)
        .args(["check", "--config"])
        .arg(&path)
        .env("IMAP_PASSWORD", dovecot.password())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("redis") && stdout.contains(": ok"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("channel good") && l.contains("ok")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("channel nobox") && l.contains("FAILED")),
        "{stdout}"
    );

    let wrong = Command::new(&binary)
        .args(["check", "--config"])
        .arg(&path)
        .env("IMAP_PASSWORD", "wrong-password-123")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&wrong.stdout),
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert!(all.contains("authentication"), "{all}");
    assert!(
        !all.contains("wrong-password-123"),
        "the password leaked: {all}"
    );
    // Nothing was ingested or marked by the check.
    assert_eq!(redis.stream_len("intake:cases").await.unwrap(), 0);
    let flags = dovecot.flags("INBOX").await.unwrap();
    assert!(flags.values().all(|f| !f.iter().any(|f| f == "\\Seen")));
}

/// Even at trace level, neither a wrong nor a right password reaches the logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_never_reach_the_logs_at_trace_level() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    dovecot
        .deliver(dovecot.user(), "INBOX", b"Subject: x\r\n\r\nbody\r\n")
        .unwrap();
    let binary = intake_binary().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &redis,
        &dir.path().join("blobs"),
        vec![email_channel(&dovecot, "support", "INBOX")],
    );
    let path = write_config_toml(dir.path(), &cfg, 0).unwrap();

    for password in ["wrong-password-123", dovecot.password()] {
        let child = Command::new(&binary)
            .args(["run", "--config"])
            .arg(&path)
            .env("IMAP_PASSWORD", password)
            .env("RUST_LOG", "trace")
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let out = child.wait_with_output().unwrap();
        let logs = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(logs.contains("INFO"), "logging is on:\n{logs}");
        if password == dovecot.password() {
            assert!(logs.contains("DEBUG"), "debug events are logged:\n{logs}");
        }
        assert!(
            !logs.contains(password),
            "password leaked into logs:\n{logs}"
        );
        assert!(
            !logs.contains("body\r\n") && !logs.contains("Subject: x"),
            "message leaked"
        );
    }
    assert_eq!(redis.stream_len("intake:cases").await.unwrap(), 1);
}

/// A message with an attachment, in CRLF as IMAP serves it, so the raw blob is these bytes.
const WITH_ATTACHMENT: &str = "From: Customer <c@example.com>\r\nTo: support@example.com\r\n\
Subject: invoice\r\nMessage-ID: <blob-cli@example.com>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
see attached\r\n--b\r\nContent-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
AAECAwQFBgc=\r\n--b--\r\n";

/// What downstream does with a case: fetch its raw message and attachment by reference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_get_writes_what_a_case_refers_to_and_exits_1_when_absent() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    let raw = WITH_ATTACHMENT.as_bytes();
    dovecot.deliver(dovecot.user(), "INBOX", raw).unwrap();
    let binary = intake_binary().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let blobs = dir.path().join("blobs");
    let cfg = config(
        &redis,
        &blobs,
        vec![email_channel(&dovecot, "support", "INBOX")],
    );
    let path = write_config_toml(dir.path(), &cfg, 0).unwrap();
    let gateway = intake_gateway::Gateway::start(cfg).await.unwrap();
    intake_tests::wait::wait_until(
        std::time::Duration::from_secs(20),
        std::time::Duration::from_millis(100),
        || async { redis.stream_len(CASES).await.unwrap_or(0) == 1 },
    )
    .await
    .expect("the case lands");
    gateway.shutdown(std::time::Duration::from_secs(5)).await;
    let cases = redis.read_stream(CASES).await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&cases[0].1["case"]).unwrap();
    let raw_ref = doc["raw_ref"].as_str().unwrap();
    let attachment_ref = doc["attachments"][0]["ref"].as_str().unwrap();

    let blob_get = |args: &[&str]| {
        Command::new(&binary)
            .args(["blob", "get"])
            .args(args)
            // Reading a blob never reads a mailbox, so it needs no mailbox password.
            .env_remove("IMAP_PASSWORD")
            .output()
            .unwrap()
    };
    let config_arg = path.to_str().unwrap();
    let out = blob_get(&["--config", config_arg, raw_ref]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, raw, "the raw message, byte for byte");

    let out = blob_get(&["--dir", blobs.to_str().unwrap(), attachment_ref]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, [0u8, 1, 2, 3, 4, 5, 6, 7]);

    let absent = format!("sha256:{}", intake_normalizer::sha256_hex(b"never stored"));
    let out = blob_get(&["--config", config_arg, &absent]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not found") && stderr.contains(&absent),
        "{stderr}"
    );

    let out = blob_get(&["--config", config_arg, "sha256:not-a-digest"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed reference is a usage error"
    );
}
