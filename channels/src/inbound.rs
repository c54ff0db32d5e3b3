//! What a channel hands the worker: the wire payload, its idempotency keys and a receipt to ack.

use std::collections::BTreeMap;

use intake_normalizer::case::Source;

/// One message taken off a channel, not yet acknowledged.
#[derive(Debug)]
pub struct Inbound {
    /// Idempotency keys, primary first (provider identity), then fallbacks (content hash). All
    /// are recorded when the message is appended.
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

/// The wire bytes, or why the channel could not even fetch them.
#[derive(Debug)]
pub enum Payload {
    /// A raw RFC 5322 message and the IMAP coordinates it came from.
    Email {
        raw: Vec<u8>,
        /// Hex SHA-256 of `raw` when the channel computed it already (it names the raw blob).
        sha256: Option<String>,
        imap: Option<intake_normalizer::case::ImapSource>,
    },
    /// A message refused before normalization (e.g. over `max_message_bytes`): dead-lettered.
    Rejected(Rejection),
}

#[derive(Debug)]
pub struct Rejection {
    /// Machine-readable reason, e.g. `too_large`.
    pub reason: String,
    /// Operator-facing detail.
    pub error: String,
    pub headers: BTreeMap<String, String>,
    pub size: Option<u64>,
    pub source: Source,
}

/// Opaque token the channel uses to mark one message done (the IMAP UID, an update id, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Receipt(pub u64);
