//! The Discord channel's normalizer: message JSON through the pure Discord normalizer, with
//! the ids the channel recorded and the files it downloaded.

use std::collections::BTreeMap;
use std::sync::Arc;

use intake_normalizer::discord::{DiscordContext, DiscordFile, normalize_discord, parse_message};
use intake_normalizer::{NormalizeError, Normalized};

use crate::{FileContent, Normalize, NormalizeContext, SharedPolicy, Wire};

#[derive(Debug)]
pub struct DiscordNormalizer {
    pub shared: Arc<SharedPolicy>,
}

impl Normalize for DiscordNormalizer {
    fn normalize<'w>(
        &self,
        wire: &'w Wire,
        ctx: &NormalizeContext<'_>,
    ) -> Result<Normalized<'w>, NormalizeError> {
        let discord_ctx = DiscordContext {
            channel_name: &ctx.channel.name,
            case_id: ctx.case_id,
            idempotency_key: ctx.idempotency_key,
            received_at: ctx.received_at,
            source: wire.source.discord.as_ref(),
            raw_sha256: wire.sha256.as_deref(),
            languages: self.shared.languages(),
        };
        let files = |id: &str| {
            wire.files
                .iter()
                .find(|f| f.id == id)
                .map(|f| match &f.content {
                    FileContent::Bytes(bytes) => DiscordFile::Bytes(bytes),
                    FileContent::Omitted { reason } => DiscordFile::Omitted(reason),
                })
        };
        let mut normalized = normalize_discord(&wire.bytes, &discord_ctx, &files)?;
        normalized.case.channel = ctx.channel.clone();
        Ok(normalized)
    }

    /// Ids only: never the content or the author's names.
    fn dead_letter_headers(&self, wire: &Wire) -> BTreeMap<String, String> {
        let mut headers = BTreeMap::new();
        if let Some(ids) = &wire.source.discord {
            headers.insert("discord-channel-id".into(), ids.channel_id.clone());
            headers.insert("discord-message-id".into(), ids.message_id.clone());
        } else if let Ok(message) = parse_message(&wire.bytes) {
            headers.insert("discord-channel-id".into(), message.channel_id.0);
            headers.insert("discord-message-id".into(), message.id.0);
        }
        headers
    }
}
