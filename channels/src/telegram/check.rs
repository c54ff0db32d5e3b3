//! `intake check` for a bot (getMe and getWebhookInfo, nothing fetched or confirmed) and the
//! `intake telegram set-webhook | delete-webhook | webhook-info` commands.

use std::fmt;
use std::time::Duration;

use intake_config::{TelegramConfig, TelegramMode};

use super::api::{Api, WebhookState};
use crate::ChannelError;

/// What `intake check` found for a bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub endpoint: String,
    pub bot_id: i64,
    pub username: Option<String>,
    pub webhook: Option<WebhookState>,
    pub polling: bool,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.username.as_deref().unwrap_or("(no username)");
        write!(f, "bot @{name} (id {}) at {}", self.bot_id, self.endpoint)?;
        match (&self.webhook, self.polling) {
            (Some(_), true) => write!(
                f,
                "; WARNING: a webhook is set, so polling gets 409 until it is deleted \
                 (intake telegram delete-webhook, or delete_webhook = true)"
            ),
            (Some(hook), false) => write!(f, "; webhook set, {} updates pending", hook.pending),
            (None, true) => write!(f, "; no webhook set, polling can start"),
            (None, false) => write!(
                f,
                "; WARNING: no webhook set: run intake telegram set-webhook"
            ),
        }
    }
}

/// Asks the API who the bot is and whether a webhook is set.
pub async fn check(config: &TelegramConfig) -> Result<CheckReport, ChannelError> {
    let api = Api::new(config, Duration::ZERO)?;
    let me = api.me().await?;
    let webhook = api.webhook().await?;
    Ok(CheckReport {
        endpoint: api.endpoint().to_owned(),
        bot_id: me.id,
        username: me.username,
        webhook,
        polling: matches!(config.mode, TelegramMode::Polling { .. }),
    })
}

/// The webhook commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookCommand {
    /// setWebhook with `webhook_url` and the secret (webhook mode only).
    Set,
    /// deleteWebhook, keeping pending updates.
    Delete,
    /// getWebhookInfo.
    Info,
}

/// Runs `command` for the bot of `config`; the result is a line for the operator.
pub async fn webhook_command(
    config: &TelegramConfig,
    command: WebhookCommand,
) -> Result<String, ChannelError> {
    let api = Api::new(config, Duration::ZERO)?;
    match command {
        WebhookCommand::Set => {
            let TelegramMode::Webhook { url, secret } = &config.mode else {
                return Err(ChannelError::Protocol {
                    detail: format!(
                        "channel {} is in polling mode; set mode = \"webhook\", webhook_url and \
                         webhook_secret_env first",
                        config.name
                    ),
                });
            };
            api.set_webhook(url, secret).await?;
            Ok(format!("webhook set: {url} (with the secret token)"))
        }
        WebhookCommand::Delete => {
            api.delete_webhook().await?;
            Ok("webhook deleted; pending updates are kept for getUpdates".to_owned())
        }
        WebhookCommand::Info => Ok(match api.webhook().await? {
            None => "no webhook set".to_owned(),
            Some(hook) => {
                let error = hook
                    .last_error
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default();
                format!(
                    "webhook: {}; {} updates pending{error}",
                    hook.url, hook.pending
                )
            }
        }),
    }
}
