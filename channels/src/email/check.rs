//! `intake check` for an email channel: connect, TLS, login, select, report what the server
//! offers, verify a `MoveTo` folder exists, log out. Reads nothing, marks nothing.

use std::fmt;

use async_imap::imap_proto::{MailboxDatum, Response};
use intake_config::{AfterIngest, EmailConfig, TlsMode};

use super::connect::{self, ServerCapabilities};
use super::proto::{self, quote, timed};
use crate::ChannelError;

/// What `intake check` found for one email channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// `host:port`.
    pub endpoint: String,
    pub tls: TlsMode,
    pub capabilities: ServerCapabilities,
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uidnext: Option<u32>,
    /// Messages in the mailbox (EXISTS), read or not.
    pub messages: u32,
    /// The `MoveTo` target, when configured; it was verified to exist.
    pub move_target: Option<String>,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let caps = self.capabilities;
        write!(
            f,
            "{} ({:?} tls): mailbox {:?} uidvalidity {} with {} messages; idle={} move={} uidplus={}",
            self.endpoint,
            self.tls,
            self.mailbox,
            self.uidvalidity,
            self.messages,
            caps.idle,
            caps.move_supported,
            caps.uidplus
        )?;
        if let Some(target) = &self.move_target {
            write!(f, "; move target {target:?} exists")?;
        }
        Ok(())
    }
}

/// Connects with `config`, checks everything the channel will need, and logs out.
pub async fn check(config: &EmailConfig) -> Result<CheckReport, ChannelError> {
    let (mut session, capabilities) = connect::login(config).await?;
    let selected = connect::select(&mut session, &config.mailbox).await?;
    let move_target = match &config.after_ingest {
        AfterIngest::MoveTo(folder) => {
            if !folder_exists(&mut session, folder).await? {
                return Err(ChannelError::Mailbox {
                    mailbox: folder.clone(),
                    detail: "after_ingest target folder does not exist".into(),
                });
            }
            Some(folder.clone())
        }
        AfterIngest::Seen | AfterIngest::Delete => None,
    };
    // A failed LOGOUT after a successful check is not worth failing the check for.
    let _ = timed("LOGOUT", async {
        session
            .logout()
            .await
            .map_err(|e| proto::protocol("LOGOUT", e))
    })
    .await;
    Ok(CheckReport {
        endpoint: connect::endpoint(config),
        tls: config.tls,
        capabilities,
        mailbox: config.mailbox.clone(),
        uidvalidity: selected.uidvalidity,
        uidnext: selected.uidnext,
        messages: selected.exists,
        move_target,
    })
}

/// `LIST "" folder`: true when the server lists exactly that name.
async fn folder_exists(
    session: &mut proto::ImapSession,
    folder: &str,
) -> Result<bool, ChannelError> {
    let mut exists = false;
    let command = format!("LIST \"\" {}", quote(folder)?);
    proto::run(session, &command, |response| {
        if let Response::MailboxData(MailboxDatum::List { name, .. }) = response {
            exists |= name == folder || (folder.eq_ignore_ascii_case("INBOX") && name == "INBOX");
        }
        Ok(())
    })
    .await?;
    Ok(exists)
}
