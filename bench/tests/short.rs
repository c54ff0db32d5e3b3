//! The benchmark's CI mode as part of the test suite: `bench --short` (1,000 messages per
//! mailbox and 1,000 Telegram updates, one Intake run and one peer run each) must complete
//! with exactly 1,000 entries and distinct idempotency keys per run. Timing is never checked. Runs the test profile's `bench`
//! and `intake` binaries, so CI needs no extra release build.

use std::process::Command;

fn available(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What the bench needs beyond the workspace: the servers and the peer's redis-py.
fn missing_prerequisites() -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !available("redis-server", &["--version"]) {
        missing.push("redis-server");
    }
    if !available("/usr/sbin/dovecot", &["--version"]) && !available("dovecot", &["--version"]) {
        missing.push("dovecot");
    }
    if !available("python3", &["-c", "import redis"]) {
        missing.push("python3 with redis-py (scripts/install-peer-deps)");
    }
    missing
}

#[test]
fn short_bench_is_complete_for_intake_and_the_peer() {
    let missing = missing_prerequisites();
    if !missing.is_empty() {
        assert!(
            !intake_tests::is_ci(),
            "CI is set and the bench's prerequisites are missing: {missing:?}"
        );
        eprintln!("!!! SKIPPING short bench: missing {missing:?} (see .ci/run)");
        return;
    }
    let intake = match intake_tests::setup::intake_binary() {
        Ok(path) => path,
        Err(e) => panic!("no intake binary: {e:#}"),
    };
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .arg("--short")
        .arg("--intake")
        .arg(&intake)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) => panic!("run bench: {e}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench --short failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for needle in [
        "email/full | 1 | intake | 1000",
        "email/full | 1 | peer | 1000",
        "email/small | 1 | intake | 1000",
        "email/small | 1 | peer | 1000",
        "telegram/text | 1 | intake | 1000",
        "telegram/text | 1 | peer | 1000",
        "bench: complete",
    ] {
        assert!(stdout.contains(needle), "no {needle:?} in:\n{stdout}");
    }
}
