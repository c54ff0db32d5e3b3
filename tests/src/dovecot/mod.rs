//! A real Dovecot (Debian's `dovecot-imapd` 2.3) on a free loopback port with its own config,
//! users and Maildirs in a temp dir.
//!
//! Messages get in two ways: [`Dovecot::deliver`] writes straight into the Maildir (fast, for
//! thousands of messages), [`Dovecot::append`] uses IMAP APPEND (so a client in IDLE is told).
//! Faults: [`Dovecot::kill`], [`Dovecot::restart`], [`Dovecot::reset_uidvalidity`].

mod config;
mod imap;
mod maildir;
mod tls;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use tempfile::TempDir;
use tokio::io::AsyncBufReadExt as _;
use tokio::time::Instant;

pub use imap::{ImapSession, flag_name};

use self::config::MailOwner;
use crate::net::free_port;
use crate::process::ServerProcess;
use crate::skip::find_binary;

/// The user [`Dovecot::start`] creates.
pub const DEFAULT_USER: &str = "alice";
/// Its password.
pub const DEFAULT_PASSWORD: &str = "secret";

const READY_TIMEOUT: Duration = Duration::from_secs(15);
const RESTART_RETRY: Duration = Duration::from_secs(10);

/// A running Dovecot, killed on drop (its temp dir, Maildirs included, removed after).
#[derive(Debug)]
pub struct Dovecot {
    // Declared first so the processes die before the temp dir is removed.
    process: Mutex<Option<ServerProcess>>,
    binary: PathBuf,
    dir: TempDir,
    port: u16,
    users: Vec<(String, String)>,
    owner: MailOwner,
    /// The implicit-TLS port when started with [`Dovecot::start_tls`].
    imaps_port: Option<u16>,
}

