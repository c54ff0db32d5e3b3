//! The parts of Discord's message object the case reads. Discord sends snowflakes as strings;
//! numbers are accepted too (some libraries re-serialize them so), and kept as decimal text.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::error::NormalizeError;

/// A snowflake id as decimal digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snowflake(pub String);

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Digits;
        impl Visitor<'_> for Digits {
            type Value = Snowflake;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a snowflake (decimal digits as a string or an integer)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Snowflake, E> {
                Ok(Snowflake(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Snowflake, E> {
                if !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(Snowflake(v.to_owned()))
                } else {
                    Err(E::custom("a snowflake is decimal digits"))
                }
            }
        }
        deserializer.deserialize_any(Digits)
    }
}

#[derive(Debug, Deserialize)]
pub struct DiscordMessage {
    pub id: Snowflake,
    pub channel_id: Snowflake,
    #[serde(default)]
    pub guild_id: Option<Snowflake>,
    pub author: Author,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub edited_timestamp: Option<String>,
    #[serde(default)]
    pub attachments: Vec<DiscordAttachment>,
    #[serde(default)]
    pub embeds: Vec<Embed>,
    #[serde(default)]
    pub message_reference: Option<Reference>,
}

#[derive(Debug, Deserialize)]
pub struct Author {
    pub id: Snowflake,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub global_name: Option<String>,
    #[serde(default)]
    pub bot: Option<bool>,
    #[serde(default)]
    pub system: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct DiscordAttachment {
    pub id: Snowflake,
    #[serde(default)]
    pub filename: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub url: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Embed {
    pub title: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub author: Option<EmbedName>,
    pub fields: Vec<EmbedField>,
    pub footer: Option<EmbedFooter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EmbedName {
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EmbedField {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EmbedFooter {
    pub text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Reference {
    pub message_id: Option<Snowflake>,
    pub channel_id: Option<Snowflake>,
}

/// The message in `raw`, or why it is not one. The error names the JSON problem's position,
/// never the bytes (they are a customer's message).
pub fn parse_message(raw: &[u8]) -> Result<DiscordMessage, NormalizeError> {
    serde_json::from_slice(raw).map_err(|e| NormalizeError::Unparsable {
        reason: format!(
            "not a discord message object ({:?} at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
    })
}
