//! What a channel hands the worker: the wire payload, its idempotency keys and a receipt to ack.

use std::collections::BTreeMap;

use intake_normalizer::case::Source;
use intake_normalizer::message::FileBytes;

/// One message taken off a channel, not yet acknowledged.
#[derive(Debug)]
pub struct Inbound {
    /// Idempotency keys, primary first (provider identity), then fallbacks (content hash). All
    /// are recorded when the message is appended. Each channel derives them in one named place
    /// (e.g. `email::keys`), from the provider's identity of the delivery.
    pub idempotency_keys: Vec<String>,
    /// How many of `idempotency_keys`, from the first, are looked up to find an earlier entry
    /// of this message; the rest are only recorded (for a later lookup, e.g. after a UIDVALIDITY
    /// change). At least 1.
    pub lookup_keys: usize,
    /// RFC 3339 time the message was taken off the channel.
    pub received_at: String,
    pub payload: Payload,
    pub receipt: Receipt,
}

/// The wire bytes for the channel's normalizer, or why the channel could not even fetch them.
#[derive(Debug)]
pub enum Payload {
    Wire(Wire),
    /// A message refused before normalization (e.g. over `max_message_bytes`, or a fetch that
    /// kept failing): dead-lettered.
    Rejected(Rejection),
}

/// A message exactly as it came off the channel: raw RFC 5322 for email, the update's or the
/// webhook's JSON for the others. Golden fixtures are these bytes.
#[derive(Debug, Default)]
pub struct Wire {
    pub bytes: Vec<u8>,
    /// Hex SHA-256 of `bytes` when the channel computed it already (it names the raw blob).
    pub sha256: Option<String>,
    /// What the channel knows of the delivery beyond the bytes (IMAP mailbox and UID, ...).
    pub source: Source,
    /// Files the channel downloaded for this message (a chat photo, a webhook's media),
    /// referenced from `bytes` by their provider id.
    pub files: Vec<FetchedFile>,
}

impl Wire {
    /// What the channel fetched for the file it knows by `id`, for the message normalizer: its
    /// bytes, or why there are none (not fetched at all counts as omitted too).
    pub fn file_bytes(&self, id: &str) -> FileBytes<'_> {
        match self.files.iter().find(|f| f.id == id).map(|f| &f.content) {
            Some(FileContent::Bytes(bytes)) => FileBytes::Fetched(bytes),
            Some(FileContent::Omitted { reason }) => FileBytes::Omitted {
                reason: reason.clone(),
            },
            None => FileBytes::Omitted {
                reason: "not fetched".into(),
            },
        }
    }
}

/// One file a message refers to, as the channel fetched it.
#[derive(Debug)]
pub struct FetchedFile {
    /// The provider's id of the file, as it appears in the wire payload.
    pub id: String,
    pub content: FileContent,
}

#[derive(Debug)]
pub enum FileContent {
    Bytes(Vec<u8>),
    /// Not downloaded: over the size limit, refused by the provider, ... The case keeps the
    /// attachment's metadata with this reason, never a silent drop.
    Omitted {
        reason: String,
    },
}

#[derive(Debug)]
pub struct Rejection {
    /// Machine-readable reason, e.g. `too_large`.
    pub reason: String,
    /// Operator-facing detail (never message text).
    pub error: String,
    pub headers: BTreeMap<String, String>,
    pub size: Option<u64>,
    pub source: Source,
    /// The raw bytes when the channel has them (kept in the blob store, referenced by the dead
    /// letter), None when they could not be fetched at all.
    pub raw: Option<Vec<u8>>,
}

/// Opaque token the channel uses to mark one message done (the IMAP UID, an update id, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Receipt(pub u64);
