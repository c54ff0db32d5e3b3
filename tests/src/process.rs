//! A server child process started in its own process group, so that signals reach every process
//! it forks (Dovecot's master forks auth, login and imap processes that hold its listening
//! sockets; a kill that misses them would keep the port busy for a restart).

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use anyhow::Context as _;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    group: Pid,
    /// Set once killed and reaped, so a later kill cannot signal a group id the OS has reused.
    reaped: bool,
}

impl ServerProcess {
    /// Spawns `command` as the leader of a new process group, with stdout and stderr appended to
    /// `output` (startup errors land there before the server opens its own log).
    pub(crate) fn spawn(mut command: Command, output: &Path) -> anyhow::Result<Self> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(output)
            .with_context(|| format!("open {}", output.display()))?;
        let err = out.try_clone().context("clone output file handle")?;
        command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = command
            .spawn()
            .with_context(|| format!("spawn {command:?}"))?;
        let pid = i32::try_from(child.id()).context("child pid out of range")?;
        Ok(Self {
            child,
            group: Pid::from_raw(pid),
            reaped: false,
        })
    }

    /// Sends `signal` to the whole process group.
    pub(crate) fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        anyhow::ensure!(!self.reaped, "server process already killed");
        killpg(self.group, signal)
            .with_context(|| format!("send {signal} to process group {}", self.group))
    }

    /// `Some(status)` once the group leader has exited.
    pub(crate) fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        self.child.try_wait().context("poll server process")
    }

    /// SIGKILL to the whole group, then reap the leader. Idempotent; errors are ignored because
    /// the only failure (ESRCH) means the processes are already gone.
    pub(crate) fn kill(&mut self) {
        if self.reaped {
            return;
        }
        let _ = killpg(self.group, Signal::SIGKILL);
        let _ = self.child.wait();
        self.reaped = true;
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
