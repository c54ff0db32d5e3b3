//! `intake telegram set-webhook | delete-webhook | webhook-info --config FILE --channel NAME`:
//! register, remove or show a bot's webhook. Loads only the named channel's secrets (the token,
//! and the webhook secret for set-webhook), so it runs where Redis' password is not at hand.

use std::path::Path;
use std::process::ExitCode;

use intake_channels::telegram::{WebhookCommand, webhook_command};
use intake_config::{ChannelConfig, LoadOptions, SecretPolicy};

use crate::cli_config::EXIT_BAD_CONFIG;

/// Runs `command` for channel `name` of the config at `path`.
pub fn run(path: &Path, name: &str, command: WebhookCommand) -> anyhow::Result<ExitCode> {
    let options = LoadOptions {
        secrets: SecretPolicy::Defer,
        extra_checks: None,
    };
    let loaded = match intake_config::load_file_with(path, options) {
        Ok(loaded) => loaded,
        Err(errors) => {
            eprintln!("{}: invalid config\n{errors}", path.display());
            return Ok(ExitCode::from(EXIT_BAD_CONFIG));
        }
    };
    let found = loaded
        .config
        .channels
        .iter()
        .position(|c| matches!(c, ChannelConfig::Telegram(t) if t.name == name));
    let Some(index) = found else {
        eprintln!(
            "error: {} has no telegram channel named {name:?}",
            path.display()
        );
        return Ok(ExitCode::from(EXIT_BAD_CONFIG));
    };
    let config = match loaded.require_secrets_under(&format!("channels[{index}]")) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{}: {errors}", path.display());
            return Ok(ExitCode::from(EXIT_BAD_CONFIG));
        }
    };
    let Some(ChannelConfig::Telegram(bot)) = config.channels.into_iter().nth(index) else {
        anyhow::bail!("channel {name} vanished while loading");
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let line = runtime.block_on(webhook_command(&bot, command))?;
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}
