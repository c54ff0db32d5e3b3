//! The parts of Slack's Events API payloads the channel reads (our own structs, no SDK types),
//! and which message events become cases.

use serde::Deserialize;

/// The outer envelope of every Events API request.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub challenge: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub api_app_id: Option<String>,
    #[serde(default)]
    pub event: Option<MessageEvent>,
    #[serde(default)]
    pub authorizations: Vec<Authorization>,
}

#[derive(Debug, Deserialize)]
pub struct Authorization {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub is_bot: bool,
}

/// An inner event; only `message` events are looked at, so every field is optional.
#[derive(Debug, Deserialize)]
pub struct MessageEvent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub subtype: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub channel_type: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub bot_id: Option<String>,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub ts: Option<String>,
    #[serde(default)]
    pub thread_ts: Option<String>,
    #[serde(default)]
    pub files: Vec<SlackFile>,
}

#[derive(Debug, Deserialize)]
pub struct SlackFile {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub mimetype: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub url_private: Option<String>,
    #[serde(default)]
    pub url_private_download: Option<String>,
}

/// Subtypes that are a person's new message; every other subtype (edits, deletions, joins,
/// bot messages, ...) is not a case.
const CASE_SUBTYPES: &[&str] = &["file_share", "thread_broadcast"];

/// Why a verified event is acknowledged without a case; None when it is one.
pub fn skip_reason(
    envelope: &Envelope,
    event: &MessageEvent,
    channels: &[String],
) -> Option<&'static str> {
    if event.kind != "message" {
        return Some("not a message event");
    }
    if event.bot_id.is_some() || event.subtype.as_deref() == Some("bot_message") {
        return Some("bot message");
    }
    if event.app_id.is_some() && event.app_id == envelope.api_app_id {
        return Some("the app's own message");
    }
    let own_user = |user: &str| {
        envelope
            .authorizations
            .iter()
            .any(|a| a.is_bot && a.user_id.as_deref() == Some(user))
    };
    if event.user.as_deref().is_some_and(own_user) {
        return Some("the app's own message");
    }
    if let Some(subtype) = event.subtype.as_deref()
        && !CASE_SUBTYPES.contains(&subtype)
    {
        return Some("not a new message");
    }
    if event.user.is_none() || event.ts.is_none() || event.channel.is_none() {
        return Some("no user, channel or ts");
    }
    let direct = event.channel_type.as_deref() == Some("im");
    let watched = event
        .channel
        .as_ref()
        .is_some_and(|c| channels.iter().any(|w| w == c));
    if !direct && !watched {
        return Some("not a direct message or a configured channel");
    }
    None
}
