//! Email normalization: raw RFC 5322 bytes -> [`Case`] via mail-parser.
//!
//! TODO(helper): implement; the signatures below are the contract the gateway relies on.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::case::{Case, ImapSource};
use crate::error::NormalizeError;

/// Everything about a message's delivery that is not in its bytes.
#[derive(Debug, Clone)]
pub struct EmailContext<'a> {
    /// The operator's channel name (`[[channels]] name`).
    pub channel_name: &'a str,
    pub case_id: &'a str,
    pub idempotency_key: &'a str,
    /// RFC 3339 time the gateway took the message off the server.
    pub received_at: &'a str,
    pub imap: Option<ImapSource>,
}

/// Bytes the caller must store in the blob directory before appending the case.
#[derive(Debug, Clone)]
pub struct Blob<'a> {
    pub sha256: String,
    pub bytes: Cow<'a, [u8]>,
}

/// A normalized message and the blobs its case refers to (the raw message first).
#[derive(Debug, Clone)]
pub struct NormalizedEmail<'a> {
    pub case: Case,
    pub blobs: Vec<Blob<'a>>,
}

/// Normalizes one raw message. Never panics on any input (callers still guard it).
pub fn normalize_email<'a>(
    raw: &'a [u8],
    ctx: &EmailContext<'_>,
) -> Result<NormalizedEmail<'a>, NormalizeError> {
    let _ = (raw, ctx);
    Err(NormalizeError::Internal { reason: "not implemented".into() })
}

/// Best-effort header read for dead letters: From, To, Subject, Date, Message-ID, decoded and
/// stripped of CR/LF/NUL, lowercased names.
pub fn read_headers(raw: &[u8]) -> BTreeMap<String, String> {
    let _ = raw;
    BTreeMap::new()
}
