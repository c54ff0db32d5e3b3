//! Building the WhatsApp channel for the gateway's registry: a push channel whose routes are
//! the webhook.

use std::sync::Arc;

use intake_config::WhatsappConfig;

use super::handler::{Hook, routes};
use super::normalize::WhatsappNormalizer;
use crate::media::MediaClient;
use crate::push::{PushChannel, PushLimits, push_channel};
use crate::{BuildContext, Built, ChannelKind, CheckpointStore, DEFAULT_POISON_AFTER};

/// The most messages the worker takes in one batch.
const BATCH_MAX: usize = 100;

pub fn build<S: CheckpointStore + Clone>(
    config: WhatsappConfig,
    ctx: &BuildContext<S>,
) -> Built<PushChannel> {
    tracing::info!(channel = %config.name, "starting whatsapp channel");
    let (channel, sender) = push_channel(
        ChannelKind::Whatsapp,
        &config.name,
        ctx.ingest.clone(),
        PushLimits::default(),
    );
    let hook = Hook {
        name: config.name,
        app_secret: config.app_secret,
        verify_token: config.verify_token,
        access_token: config.access_token,
        api_url: config.api_url,
        media: MediaClient::new(config.max_media_bytes),
        sender,
    };
    Built {
        channel,
        normalizer: Arc::new(WhatsappNormalizer {
            shared: ctx.policy.clone(),
        }),
        routes: Some(routes(hook)),
        batch_max: BATCH_MAX,
        poison_after: DEFAULT_POISON_AFTER,
    }
}
