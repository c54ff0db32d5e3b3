//! Turning received messages into stream entries: normalize and store blobs. Runs on blocking
//! threads (parsing is CPU work) and never panics on input: a panic inside the normalizer is
//! caught and the message becomes a dead letter like any other poison message. Cases stay
//! structured until the conversation resolver has filled in their conversation; dead letters
//! are final here.

use std::panic::{AssertUnwindSafe, catch_unwind};

use std::sync::Arc;

use intake_channels::{
    ChannelKind, Inbound, Normalize, NormalizeContext, Payload, Receipt, Rejection, Wire,
};
use intake_normalizer::case::{ChannelRef, Source};
use intake_normalizer::dead_letter::DEAD_LETTER_EVENT;
use intake_normalizer::{Case, DeadLetter, NormalizeError, SCHEMA_VERSION, sha256_hex};

use crate::blobs::BlobStore;
use crate::sink::{Entry, Target};

/// A message ready to append, with the receipt to ack once it is durable.
#[derive(Debug)]
pub struct Prepared {
    pub target: Target,
    pub idempotency_keys: Vec<String>,
    pub lookup_keys: usize,
    pub event: &'static str,
    pub case_id: String,
    pub document: Document,
    pub receipt: Receipt,
}

/// A case still to be enriched, or a finished JSON document (a dead letter).
#[derive(Debug)]
pub enum Document {
    Case(Box<Case>),
    Json(String),
}

impl Prepared {
    /// The stream entry (the case serialized now) and the receipt to ack after it is appended.
    pub fn into_entry(self, channel: &str) -> (Entry, Receipt) {
        let document = match self.document {
            Document::Json(json) => json,
            // A case is strings, numbers and vectors: serializing it cannot fail.
            Document::Case(case) => serde_json::to_string(&case)
                .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string()),
        };
        let entry = Entry {
            target: self.target,
            idempotency_keys: self.idempotency_keys,
            lookup_keys: self.lookup_keys,
            event: self.event,
            channel: channel.to_string(),
            case_id: self.case_id,
            document,
        };
        (entry, self.receipt)
    }
}

/// What every message of one channel shares.
#[derive(Debug, Clone)]
pub struct PrepareContext {
    pub channel: ChannelRef,
    pub blobs: BlobStore,
    /// The channel kind's normalizer into case v1.
    pub normalizer: Arc<dyn Normalize>,
}

/// Prepares `items` in order. Fails only when a blob cannot be written or synced (disk full,
/// permissions, I/O errors): the batch is then retried without acking anything.
pub fn prepare_all(
    items: &[Inbound],
    ctx: &PrepareContext,
) -> Result<Vec<Prepared>, std::io::Error> {
    let (prepared, _) = prepare_unsynced(items, ctx)?;
    // The chunk's blobs are durable before any case referring to them can be appended.
    ctx.blobs.sync()?;
    Ok(prepared)
}

/// Prepares `items` in order without syncing the blob store; true when any of them refers to
/// a blob (written now, or found stored by a put another worker may not have synced yet), so
/// the caller must sync the store before any of them is appended.
pub fn prepare_unsynced(
    items: &[Inbound],
    ctx: &PrepareContext,
) -> Result<(Vec<Prepared>, bool), std::io::Error> {
    let mut refers_to_blobs = false;
    let mut prepared = Vec::with_capacity(items.len());
    for item in items {
        let (one, refers) = prepare_one(item, ctx)?;
        refers_to_blobs |= refers;
        prepared.push(one);
    }
    Ok((prepared, refers_to_blobs))
}

/// The item prepared, and whether it refers to a blob.
fn prepare_one(item: &Inbound, ctx: &PrepareContext) -> Result<(Prepared, bool), std::io::Error> {
    let case_id = uuid::Uuid::now_v7().to_string();
    let primary_key = item.idempotency_keys.first().cloned().unwrap_or_default();
    let (target, event, document, refers_to_blob) = match &item.payload {
        Payload::Wire(wire) => wire_document(wire, &case_id, &primary_key, &item.received_at, ctx)?,
        Payload::Rejected(rejection) => {
            let (doc, refers) =
                rejected_document(rejection, &case_id, &primary_key, &item.received_at, ctx)?;
            (
                Target::DeadLetters,
                DEAD_LETTER_EVENT,
                Document::Json(doc),
                refers,
            )
        }
    };
    let prepared = Prepared {
        target,
        idempotency_keys: item.idempotency_keys.clone(),
        lookup_keys: item.lookup_keys,
        event,
        case_id,
        document,
        receipt: item.receipt,
    };
    Ok((prepared, refers_to_blob))
}

