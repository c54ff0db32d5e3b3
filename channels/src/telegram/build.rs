//! Building the Telegram channel for the gateway's registry: a poller, or a push channel with
//! its webhook route, by `mode`.

use std::sync::Arc;

use intake_config::{TelegramConfig, TelegramMode};

use super::TelegramChannel;
use super::api::{Api, bot_id};
use super::filter::ChatPolicy;
use super::normalize::TelegramNormalizer;
use super::poll::Poller;
use super::webhook::{Hook, routes};
use crate::push::{PushLimits, push_channel};
use crate::{BuildContext, Built, ChannelKind, CheckpointStore};

/// The channel of `config`, with its normalizer (and, in webhook mode, its route).
pub fn build<S: CheckpointStore + Clone>(
    config: TelegramConfig,
    ctx: &BuildContext<S>,
) -> Built<TelegramChannel<S>> {
    let normalizer = TelegramNormalizer {
        bot_id: bot_id(config.token.expose()).to_owned(),
        shared: ctx.policy.clone(),
    };
    let (batch_max, poison_after) = (config.batch_size, config.poison_after);
    let longest_poll = match config.mode {
        TelegramMode::Polling { timeout, .. } => timeout,
        TelegramMode::Webhook { .. } => std::time::Duration::ZERO,
    };
    let api = match Api::new(&config, longest_poll) {
        Ok(api) => api,
        // Validation refused unparsable URLs already; what is left (the TLS backend failing to
        // initialise) is shown by /readyz rather than stopping every other channel.
        Err(error) => {
            tracing::error!(channel = %config.name, error = %error, "telegram client set-up failed");
            return Built {
                channel: TelegramChannel::Broken {
                    name: config.name,
                    error: error.to_string(),
                },
                normalizer: Arc::new(normalizer),
                routes: None,
                batch_max,
                poison_after,
            };
        }
    };
    let policy = ChatPolicy {
        chats: config.chats,
        group_messages: config.group_messages,
    };
    let (channel, routes) = match &config.mode {
        TelegramMode::Polling { .. } => {
            tracing::info!(channel = %config.name, mode = "polling", "starting telegram channel");
            let poller = Poller::new(config, api, ctx.checkpoints.clone(), ctx.stop.clone());
            (TelegramChannel::Polling(Box::new(poller)), None)
        }
        TelegramMode::Webhook { secret, .. } => {
            tracing::info!(channel = %config.name, mode = "webhook", "starting telegram channel");
            let (channel, sender) = push_channel(
                ChannelKind::Telegram,
                &config.name,
                ctx.ingest.clone(),
                PushLimits::default(),
            );
            let hook = Hook {
                channel: config.name.clone(),
                sender,
                ingest: ctx.ingest.clone(),
                secret: secret.clone(),
                api,
                token: config.token.clone(),
                policy,
                max_file_bytes: config.max_file_bytes,
                me: tokio::sync::OnceCell::new(),
            };
            (TelegramChannel::Webhook(channel), Some(routes(hook)))
        }
    };
    Built {
        channel,
        normalizer: Arc::new(normalizer),
        routes,
        batch_max,
        poison_after,
    }
}
