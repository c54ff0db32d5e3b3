//! The second half of a channel: turning its wire payloads into case v1. Pure (no I/O, no
//! async): the worker calls it on the blocking pool, catches its panics and dead-letters what it
//! refuses, so a channel's normalizer only has to say what the bytes mean.

use std::collections::BTreeMap;
use std::fmt;

use intake_normalizer::case::ChannelRef;
use intake_normalizer::email::SubjectTag;
use intake_normalizer::language::LanguageDetector;
use intake_normalizer::{NormalizeError, Normalized};

use crate::Wire;

/// Everything about one delivery that is not in its bytes.
#[derive(Debug, Clone, Copy)]
pub struct NormalizeContext<'a> {
    pub channel: &'a ChannelRef,
    /// UUIDv7 assigned by the worker.
    pub case_id: &'a str,
    /// The primary idempotency key (the provider identity of the delivery).
    pub idempotency_key: &'a str,
    /// RFC 3339 time the message was taken off the channel.
    pub received_at: &'a str,
}

/// One channel kind's normalizer into case v1.
pub trait Normalize: Send + Sync + fmt::Debug + 'static {
    /// The case for `wire`, plus the blobs it refers to (the raw payload first). An error is
    /// permanent for these bytes: the worker dead-letters the message with its raw bytes kept.
    fn normalize<'w>(
        &self,
        wire: &'w Wire,
        ctx: &NormalizeContext<'_>,
    ) -> Result<Normalized<'w>, NormalizeError>;

    /// What an operator should see of a payload that could not be normalized (for email: From,
    /// Subject, Message-ID, ...). Never message text.
    fn dead_letter_headers(&self, wire: &Wire) -> BTreeMap<String, String> {
        let _ = wire;
        BTreeMap::new()
    }
}

/// Normalization policy shared by every channel of a deployment (`[conversations]`).
#[derive(Debug, Clone, Default)]
pub struct SharedPolicy {
    /// None: the normalizer's built-in subject tags.
    pub subject_tags: Option<Vec<SubjectTag>>,
    /// None: every language the detector knows.
    pub languages: Option<LanguageDetector>,
}

impl SharedPolicy {
    /// The languages `language` may take: the configured allowlist, or every one the detector
    /// knows.
    pub fn languages(&self) -> &LanguageDetector {
        self.languages.as_ref().unwrap_or(LanguageDetector::all())
    }

    /// The subject tags that name a ticket: the configured ones, or the built-in set.
    pub fn subject_tags(&self) -> &[SubjectTag] {
        self.subject_tags
            .as_deref()
            .unwrap_or(intake_normalizer::email::default_subject_tags())
    }
}