/// The case (or the dead letter keeping the raw bytes) of `wire`, and whether it refers to a
/// blob.
fn wire_document(
    wire: &Wire,
    case_id: &str,
    idempotency_key: &str,
    received_at: &str,
    ctx: &PrepareContext,
) -> Result<(Target, &'static str, Document, bool), std::io::Error> {
    let normalize_ctx = NormalizeContext {
        channel: &ctx.channel,
        case_id,
        idempotency_key,
        received_at,
    };
    let normalized = catch_unwind(AssertUnwindSafe(|| {
        ctx.normalizer.normalize(wire, &normalize_ctx)
    }))
    .unwrap_or_else(|_| {
        Err(NormalizeError::Internal {
            reason: "the normalizer panicked on this message".into(),
        })
    });
    match normalized {
        Ok(normalized) => {
            for blob in &normalized.blobs {
                ctx.blobs.put(&blob.sha256, &blob.bytes)?;
            }
            let event = normalized.case.event.as_str();
            Ok((
                Target::Cases,
                event,
                Document::Case(Box::new(normalized.case)),
                !normalized.blobs.is_empty(),
            ))
        }
        Err(error) => {
            tracing::warn!(channel = %ctx.channel.name, case_id, reason = error.reason_code(), error = %error, "message dead-lettered");
            count_dead_letter(ctx, error.reason_code());
            // The raw bytes are kept so an operator can inspect or replay the message.
            let sha = wire
                .sha256
                .clone()
                .unwrap_or_else(|| sha256_hex(&wire.bytes));
            ctx.blobs.put(&sha, &wire.bytes)?;
            let headers = catch_unwind(AssertUnwindSafe(|| {
                ctx.normalizer.dead_letter_headers(wire)
            }))
            .unwrap_or_default();
            let letter = dead_letter(
                ctx,
                case_id,
                idempotency_key,
                received_at,
                wire.source.clone(),
            );
            let letter = DeadLetter {
                reason: error.reason_code().to_string(),
                error: error.to_string(),
                headers,
                size: Some(wire.bytes.len() as u64),
                raw_ref: Some(format!("sha256:{sha}")),
                ..letter
            };
            Ok((
                Target::DeadLetters,
                DEAD_LETTER_EVENT,
                Document::Json(to_json(&letter)),
                true,
            ))
        }
    }
}

/// The dead letter of a message the channel could not take, and whether it refers to a blob
/// (the raw bytes, when the channel could fetch any).
fn rejected_document(
    rejection: &Rejection,
    case_id: &str,
    idempotency_key: &str,
    received_at: &str,
    ctx: &PrepareContext,
) -> Result<(String, bool), std::io::Error> {
    tracing::warn!(channel = %ctx.channel.name, case_id, reason = %rejection.reason, error = %rejection.error, "message dead-lettered");
    // Whatever bytes the channel could fetch are kept, so nothing it saw is lost.
    let raw_ref = match &rejection.raw {
        Some(raw) => {
            let sha = sha256_hex(raw);
            ctx.blobs.put(&sha, raw)?;
            Some(format!("sha256:{sha}"))
        }
        None => None,
    };
    count_dead_letter(ctx, &rejection.reason);
    let letter = dead_letter(
        ctx,
        case_id,
        idempotency_key,
        received_at,
        rejection.source.clone(),
    );
    let refers_to_blob = raw_ref.is_some();
    let document = to_json(&DeadLetter {
        reason: rejection.reason.clone(),
        error: rejection.error.clone(),
        headers: rejection.headers.clone(),
        size: rejection.size,
        raw_ref,
        ..letter
    });
    Ok((document, refers_to_blob))
}

/// Dead letters by channel and reason (both operator-defined or fixed words, never customer
/// data), so an alert can fire on a rising rate.
fn count_dead_letter(ctx: &PrepareContext, reason: &str) {
    metrics::counter!(
        "intake_dead_letters_total",
        "channel" => ctx.channel.name.clone(),
        "reason" => reason.to_string()
    )
    .increment(1);
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
