//! IMAP-side helpers: logged-in sessions for assertions, APPEND, CREATE, and the UIDVALIDITY
//! fault (through `doveadm`, the supported way to change it in Dovecot 2.3).

use std::collections::BTreeMap;

use anyhow::Context as _;
use async_imap::types::Flag;
use futures::TryStreamExt as _;
use tokio::net::TcpStream;

use super::Dovecot;
use crate::skip::find_binary;

/// A logged-in async-imap session over plain TCP.
pub type ImapSession = async_imap::Session<TcpStream>;

impl Dovecot {
    /// A session logged in as the primary user.
    pub async fn imap_session(&self) -> anyhow::Result<ImapSession> {
        self.imap_session_as(self.user()).await
    }

    /// A session logged in as `user` (one of the configured users).
    pub async fn imap_session_as(&self, user: &str) -> anyhow::Result<ImapSession> {
        let password = self
            .users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.clone())
            .with_context(|| format!("no test user {user:?}"))?;
        let stream = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .with_context(|| format!("connect to dovecot on port {}", self.port))?;
        let mut client = async_imap::Client::new(stream);
        // The greeting must be consumed before the first command.
        client
            .read_response()
            .await
            .context("read IMAP greeting")?
            .context("connection closed before IMAP greeting")?;
        client
            .login(user, password)
            .await
            .map_err(|(e, _)| e)
            .with_context(|| format!("LOGIN {user}"))
    }

    /// IMAP APPEND of `raw` to the primary user's `mailbox` (no flags): the server notices at
    /// once, so clients in IDLE on that mailbox get an EXISTS.
    pub async fn append(&self, mailbox: &str, raw: &[u8]) -> anyhow::Result<()> {
        let mut session = self.imap_session().await?;
        session
            .append(mailbox, None, None, raw)
            .await
            .with_context(|| format!("APPEND to {mailbox}"))?;
        logout(session).await
    }

    /// IMAP CREATE for the primary user.
    pub async fn create_mailbox(&self, name: &str) -> anyhow::Result<()> {
        let mut session = self.imap_session().await?;
        session
            .create(name)
            .await
            .with_context(|| format!("CREATE {name}"))?;
        logout(session).await
    }

    /// EXISTS of the primary user's `mailbox`, via EXAMINE so \Recent and flags stay untouched.
    pub async fn message_count(&self, mailbox: &str) -> anyhow::Result<u32> {
        let mut session = self.imap_session().await?;
        let exists = session
            .examine(mailbox)
            .await
            .with_context(|| format!("EXAMINE {mailbox}"))?
            .exists;
        logout(session).await?;
        Ok(exists)
    }

    /// UIDVALIDITY of the primary user's `mailbox`, via EXAMINE.
    pub async fn uidvalidity(&self, mailbox: &str) -> anyhow::Result<u32> {
        let mut session = self.imap_session().await?;
        let selected = session
            .examine(mailbox)
            .await
            .with_context(|| format!("EXAMINE {mailbox}"))?;
        logout(session).await?;
        selected
            .uid_validity
            .with_context(|| format!("no UIDVALIDITY for {mailbox}"))
    }

    /// Flags of every message in the primary user's `mailbox`, by UID, as IMAP spells them
    /// (`\Seen`, `\Flagged`, keywords as-is; `\Recent` left out since it depends on who looked
    /// first). Read-only (EXAMINE).
    pub async fn flags(&self, mailbox: &str) -> anyhow::Result<BTreeMap<u32, Vec<String>>> {
        let mut session = self.imap_session().await?;
        session
            .examine(mailbox)
            .await
            .with_context(|| format!("EXAMINE {mailbox}"))?;
        let fetches: Vec<_> = session
            .uid_fetch("1:*", "(UID FLAGS)")
            .await
            .context("UID FETCH 1:* (FLAGS)")?
            .try_collect()
            .await
            .context("read UID FETCH responses")?;
        let mut by_uid = BTreeMap::new();
        for fetch in &fetches {
            let uid = fetch.uid.context("FETCH response without UID")?;
            let flags = fetch
                .flags()
                .filter(|f| *f != Flag::Recent)
                .map(|f| flag_name(&f))
                .collect();
            by_uid.insert(uid, flags);
        }
        logout(session).await?;
        Ok(by_uid)
    }

    /// Gives the primary user's `mailbox` a new UIDVALIDITY (old + 1) with `doveadm mailbox
    /// update`, keeping its messages, and returns the new value. Dovecot ends sessions that have
    /// the mailbox selected with `* BYE ... inconsistent`, as a server that rebuilt its index
    /// would; clients must reconnect and see the new UIDVALIDITY.
    pub async fn reset_uidvalidity(&self, mailbox: &str) -> anyhow::Result<u32> {
        let old = self.doveadm_uidvalidity(mailbox).await?;
        let new = old.checked_add(1).unwrap_or(1);
        let new_arg = new.to_string();
        self.doveadm(&[
            "mailbox",
            "update",
            "-u",
            self.user(),
            "--uid-validity",
            &new_arg,
            mailbox,
        ])
        .await?;
        let now = self.doveadm_uidvalidity(mailbox).await?;
        anyhow::ensure!(
            now == new,
            "UIDVALIDITY of {mailbox} is {now} after setting {new}"
        );
        Ok(new)
    }

    async fn doveadm_uidvalidity(&self, mailbox: &str) -> anyhow::Result<u32> {
        let out = self
            .doveadm(&[
                "-f",
                "flow",
                "mailbox",
                "status",
                "-u",
                self.user(),
                "uidvalidity",
                mailbox,
            ])
            .await?;
        // Flow format: `<mailbox> uidvalidity=<n>`.
        out.split_whitespace()
            .find_map(|field| field.strip_prefix("uidvalidity="))
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("unexpected doveadm mailbox status output {out:?}"))
    }

    /// Runs `doveadm -c <our config> ARGS` and returns its stdout.
    async fn doveadm(&self, args: &[&str]) -> anyhow::Result<String> {
        let binary = find_binary("doveadm", "INTAKE_DOVEADM")?;
        let output = tokio::process::Command::new(&binary)
            .arg("-c")
            .arg(self.config_path())
            .args(args)
            .output()
            .await
            .with_context(|| format!("run doveadm {args:?}"))?;
        anyhow::ensure!(
            output.status.success(),
            "doveadm {args:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

async fn logout(mut session: ImapSession) -> anyhow::Result<()> {
    session.logout().await.context("LOGOUT")
}

/// The IMAP spelling of a flag.
pub fn flag_name(flag: &Flag<'_>) -> String {
    match flag {
        Flag::Seen => "\\Seen".to_owned(),
        Flag::Answered => "\\Answered".to_owned(),
        Flag::Flagged => "\\Flagged".to_owned(),
        Flag::Deleted => "\\Deleted".to_owned(),
        Flag::Draft => "\\Draft".to_owned(),
        Flag::Recent => "\\Recent".to_owned(),
        Flag::MayCreate => "\\*".to_owned(),
        Flag::Custom(name) => name.to_string(),
    }
}
