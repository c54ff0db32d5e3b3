//! The dead-letter document: what is written to the dead-letter stream for a message that could
//! not become a case, so that it is never silently dropped and never blocks its channel.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::case::{ChannelRef, Source};

/// The `event` of every dead-letter entry.
pub const DEAD_LETTER_EVENT: &str = "message.dead_lettered";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub schema_version: u32,
    pub event: String,
    /// UUIDv7, assigned like a case id so downstream can refer to the dead letter.
    pub case_id: String,
    pub idempotency_key: String,
    pub channel: ChannelRef,
    pub source: Source,
    /// Machine-readable: `too_large`, `unparsable`, `normalizer_failed`.
    pub reason: String,
    /// Human-readable detail for the operator (never the message body).
    pub error: String,
    /// Whatever headers could be read (lowercased names; first occurrence wins).
    pub headers: BTreeMap<String, String>,
    /// Size of the payload in bytes as the provider reported it.
    pub size: Option<u64>,
    /// Blob reference of the raw payload when it was stored.
    pub raw_ref: Option<String>,
    pub received_at: String,
}
