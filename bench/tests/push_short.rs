//! The push scenario's CI mode: `bench --push --short` with a few hundred requests must end
//! with exactly one entry per request for Intake's api channel and for the Python webhook peer.
//! Timing is never checked here (BENCHMARKS.md has the release figures).

use std::process::Command;

fn available(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn push_bench_is_complete_for_intake_and_the_peer() {
    let mut missing = Vec::new();
    if !available("redis-server", &["--version"]) {
        missing.push("redis-server");
    }
    if !available("python3", &["-c", "import redis, aiohttp"]) {
        missing.push("python3 with redis-py and aiohttp (scripts/install-peer-deps)");
    }
    if !missing.is_empty() {
        assert!(
            !intake_tests::is_ci(),
            "CI is set and the push bench's prerequisites are missing: {missing:?}"
        );
        eprintln!("!!! SKIPPING push bench: missing {missing:?} (see .ci/run)");
        return;
    }
    let intake = match intake_tests::setup::intake_binary() {
        Ok(path) => path,
        Err(e) => panic!("no intake binary: {e:#}"),
    };
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args([
            "--push",
            "--short",
            "--requests",
            "400",
            "--sink-cases",
            "2000",
        ])
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
        "bench --push --short failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for needle in [
        "| intake | 1 |",
        "| peer | 1 |",
        "Stream append alone",
        "bench: complete",
    ] {
        assert!(stdout.contains(needle), "no {needle:?} in:\n{stdout}");
    }
}
