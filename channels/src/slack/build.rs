//! Building a slack channel for the gateway's registry: a push channel and its route.

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use intake_config::SlackConfig;
use intake_normalizer::case::ChannelKind;

use super::SlackNormalizer;
use super::files::FileFetcher;
use super::handler::{SlackState, receive};
use crate::push::{PushChannel, PushLimits, push_channel};
use crate::{BuildContext, Built, CheckpointStore, DEFAULT_POISON_AFTER};

/// The slack channel of `config`: `POST /` under its mount point (the Events API Request URL).
pub fn build<S: CheckpointStore + Clone>(
    config: SlackConfig,
    ctx: &BuildContext<S>,
) -> Built<PushChannel> {
    tracing::info!(channel = %config.name, watched_channels = config.channels.len(), files = config.bot_token.is_some(), "starting slack channel");
    let (channel, sender) = push_channel(
        ChannelKind::Slack,
        &config.name,
        ctx.ingest.clone(),
        PushLimits::default(),
    );
    let state = Arc::new(SlackState {
        name: config.name,
        signing_secret: config.signing_secret.expose().as_bytes().to_vec(),
        channels: config.channels,
        files: FileFetcher {
            bot_token: config.bot_token.map(|t| t.expose().to_string()),
            api_url: config.api_url,
            max_bytes: config.max_file_bytes,
        },
        sender,
    });
    Built {
        channel,
        normalizer: Arc::new(SlackNormalizer {
            shared: ctx.policy.clone(),
        }),
        routes: Some(Router::new().route("/", post(receive)).with_state(state)),
        batch_max: 256,
        poison_after: DEFAULT_POISON_AFTER,
    }
}
