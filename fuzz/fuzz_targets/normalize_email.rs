//! Fuzz target: any bytes through the email normalizer. It must never panic, and every case it
//! produces must keep the invariants the stream contract relies on (reply_text no longer than
//! text, the raw message as the first blob, a serializable document).
//!
//! Run (nightly): `cargo +nightly fuzz run normalize_email fuzz/corpus/normalize_email
//! ../shared/corpus/email` from the workspace root; the second directory seeds from the shared
//! corpus without copying it into the repository.

#![no_main]

use intake_normalizer::email::{EmailContext, EmailOptions, normalize_email_with, read_headers};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    let ctx = EmailContext {
        channel_name: "fuzz",
        case_id: "0190b6a0-0000-7000-8000-000000000001",
        idempotency_key: "email:fuzz:INBOX:1:1",
        received_at: "2024-07-01T12:00:00Z",
        imap: None,
    };
    let options = EmailOptions {
        authserv_id: Some("mx.example.com"),
        ..EmailOptions::default()
    };
    match normalize_email_with(raw, &ctx, &options) {
        Ok(normalized) => {
            let body = &normalized.case.body;
            if let Some(reply) = &body.reply_text {
                assert!(reply.len() <= body.text.len(), "reply_text longer than text");
            }
            assert!(
                normalized.blobs.first().map(|b| b.bytes.as_ref()) == Some(raw),
                "the raw message is not the first blob"
            );
            let json = serde_json::to_string(&normalized.case).expect("case serializes");
            assert!(!json.is_empty());
        }
        Err(_) => {
            // Dead letters read headers from the same bytes.
            let _ = read_headers(raw);
        }
    }
});
