//! Building the SMS channel for the gateway's registry: a push channel whose route is Twilio's
//! messaging webhook.

use std::sync::Arc;

use intake_config::SmsConfig;

use super::handler::{Hook, routes};
use super::normalize::SmsNormalizer;
use crate::media::MediaClient;
use crate::push::{PushChannel, PushLimits, push_channel};
use crate::{BuildContext, Built, ChannelKind, CheckpointStore, DEFAULT_POISON_AFTER};

/// The most messages the worker takes in one batch.
const BATCH_MAX: usize = 100;

pub fn build<S: CheckpointStore + Clone>(
    config: SmsConfig,
    ctx: &BuildContext<S>,
) -> Built<PushChannel> {
    tracing::info!(channel = %config.name, "starting sms channel");
    let (channel, sender) = push_channel(
        ChannelKind::Sms,
        &config.name,
        ctx.ingest.clone(),
        PushLimits::default(),
    );
    let hook = Hook {
        name: config.name,
        public_url: config.public_url,
        account_sid: config.account_sid,
        auth_token: config.auth_token,
        media: MediaClient::new(config.max_media_bytes),
        sender,
    };
    Built {
        channel,
        normalizer: Arc::new(SmsNormalizer {
            shared: ctx.policy.clone(),
        }),
        routes: Some(routes(hook)),
        batch_max: BATCH_MAX,
        poison_after: DEFAULT_POISON_AFTER,
    }
}
