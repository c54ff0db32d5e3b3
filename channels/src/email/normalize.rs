//! The email channel's normalizer: raw RFC 5322 through the pure email normalizer.

use std::collections::BTreeMap;
use std::sync::Arc;

use intake_normalizer::email::{EmailContext, EmailOptions, normalize_email_with, read_headers};
use intake_normalizer::{NormalizeError, Normalized};

use crate::{Normalize, NormalizeContext, SharedPolicy, Wire};

/// Operator policy for one channel's mail, owned so it can cross threads.
#[derive(Debug)]
pub struct EmailNormalizer {
    /// The authserv-id whose `Authentication-Results` are trusted.
    pub authserv_id: Option<String>,
    pub shared: Arc<SharedPolicy>,
}

impl Normalize for EmailNormalizer {
    fn normalize<'w>(
        &self,
        wire: &'w Wire,
        ctx: &NormalizeContext<'_>,
    ) -> Result<Normalized<'w>, NormalizeError> {
        let email_ctx = EmailContext {
            channel_name: &ctx.channel.name,
            case_id: ctx.case_id,
            idempotency_key: ctx.idempotency_key,
            received_at: ctx.received_at,
            imap: wire.source.imap.clone(),
            raw_sha256: wire.sha256.as_deref(),
        };
        let options = EmailOptions {
            authserv_id: self.authserv_id.as_deref(),
            subject_tags: self.shared.subject_tags(),
            languages: self.shared.languages(),
        };
        let mut normalized = normalize_email_with(&wire.bytes, &email_ctx, &options)?;
        // The kind is the channel's (`pipe` reads mail too), not the format's.
        normalized.case.channel = ctx.channel.clone();
        Ok(normalized)
    }

    fn dead_letter_headers(&self, wire: &Wire) -> BTreeMap<String, String> {
        read_headers(&wire.bytes)
    }
}
