//! The `intake` binary as a child process, SIGKILLed at random points mid-ingest and restarted:
//! still exactly one entry per message. Ends with a SIGTERM that must exit 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use intake_config::AfterIngest;
use intake_tests::dovecot::Dovecot;
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{config, email_channel, intake_binary, write_config_toml};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rand::{Rng, SeedableRng};

/// Kills the child on drop, so a failing assertion never leaves a gateway running.
struct Gateway(Option<Child>);

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(binary: &std::path::Path, config_path: &std::path::Path, password: &str) -> Gateway {
    let child = Command::new(binary)
        .args(["run", "--config"])
        .arg(config_path)
        .env("IMAP_PASSWORD", password)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Gateway(Some(child))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_keeps_exactly_once() {
    let redis = require_server!(RedisServer::start().await);
    let dovecot = require_server!(Dovecot::start().await);
    let binary = intake_binary().unwrap();
    let corpus_len = common::load_corpus(&dovecot);
    dovecot.create_mailbox("Processed").await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut channel = email_channel(&dovecot, "support", "INBOX");
    channel.batch_size = 20;
    channel.after_ingest = AfterIngest::MoveTo("Processed".into());
    let cfg = config(&redis, &work.path().join("blobs"), vec![channel]);
    let http_port = intake_tests::net::free_port().unwrap();
    let config_path = write_config_toml(work.path(), &cfg, http_port).unwrap();

    let seed: u64 = rand::rng().random();
    eprintln!("crash test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let expected = corpus_len as u64;
    for round in 0..5 {
        let before = common::total(&redis).await;
        let child = spawn(&binary, &config_path, dovecot.password());
        // Kill somewhere between "just connected" and "well into a batch".
        let progress = rng.random_range(1..60);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while common::total(&redis).await < (before + progress).min(expected)
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..50))).await;
        drop(child); // SIGKILL
        let after = common::total(&redis).await;
        eprintln!("round {round}: killed at {after} entries (was {before})");
        assert!(after <= expected);
    }

    let mut gateway = spawn(&binary, &config_path, dovecot.password());
    common::wait_for_total(&redis, expected, Duration::from_secs(180)).await;
    common::assert_exactly_once(&redis, corpus_len).await;
    common::wait_inbox_empty(&dovecot).await;

    let pid = Pid::from_raw(gateway.0.as_ref().unwrap().id() as i32);
    kill(pid, Signal::SIGTERM).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = gateway.0.as_mut().unwrap().try_wait().unwrap() {
            gateway.0 = None;
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit within 20 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "SIGTERM must exit 0, got {status}");
}
