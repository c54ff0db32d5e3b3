//! What the `intake` binary prints: `tail --json` entries whole (documents embedded as JSON),
//! `tail` without a mailbox password, and log colour only on a terminal without `NO_COLOR`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::process::{Command, Stdio};

use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{CASES, DEAD, intake_binary};

fn config(redis_url: &str) -> String {
    format!(
        "[redis]\nurl = \"{redis_url}\"\n\n[[channels]]\ntype = \"email\"\nname = \"support\"\n\
         host = \"127.0.0.1\"\nport = 1\ntls = \"none\"\nusername = \"support\"\n\
         password_env = \"INTAKE_TEST_UNSET_PW\"\n"
    )
}

/// `tail --json` prints each entry as one JSON line with every field, the documents as JSON;
/// it runs without the mailbox's password, which it never uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_json_prints_whole_entries() {
    let redis = require_server!(RedisServer::start().await);
    let mut conn = redis.connection().await.unwrap();
    let case = serde_json::json!({
        "schema_version": 1,
        "subject": "order #1 \"late\"",
        "attachments": [{ "filename": "a.pdf", "size": 3 }],
    });
    let dead = serde_json::json!({ "reason": "unparseable", "raw_ref": "sha256:00" });
    let case_id: String = redis::cmd("XADD")
        .arg(CASES)
        .arg("*")
        .arg(&[
            ("v", "1"),
            ("event", "message.received"),
            ("channel", "support"),
            ("idempotency_key", "email:k:1"),
            ("case_id", "c-1"),
            ("case", &case.to_string()),
        ])
        .query_async(&mut conn)
        .await
        .unwrap();
    let dead_id: String = redis::cmd("XADD")
        .arg(DEAD)
        .arg("*")
        .arg(&[
            ("v", "1"),
            ("channel", "support"),
            ("dead_letter", &dead.to_string()),
        ])
        .query_async(&mut conn)
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intake.toml");
    std::fs::write(&path, config(&redis.url())).unwrap();
    let out = Command::new(intake_binary().unwrap())
        .args(["tail", "--json", "--duration", "1s", "--config"])
        .arg(&path)
        .env_remove("INTAKE_TEST_UNSET_PW")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let first = &lines[0];
    assert_eq!(first["stream"], CASES);
    assert_eq!(first["id"], case_id.as_str());
    assert_eq!(first["fields"]["case"], case, "the document, as JSON");
    assert_eq!(first["fields"]["v"], "1");
    assert_eq!(first["fields"]["event"], "message.received");
    assert_eq!(first["fields"]["idempotency_key"], "email:k:1");
    assert_eq!(first["fields"]["case_id"], "c-1");
    assert_eq!(first["fields"].as_object().unwrap().len(), 6);
    let second = &lines[1];
    assert_eq!(second["stream"], DEAD);
    assert_eq!(second["id"], dead_id.as_str());
    assert_eq!(second["fields"]["dead_letter"], dead);

    // The summary lines remain the default.
    let out = Command::new(intake_binary().unwrap())
        .args(["tail", "--duration", "1s", "--config"])
        .arg(&path)
        .env_remove("INTAKE_TEST_UNSET_PW")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "{CASES} {case_id} message.received channel=support"
        )),
        "{stdout}"
    );
}

/// Runs a command that logs a debug line (a secret it does not use is unset) with stderr on
/// a pseudo-terminal, and returns what the terminal received.
fn stderr_on_a_terminal(no_color: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intake.toml");
    std::fs::write(&path, config("redis://127.0.0.1:1")).unwrap();
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut command = Command::new(intake_binary().unwrap());
    command
        .args(["blob", "get", "--config"])
        .arg(&path)
        .arg(format!("sha256:{}", intake_normalizer::sha256_hex(b"x")))
        .env("RUST_LOG", "debug")
        .env_remove("INTAKE_TEST_UNSET_PW")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::from(pty.slave));
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let mut child = command.spawn().unwrap();
    // The parent's copy of the slave side went into `command`; drop it so the master reads
    // end-of-file (EIO on Linux) once the child exits.
    drop(command);
    child.wait().unwrap();
    let mut master = std::fs::File::from(pty.master);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn log_colour_only_on_a_terminal_and_never_with_no_color() {
    let coloured = stderr_on_a_terminal(None);
    assert!(coloured.contains("secret not set"), "{coloured:?}");
    assert!(
        coloured.contains("\u{1b}["),
        "a terminal gets colour: {coloured:?}"
    );

    let plain = stderr_on_a_terminal(Some("1"));
    assert!(plain.contains("secret not set"), "{plain:?}");
    assert!(
        !plain.contains('\u{1b}'),
        "NO_COLOR is respected: {plain:?}"
    );

    let empty = stderr_on_a_terminal(Some(""));
    assert!(
        empty.contains('\u{1b}'),
        "an empty NO_COLOR counts as unset: {empty:?}"
    );

    // Not a terminal: plain text.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intake.toml");
    std::fs::write(&path, config("redis://127.0.0.1:1")).unwrap();
    let out = Command::new(intake_binary().unwrap())
        .args(["blob", "get", "--config"])
        .arg(&path)
        .arg(format!("sha256:{}", intake_normalizer::sha256_hex(b"x")))
        .env("RUST_LOG", "debug")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let piped = String::from_utf8_lossy(&out.stderr);
    assert!(piped.contains("secret not set"), "{piped}");
    assert!(
        !piped.contains('\u{1b}'),
        "a pipe gets no colour: {piped:?}"
    );
}
