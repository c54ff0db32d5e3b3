//! Building the Discord channel for the gateway's registry: the source wrapped in the cursor
//! channel, its cursors in the gateway's checkpoint store.

use std::sync::Arc;

use intake_config::DiscordConfig;

use super::{DiscordNormalizer, DiscordSource};
use crate::cursor::{CursorChannel, CursorLimits};
use crate::{BuildContext, Built, ChannelError, CheckpointStore};

/// The Discord channel of `config`, with its normalizer. No HTTP routes: the gateway client
/// connects out.
pub fn build<S: CheckpointStore + Clone>(
    config: DiscordConfig,
    ctx: &BuildContext<S>,
) -> Result<Built<CursorChannel<DiscordSource, S>>, ChannelError> {
    tracing::info!(channel = %config.name, support_channels = config.guild_channels.len(), direct_messages = config.direct_messages, "starting discord channel");
    let (batch_max, poison_after) = (config.batch_size, config.poison_after);
    let normalizer = DiscordNormalizer {
        shared: ctx.policy.clone(),
    };
    let source = DiscordSource::new(config)?;
    Ok(Built {
        channel: CursorChannel::new(source, ctx.checkpoints.clone(), CursorLimits::default()),
        normalizer: Arc::new(normalizer),
        routes: None,
        batch_max,
        poison_after,
    })
}
