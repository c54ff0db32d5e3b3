//! A throwaway Dovecot for the email channel's tests: its own config, sockets, log and Maildirs
//! in a temp dir, IMAP on a free loopback port, plaintext auth, no TLS. Deliberately small; the
//! end-to-end harness in `tests/` (crate intake-tests) is the full version.

#![allow(dead_code)]

use std::error::Error;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

pub type TestResult<T = ()> = Result<T, Box<dyn Error + Send + Sync>>;

pub const DOVECOT: &str = "/usr/sbin/dovecot";
pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct-horse-battery";

/// True when Dovecot is installed; otherwise says so loudly, and fails under CI.
pub fn dovecot_available(test: &str) -> bool {
    if Path::new(DOVECOT).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{DOVECOT} is missing and CI is set: install dovecot-imapd"
    );
    eprintln!("SKIPPED {test}: {DOVECOT} not found (install dovecot-imapd to run it)");
    false
}

/// A running Dovecot; killed and cleaned up on drop.
pub struct Dovecot {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Dovecot {
    pub async fn start() -> TestResult<Dovecot> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().to_path_buf();
        // Dovecot's unprivileged processes must traverse the dir and create Maildirs in mail/.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755))?;
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir(root.join(sub))?;
        }
        std::fs::set_permissions(root.join("mail"), std::fs::Permissions::from_mode(0o777))?;
        std::fs::write(root.join("users"), format!("{USER}:{{PLAIN}}{PASSWORD}\n"))?;
        let port = free_port()?;
        std::fs::write(root.join("dovecot.conf"), config(&root, port)?)?;
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let dovecot = Dovecot { port, child, dir };
        dovecot.wait_ready().await?;
        Ok(dovecot)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    async fn wait_ready(&self) -> TestResult {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", self.port)).await {
                let mut buf = [0u8; 64];
                if let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await
                    && buf[..n].starts_with(b"* OK")
                {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("dovecot did not come up; log:\n{}", self.log()).into())
    }

    /// An assertion-side IMAP session (plain async-imap), logged in.
    pub async fn client(&self) -> TestResult<async_imap::Session<TcpStream>> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await?;
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await?;
        let session = client.login(USER, PASSWORD).await.map_err(|(e, _)| e)?;
        Ok(session)
    }

    /// Delivers `raw` into `mailbox` with IMAP APPEND.
    pub async fn deliver(&self, mailbox: &str, raw: &[u8]) -> TestResult {
        let mut session = self.client().await?;
        session.append(mailbox, None, None, raw).await?;
        session.logout().await?;
        Ok(())
    }

    /// Writes messages straight into the user's Maildir `new/` (fast bulk delivery), named the way
    /// Dovecot's LDA/LMTP name them (`S=` size, `W=` CRLF size; `raw` must use CRLF). The Maildir
    /// must exist already (deliver one message by IMAP first).
    pub fn write_maildir(&self, messages: impl Iterator<Item = Vec<u8>>) -> TestResult {
        let new = self.dir.path().join("mail").join(USER).join("new");
        for (n, raw) in messages.enumerate() {
            let size = raw.len();
            std::fs::write(
                new.join(format!("{n}.test{}.localhost,S={size},W={size}", self.port)),
                raw,
            )?;
        }
        Ok(())
    }

    pub async fn create_folder(&self, name: &str) -> TestResult {
        let mut session = self.client().await?;
        session.create(name).await?;
        session.logout().await?;
        Ok(())
    }

    /// `(uid, seen)` of every message in `mailbox`, read without changing anything (EXAMINE).
    pub async fn flags(&self, mailbox: &str) -> TestResult<Vec<(u32, bool)>> {
        let mut session = self.client().await?;
        let selected = session.examine(mailbox).await?;
        let mut out = Vec::new();
        if selected.exists > 0 {
            let fetches: Vec<_> = session
                .uid_fetch("1:*", "(UID FLAGS)")
                .await?
                .try_collect()
                .await?;
            for fetch in fetches {
                let seen = fetch.flags().any(|f| f == async_imap::types::Flag::Seen);
                out.push((fetch.uid.ok_or("fetch without uid")?, seen));
            }
        }
        session.logout().await?;
        out.sort_unstable();
        Ok(out)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its imap processes; SIGKILL only as a fallback.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").arg("-TERM").arg(&pid).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> TestResult<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Users Dovecot's processes run as: Debian's `dovecot`/`dovenull` and mail as `nobody` when we
/// are root (Dovecot refuses uid 0 for mail), the current user for everything otherwise.
fn config(root: &Path, port: u16) -> TestResult<String> {
    let probe = root.join("run");
    let am_root = std::fs::metadata(&probe)?.uid() == 0;
    let (internal, login, mail_user) = if am_root {
        (
            "dovecot".to_string(),
            "dovenull".to_string(),
            "nobody".to_string(),
        )
    } else {
        let me = current_user()?;
        (me.clone(), me.clone(), me)
    };
    let root = root.display();
    Ok(format!(
        r#"base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
last_valid_uid = 0
first_valid_gid = 1
mail_location = maildir:{root}/mail/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user_group} home={root}/mail/%u
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"#,
        mail_user_group = primary_group(&mail_user)?,
    ))
}

fn current_user() -> TestResult<String> {
    let out = Command::new("id").arg("-un").output()?;
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

fn primary_group(user: &str) -> TestResult<String> {
    let out = Command::new("id").arg("-gn").arg(user).output()?;
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// A small RFC 5322 message, unique by `n`.
pub fn message(n: usize, body: &str) -> Vec<u8> {
    format!(
        "From: Customer {n} <c{n}@example.com>\r\nTo: support@example.com\r\nSubject: help {n}\r\n\
         Message-ID: <m{n}@example.com>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}