impl Dovecot {
    /// Starts Dovecot with one user, [`DEFAULT_USER`] / [`DEFAULT_PASSWORD`].
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_users(&[(DEFAULT_USER, DEFAULT_PASSWORD)]).await
    }

    /// Starts Dovecot with these `(user, password)` pairs; the first is the primary user that
    /// [`user`](Self::user), [`imap_session`](Self::imap_session) and [`append`](Self::append) use.
    pub async fn start_with_users(users: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start_on(users, None).await
    }

    /// Starts Dovecot with these users on `port` (a free port when None); the demo uses a fixed
    /// port so that the example config finds it.
    pub async fn start_on(users: &[(&str, &str)], port: Option<u16>) -> anyhow::Result<Self> {
        Self::start_with(users, port, false).await
    }

    /// Starts Dovecot with TLS: STARTTLS on [`port`](Self::port), implicit TLS on
    /// [`imaps_port`](Self::imaps_port), a certificate for `localhost` and `127.0.0.1` issued by
    /// a throwaway CA at [`ca_file`](Self::ca_file).
    pub async fn start_tls() -> anyhow::Result<Self> {
        Self::start_with(&[(DEFAULT_USER, DEFAULT_PASSWORD)], None, true).await
    }

    /// The implicit-TLS (IMAPS) port, when started with [`start_tls`](Self::start_tls).
    pub fn imaps_port(&self) -> Option<u16> {
        self.imaps_port
    }

    /// The PEM file of the CA that issued the server certificate (TLS instances only).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("tls").join("ca.pem")
    }

    async fn start_with(
        users: &[(&str, &str)],
        port: Option<u16>,
        tls: bool,
    ) -> anyhow::Result<Self> {
        let binary = find_binary("dovecot", "INTAKE_DOVECOT")?;
        anyhow::ensure!(!users.is_empty(), "Dovecot needs at least one user");
        let users: Vec<(String, String)> = users
            .iter()
            .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
            .collect();
        let owner = MailOwner::detect()?;
        let mut last_error = None;
        // A free port can be taken between our probe and Dovecot's bind: retry on a new one.
        for _ in 0..3 {
            let dovecot = Self {
                process: Mutex::new(None),
                binary: binary.clone(),
                dir: tempfile::Builder::new()
                    .prefix("intake-dovecot-")
                    .tempdir()
                    .context("create dovecot temp dir")?,
                port: match port {
                    Some(port) => port,
                    None => free_port()?,
                },
                users: users.clone(),
                owner: owner.clone(),
                imaps_port: if tls { Some(free_port()?) } else { None },
            };
            if tls {
                tls::generate(&dovecot.dir.path().join("tls"))?;
            }
            dovecot.write_files()?;
            match dovecot.launch(Duration::ZERO).await {
                Ok(()) => return Ok(dovecot),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("dovecot did not start")))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The primary user's name.
    pub fn user(&self) -> &str {
        self.users
            .first()
            .map_or(DEFAULT_USER, |(user, _)| user.as_str())
    }

    /// The primary user's password.
    pub fn password(&self) -> &str {
        self.users
            .first()
            .map_or(DEFAULT_PASSWORD, |(_, password)| password.as_str())
    }

    /// All `(user, password)` pairs.
    pub fn users(&self) -> &[(String, String)] {
        &self.users
    }

    /// The instance's temp dir (config, log, `mail/<user>` Maildirs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Dovecot's log file; worth printing when a test fails.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("dovecot.log")
    }

    /// The log so far (empty if unreadable).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    /// SIGKILL to the master and every process it forked (login, auth, imap), like a crash.
    pub fn kill(&self) {
        if let Some(mut process) = self.lock().take() {
            process.kill();
        }
    }

    /// Kills Dovecot if running and starts it again on the same port with the same Maildirs.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.kill();
        self.launch(RESTART_RETRY).await
    }

    fn lock(&self) -> MutexGuard<'_, Option<ServerProcess>> {
        // A panic elsewhere while holding the lock leaves the Option intact; keep using it.
        self.process.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes config and users, and creates each user's Maildir owned by the mail uid so that
    /// `deliver` works before the user ever logs in.
    fn write_files(&self) -> anyhow::Result<()> {
        let root = self.dir.path();
        // The mail processes run as an unprivileged uid and must traverse the temp dir.
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("chmod {}", root.display()))?;
        std::fs::write(
            self.config_path(),
            config::render_config(root, self.port, &self.owner, self.imaps_port),
        )
        .context("write dovecot.conf")?;
        std::fs::write(
            root.join("users"),
            config::render_users(root, &self.users, &self.owner)?,
        )
        .context("write dovecot users file")?;
        self.create_owned_dir(&root.join("mail"))?;
        for (user, _) in &self.users {
            self.create_maildir(&config::user_mail_dir(root, user))?;
        }
        Ok(())
    }

    /// Spawns `dovecot -F` until it sends an IMAP greeting; respawns for up to `retry_for` if it
    /// exits (e.g. the port is still held after a kill).
    async fn launch(&self, retry_for: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + retry_for;
        loop {
            let mut command = Command::new(&self.binary);
            command.arg("-F").arg("-c").arg(self.config_path());
            let mut process =
                ServerProcess::spawn(command, &self.dir.path().join("dovecot.stdout"))?;
            match self.await_greeting(&mut process).await {
                Ok(()) => {
                    *self.lock() = Some(process);
                    return Ok(());
                }
                Err(error) if Instant::now() >= deadline => {
                    process.kill();
                    let stdout = std::fs::read_to_string(self.dir.path().join("dovecot.stdout"))
                        .unwrap_or_default();
                    return Err(error.context(format!(
                        "dovecot on port {}; output:\n{stdout}\nlog:\n{}",
                        self.port,
                        self.log()
                    )));
                }
                Err(_) => {
                    process.kill();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    async fn await_greeting(&self, process: &mut ServerProcess) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = process.exited()? {
                anyhow::bail!("dovecot exited during startup: {status}");
            }
            let greeting = tokio::time::timeout(Duration::from_secs(1), self.read_greeting()).await;
            if let Ok(Ok(line)) = greeting
                && line.starts_with("* OK")
            {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "no IMAP greeting within {READY_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn read_greeting(&self) -> std::io::Result<String> {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
        let mut line = String::new();
        tokio::io::BufReader::new(stream)
            .read_line(&mut line)
            .await?;
        Ok(line)
    }
}
