//! Turning received messages into stream entries: normalize, store blobs, serialize. Runs on
//! blocking threads (parsing is CPU work) and never panics on input: a panic inside the
//! normalizer is caught and the message becomes a dead letter like any other poison message.

use std::panic::{AssertUnwindSafe, catch_unwind};

use intake_channels::{ChannelKind, Inbound, Payload, Receipt, Rejection};
use intake_normalizer::case::{ChannelRef, ImapSource, Source};
use intake_normalizer::dead_letter::DEAD_LETTER_EVENT;
use intake_normalizer::email::{EmailContext, normalize_email, read_headers};
use intake_normalizer::{DeadLetter, NormalizeError, SCHEMA_VERSION, sha256_hex};

use crate::blobs::BlobStore;
use crate::sink::{Entry, Target};

/// A message ready to append, with the receipt to ack once it is durable.
#[derive(Debug)]
pub struct Prepared {
    pub entry: Entry,
    pub receipt: Receipt,
}

/// What every message of one channel shares.
#[derive(Debug, Clone)]
pub struct PrepareContext {
    pub channel: ChannelRef,
    pub blobs: BlobStore,
}

/// Prepares `items` in order. Fails only when a blob cannot be written (disk full, permissions):
/// that is transient, and the batch is retried without acking anything.
pub fn prepare_all(
    items: &[Inbound],
    ctx: &PrepareContext,
) -> Result<Vec<Prepared>, std::io::Error> {
    items.iter().map(|item| prepare_one(item, ctx)).collect()
}

fn prepare_one(item: &Inbound, ctx: &PrepareContext) -> Result<Prepared, std::io::Error> {
    let case_id = uuid::Uuid::now_v7().to_string();
    let primary_key = item.idempotency_keys.first().cloned().unwrap_or_default();
    let (target, event, document) = match &item.payload {
        Payload::Email { raw, imap } => email_document(
            raw,
            imap.clone(),
            &case_id,
            &primary_key,
            &item.received_at,
            ctx,
        )?,
        Payload::Rejected(rejection) => {
            let doc = rejected_document(rejection, &case_id, &primary_key, &item.received_at, ctx);
            (Target::DeadLetters, DEAD_LETTER_EVENT, doc)
        }
    };
    Ok(Prepared {
        entry: Entry {
            target,
            idempotency_keys: item.idempotency_keys.clone(),
            lookup_keys: item.lookup_keys,
            event,
            channel: ctx.channel.name.clone(),
            case_id,
            document,
        },
        receipt: item.receipt,
    })
}

fn email_document(
    raw: &[u8],
    imap: Option<ImapSource>,
    case_id: &str,
    idempotency_key: &str,
    received_at: &str,
    ctx: &PrepareContext,
) -> Result<(Target, &'static str, String), std::io::Error> {
    let email_ctx = EmailContext {
        channel_name: &ctx.channel.name,
        case_id,
        idempotency_key,
        received_at,
        imap: imap.clone(),
    };
    let normalized = catch_unwind(AssertUnwindSafe(|| normalize_email(raw, &email_ctx)))
        .unwrap_or_else(|_| {
            Err(NormalizeError::Internal {
                reason: "the normalizer panicked on this message".into(),
            })
        })
        .and_then(|n| {
            let doc = serde_json::to_string(&n.case).map_err(|e| NormalizeError::Internal {
                reason: format!("case serialization failed: {e}"),
            })?;
            Ok((n, doc))
        });
    match normalized {
        Ok((normalized, doc)) => {
            for blob in &normalized.blobs {
                ctx.blobs.put(&blob.sha256, &blob.bytes)?;
            }
            Ok((Target::Cases, normalized.case.event.as_str(), doc))
        }
        Err(error) => {
            tracing::warn!(channel = %ctx.channel.name, case_id, reason = error.reason_code(), error = %error, "message dead-lettered");
            // The raw bytes are kept so an operator can inspect or replay the message.
            let sha = sha256_hex(raw);
            ctx.blobs.put(&sha, raw)?;
            let headers = catch_unwind(|| read_headers(raw)).unwrap_or_default();
            let source = Source {
                imap,
                ..Source::default()
            };
            let letter = dead_letter(ctx, case_id, idempotency_key, received_at, source);
            let letter = DeadLetter {
                reason: error.reason_code().to_string(),
                error: error.to_string(),
                headers,
                size: Some(raw.len() as u64),
                raw_ref: Some(format!("sha256:{sha}")),
                ..letter
            };
            Ok((Target::DeadLetters, DEAD_LETTER_EVENT, to_json(&letter)))
        }
    }
}

fn rejected_document(
    rejection: &Rejection,
    case_id: &str,
    idempotency_key: &str,
    received_at: &str,
    ctx: &PrepareContext,
) -> String {
    tracing::warn!(channel = %ctx.channel.name, case_id, reason = %rejection.reason, error = %rejection.error, "message dead-lettered");
    let letter = dead_letter(
        ctx,
        case_id,
        idempotency_key,
        received_at,
        rejection.source.clone(),
    );
    to_json(&DeadLetter {
        reason: rejection.reason.clone(),
        error: rejection.error.clone(),
        headers: rejection.headers.clone(),
        size: rejection.size,
        ..letter
    })
}

fn dead_letter(
    ctx: &PrepareContext,
    case_id: &str,
    idempotency_key: &str,
    received_at: &str,
    source: Source,
) -> DeadLetter {
    DeadLetter {
        schema_version: SCHEMA_VERSION,
        event: DEAD_LETTER_EVENT.to_string(),
        case_id: case_id.to_string(),
        idempotency_key: idempotency_key.to_string(),
        channel: ctx.channel.clone(),
        source,
        reason: String::new(),
        error: String::new(),
        headers: Default::default(),
        size: None,
        raw_ref: None,
        received_at: received_at.to_string(),
    }
}

fn to_json(letter: &DeadLetter) -> String {
    // A struct of strings and maps of strings always serializes; the fallback keeps the entry
    // (and so the message) rather than losing it if that ever changes.
    serde_json::to_string(letter)
        .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string())
}

/// The channel reference for a channel's entries.
pub fn channel_ref(kind: ChannelKind, name: &str) -> ChannelRef {
    ChannelRef {
        kind,
        name: name.to_string(),
    }
}
