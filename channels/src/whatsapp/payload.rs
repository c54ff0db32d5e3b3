//! The WhatsApp Cloud API webhook notification, as Meta documents it: only the fields Intake
//! reads, everything else ignored (Meta adds fields without notice).
//!
//! `{"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field":
//! "messages", "value": {"metadata", "contacts", "messages" | "statuses"}}]}]}`

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct Notification {
    pub object: Option<String>,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Entry {
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Change {
    pub field: Option<String>,
    pub value: Option<ChangeValue>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChangeValue {
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// Absent in status notifications (`statuses`), which are not cases.
    #[serde(default)]
    pub messages: Vec<Message>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Metadata {
    pub display_phone_number: Option<String>,
    pub phone_number_id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Contact {
    pub wa_id: Option<String>,
    pub profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Profile {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Message {
    pub from: String,
    pub id: String,
    /// Unix seconds, as a string.
    pub timestamp: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub context: Option<Context>,
    pub text: Option<Text>,
    pub image: Option<Media>,
    pub video: Option<Media>,
    pub audio: Option<Media>,
    pub document: Option<Media>,
    pub sticker: Option<Media>,
    pub location: Option<Location>,
    pub contacts: Option<Vec<SharedContact>>,
    pub button: Option<Button>,
    pub interactive: Option<Interactive>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Context {
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Text {
    pub body: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Media {
    /// The media id, resolved through the Graph API (`GET /<id>`) to a download URL.
    pub id: String,
    pub mime_type: Option<String>,
    pub caption: Option<String>,
    pub filename: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Location {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SharedContact {
    pub name: Option<ContactName>,
    #[serde(default)]
    pub phones: Vec<ContactPhone>,
    #[serde(default)]
    pub emails: Vec<ContactEmail>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContactName {
    pub formatted_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContactPhone {
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContactEmail {
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Button {
    pub text: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Interactive {
    pub button_reply: Option<Reply>,
    pub list_reply: Option<Reply>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Reply {
    pub title: Option<String>,
}

/// One customer message of a notification, with the business number it was sent to.
#[derive(Debug)]
pub(crate) struct Located<'n> {
    pub metadata: &'n Metadata,
    pub contacts: &'n [Contact],
    pub message: &'n Message,
}

impl Notification {
    /// Every message of every entry and change that is a case, in payload order. Reactions
    /// are not cases (an emoji on an earlier message), nor are statuses (not in `messages`).
    pub(crate) fn messages(&self) -> impl Iterator<Item = Located<'_>> {
        self.entry
            .iter()
            .flat_map(|entry| &entry.changes)
            .filter(|change| change.field.as_deref().is_none_or(|f| f == "messages"))
            .filter_map(|change| change.value.as_ref())
            .filter_map(|value| Some((value.metadata.as_ref()?, value)))
            .flat_map(|(metadata, value)| {
                value.messages.iter().map(move |message| Located {
                    metadata,
                    contacts: &value.contacts,
                    message,
                })
            })
            .filter(|located| located.message.kind != "reaction")
    }
}

impl Message {
    /// The media this message carries, if it is an image, video, audio, document or sticker.
    pub(crate) fn media(&self) -> Option<&Media> {
        match self.kind.as_str() {
            "image" => self.image.as_ref(),
            "video" => self.video.as_ref(),
            "audio" => self.audio.as_ref(),
            "document" => self.document.as_ref(),
            "sticker" => self.sticker.as_ref(),
            _ => None,
        }
    }
}
