//! Building the email channel for the gateway's registry.

use std::sync::Arc;

use intake_config::EmailConfig;

use super::EmailChannel;
use super::normalize::EmailNormalizer;
use crate::{BuildContext, Built, CheckpointStore};

/// The IMAP channel of `config`, with its normalizer. Pull with ack: no HTTP routes.
pub fn build<S: CheckpointStore + Clone>(
    config: EmailConfig,
    ctx: &BuildContext<S>,
) -> Built<EmailChannel<S>> {
    tracing::info!(channel = %config.name, host = %config.host, mailbox = %config.mailbox, "starting email channel");
    let normalizer = EmailNormalizer {
        authserv_id: config.authserv_id.clone(),
        shared: ctx.policy.clone(),
    };
    let batch_max = config.batch_size;
    let poison_after = config.poison_after;
    Built {
        channel: EmailChannel::new(config, ctx.checkpoints.clone(), ctx.stop.clone()),
        normalizer: Arc::new(normalizer),
        routes: None,
        batch_max,
        poison_after,
    }
}
