//! `intake check` for a Discord channel: the token (`GET /users/@me`) and whether each support
//! channel is visible to the bot. Nothing is read or marked.

use intake_config::DiscordConfig;
use serde::Deserialize;

use super::rest::Rest;
use crate::ChannelError;

#[derive(Deserialize)]
struct Me {
    id: String,
    #[serde(default)]
    username: String,
}

/// A one-line summary, or the first failure.
pub async fn check(config: &DiscordConfig) -> Result<String, ChannelError> {
    let base = config.api_url.as_deref().unwrap_or("https://discord.com");
    let mut rest = Rest::new(base, config.token.expose())?;
    let refused = |detail: String| ChannelError::Refused {
        endpoint: base.to_string(),
        detail,
    };
    let body = rest
        .current_user()
        .await?
        .ok_or_else(|| refused("GET /users/@me was refused".into()))?;
    let me: Me = serde_json::from_slice(&body).map_err(|_| ChannelError::Protocol {
        detail: "GET /users/@me did not describe a user".into(),
    })?;
    let mut hidden = Vec::new();
    for channel in &config.guild_channels {
        if rest.channel(*channel).await?.is_none() {
            hidden.push(channel.to_string());
        }
    }
    if !hidden.is_empty() {
        return Err(refused(format!(
            "support channels not visible to the bot: {}",
            hidden.join(", ")
        )));
    }
    Ok(format!(
        "bot {} ({}), {} support channels visible",
        me.username,
        me.id,
        config.guild_channels.len()
    ))
}
