//! The parts of a Bot API `Update` Intake reads, as our own small serde structs (SDK types stay
//! out of the normalizer). Field names are the Bot API's; everything Intake does not read is
//! ignored, and everything optional in the API is optional here, so a new field or a missing
//! one never fails a parse.

use serde::Deserialize;

/// One update: its id and at most one of the message kinds Intake ingests.
#[derive(Debug, Deserialize)]
pub struct Update {
    pub update_id: i64,
    pub message: Option<Message>,
    pub edited_message: Option<Message>,
    pub channel_post: Option<Message>,
    pub edited_channel_post: Option<Message>,
}

/// What kind of update it is, as far as Intake cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    Message,
    Edited,
    /// A post in a channel the bot administers: not a customer writing to the bot.
    ChannelPost,
    /// Callback queries, member changes, polls, ...: nothing a customer wrote.
    Other,
}

impl Update {
    /// The message of a message or edit update, and which it is.
    pub fn message(&self) -> (UpdateKind, Option<&Message>) {
        if let Some(m) = &self.message {
            (UpdateKind::Message, Some(m))
        } else if let Some(m) = &self.edited_message {
            (UpdateKind::Edited, Some(m))
        } else if let Some(m) = self
            .channel_post
            .as_ref()
            .or(self.edited_channel_post.as_ref())
        {
            (UpdateKind::ChannelPost, Some(m))
        } else {
            (UpdateKind::Other, None)
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub message_thread_id: Option<i64>,
    #[serde(default)]
    pub is_topic_message: bool,
    pub from: Option<User>,
    /// The chat an anonymous group admin or a channel wrote as.
    pub sender_chat: Option<Chat>,
    pub date: i64,
    pub edit_date: Option<i64>,
    pub chat: Chat,
    pub reply_to_message: Option<Box<Message>>,
    pub text: Option<String>,
    pub caption: Option<String>,
    #[serde(default)]
    pub entities: Vec<Entity>,
    #[serde(default)]
    pub caption_entities: Vec<Entity>,
    #[serde(default)]
    pub photo: Vec<PhotoSize>,
    pub document: Option<FileMeta>,
    pub voice: Option<FileMeta>,
    pub audio: Option<FileMeta>,
    pub video: Option<FileMeta>,
    pub video_note: Option<FileMeta>,
    pub animation: Option<FileMeta>,
    pub sticker: Option<Sticker>,
    pub location: Option<Location>,
    pub venue: Option<Venue>,
    pub contact: Option<Contact>,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: Option<String>,
    #[serde(default)]
    pub is_forum: bool,
}

#[derive(Debug, Deserialize)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: String,
    /// In UTF-16 code units, as the Bot API counts.
    pub offset: usize,
    pub length: usize,
    /// For `text_mention`: the user mentioned (no username needed).
    pub user: Option<User>,
}

#[derive(Debug, Deserialize)]
pub struct PhotoSize {
    pub file_id: String,
    pub width: u32,
    pub height: u32,
    pub file_size: Option<u64>,
}

/// A document, voice note, audio, video, video note or animation: the fields they share.
#[derive(Debug, Deserialize)]
pub struct FileMeta {
    pub file_id: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct Sticker {
    pub emoji: Option<String>,
    pub set_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Deserialize)]
pub struct Venue {
    pub location: Location,
    pub title: String,
    pub address: String,
}

#[derive(Debug, Deserialize)]
pub struct Contact {
    pub phone_number: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub user_id: Option<i64>,
    pub vcard: Option<String>,
}

/// One file a message carries, as the channel downloads it and the normalizer lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef<'m> {
    pub file_id: &'m str,
    pub file_size: Option<u64>,
    pub file_name: Option<&'m str>,
    pub content_type: &'m str,
    /// Photos are shown inline; everything else is an attachment.
    pub inline: bool,
}

impl Message {
    /// Every file the message carries: the largest size of a photo, and the document, voice,
    /// audio, video, video note or animation. Stickers are not downloaded (a placeholder).
    pub fn files(&self) -> Vec<FileRef<'_>> {
        let mut files = Vec::new();
        // Telegram lists a photo's sizes smallest first; pick by area to be sure.
        if let Some(photo) = self
            .photo
            .iter()
            .max_by_key(|p| u64::from(p.width) * u64::from(p.height))
        {
            files.push(FileRef {
                file_id: &photo.file_id,
                file_size: photo.file_size,
                file_name: None,
                content_type: "image/jpeg",
                inline: true,
            });
        }
        let kinds = [
            (&self.document, "application/octet-stream"),
            (&self.voice, "audio/ogg"),
            (&self.audio, "audio/mpeg"),
            (&self.video, "video/mp4"),
            (&self.video_note, "video/mp4"),
            (&self.animation, "video/mp4"),
        ];
        for (meta, default_type) in kinds {
            if let Some(meta) = meta {
                files.push(FileRef {
                    file_id: &meta.file_id,
                    file_size: meta.file_size,
                    file_name: meta.file_name.as_deref(),
                    content_type: meta
                        .mime_type
                        .as_deref()
                        .filter(|t| is_content_type(t))
                        .unwrap_or(default_type),
                    inline: false,
                });
            }
        }
        files
    }

    /// The text, or the caption of a media message.
    pub fn text_or_caption(&self) -> Option<&str> {
        self.text.as_deref().or(self.caption.as_deref())
    }

    /// The entities of the text or the caption.
    pub fn text_entities(&self) -> &[Entity] {
        if self.text.is_some() {
            &self.entities
        } else {
            &self.caption_entities
        }
    }
}

/// `type/subtype` of visible ASCII, as the case schema wants.
fn is_content_type(text: &str) -> bool {
    text.split_once('/').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && !b.contains('/')
            && text.bytes().all(|c| c.is_ascii_graphic())
    })
}
