//! Measuring a child process: CPU seconds and peak RSS from its own rusage.
//!
//! `getrusage(RUSAGE_CHILDREN)` sums over every reaped child and keeps the largest RSS of any,
//! so the bench (whose children include redis-server and Dovecot) cannot read one child's
//! figures from it. Instead each measured program runs under `bench exec-measured`, a copy of
//! this binary whose only child it is: that wrapper prints the child's pid, waits for it, and
//! prints its rusage. Signals (SIGTERM) go straight to the child's pid.

use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;

use anyhow::Context as _;
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout};
use tokio::time::Instant;

/// What the wrapper reports once the child has exited.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Exit code, or None when killed by a signal.
    pub code: Option<i32>,
    pub cpu_secs: f64,
    pub max_rss_kib: u64,
}

/// Wrapper side (`bench exec-measured`): spawn, report pid, wait, report usage.
pub fn exec_measured(stdout: &Path, stderr: &Path, program: &[String]) -> anyhow::Result<()> {
    let (name, args) = program.split_first().context("no program to run")?;
    let out = std::fs::File::create(stdout).with_context(|| format!("{}", stdout.display()))?;
    let err = std::fs::File::create(stderr).with_context(|| format!("{}", stderr.display()))?;
    let mut child = std::process::Command::new(name)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("spawn {name}"))?;
    let mut report = std::io::stdout().lock();
    writeln!(report, "{}", child.id())?;
    report.flush()?;
    let status = child.wait().context("wait for child")?;
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).context("getrusage")?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    let line = json!({
        "code": status.code(),
        "cpu_secs": secs(usage.user_time()) + secs(usage.system_time()),
        "max_rss_kib": usage.max_rss(),
    });
    writeln!(report, "{line}")?;
    report.flush()?;
    Ok(())
}

/// Orchestrator side: a program started under the wrapper.
#[derive(Debug)]
pub struct Measured {
    wrapper: Child,
    lines: Lines<BufReader<ChildStdout>>,
    pid: Pid,
    pub started: Instant,
}

impl Measured {
    /// Starts `program args` under `bench exec-measured` with `env` added, its stdout and stderr
    /// written to `stdout`/`stderr`.
    pub async fn spawn(
        program: &Path,
        args: &[String],
        env: &[(&str, &str)],
        stdout: &Path,
        stderr: &Path,
    ) -> anyhow::Result<Self> {
        let me = std::env::current_exe().context("locate bench binary")?;
        let mut command = tokio::process::Command::new(me);
        command
            .arg("exec-measured")
            .arg("--stdout")
            .arg(stdout)
            .arg("--stderr")
            .arg(stderr)
            .arg("--")
            .arg(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut wrapper = command.spawn().context("spawn bench exec-measured")?;
        let out = wrapper.stdout.take().context("wrapper stdout")?;
        let mut lines = BufReader::new(out).lines();
        let first = lines
            .next_line()
            .await?
            .context("wrapper ended before the pid")?;
        let pid: i32 = first.trim().parse().context("wrapper's pid line")?;
        Ok(Self {
            wrapper,
            lines,
            pid: Pid::from_raw(pid),
            started,
        })
    }

    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    pub fn terminate(&self) -> anyhow::Result<()> {
        kill(self.pid, Signal::SIGTERM).context("SIGTERM to measured child")
    }

    /// Waits for the child to exit and returns its usage and the wall time since spawn.
    pub async fn finish(mut self) -> anyhow::Result<(Usage, std::time::Duration)> {
        let line = self
            .lines
            .next_line()
            .await?
            .context("wrapper ended without a usage report")?;
        let elapsed = self.started.elapsed();
        let report: serde_json::Value = serde_json::from_str(&line).context("usage report")?;
        self.wrapper.wait().await.context("wait for wrapper")?;
        let usage = Usage {
            code: report["code"].as_i64().and_then(|c| i32::try_from(c).ok()),
            cpu_secs: report["cpu_secs"].as_f64().unwrap_or(f64::NAN),
            max_rss_kib: report["max_rss_kib"].as_u64().unwrap_or(0),
        };
        Ok((usage, elapsed))
    }
}
