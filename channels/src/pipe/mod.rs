//! The MTA pipe (`type = "pipe"`): `intake ingest --channel <name>` reads one RFC 5322 message
//! on stdin, as Postfix's and Exim's pipe transports and procmail hand it over, and exits 0
//! only once its case (or its dead letter) is durable, 75 (EX_TEMPFAIL) otherwise, so the MTA
//! keeps the message queued and tries again.
//!
//! A push channel with no routes: the one delivery comes from the command, through the same
//! worker, sink and email normalizer as IMAP's (the case says channel kind `pipe`). The same
//! message piped twice lands once: its key is the Message-ID plus the content hash ([`keys`]).

pub mod keys;

use std::sync::Arc;
use std::time::Duration;

use intake_config::PipeConfig;
use intake_normalizer::case::Source;

use crate::email::EmailNormalizer;
use crate::push::{PushChannel, PushLimits, PushSender, push_channel};
use crate::{
    BuildContext, Built, ChannelKind, CheckpointStore, DEFAULT_POISON_AFTER, Inbound, Payload,
    Receipt, Rejection, Wire,
};

/// How long the command waits for the message to be durable before it gives up with
/// EX_TEMPFAIL: well within an MTA's patience, long enough for a Redis failover.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(20);

/// The pipe channel of `config` and the sender the command delivers with.
pub fn build<S: CheckpointStore + Clone>(
    config: &PipeConfig,
    ctx: &BuildContext<S>,
) -> (Built<PushChannel>, PushSender) {
    let limits = PushLimits {
        queue: 1,
        answer_within: ANSWER_WITHIN,
    };
    let (channel, sender) =
        push_channel(ChannelKind::Pipe, &config.name, ctx.ingest.clone(), limits);
    let built = Built {
        channel,
        normalizer: Arc::new(EmailNormalizer {
            authserv_id: None,
            shared: ctx.policy.clone(),
        }),
        routes: None,
        batch_max: 1,
        poison_after: DEFAULT_POISON_AFTER,
    };
    (built, sender)
}

/// The delivery of `raw` (at most `max_message_bytes`; `size` is what was offered, which may be
/// more than `raw` holds when the message was cut at the limit).
pub fn inbound(config: &PipeConfig, raw: Vec<u8>, size: u64, received_at: String) -> Inbound {
    let sha256 = intake_normalizer::sha256_hex(&raw);
    let headers = intake_normalizer::email::read_headers(&raw);
    let message_id = headers.get("message-id").cloned();
    let key = keys::message_key(&config.name, message_id.as_deref(), &sha256);
    let payload = if size > config.max_message_bytes {
        Payload::Rejected(Rejection {
            reason: "too_large".into(),
            error: format!(
                "message of {size} bytes exceeds max_message_bytes ({})",
                config.max_message_bytes
            ),
            headers,
            size: Some(size),
            source: Source {
                message_id,
                ..Source::default()
            },
            // The cut message is not the message: keep nothing rather than half of it.
            raw: None,
        })
    } else {
        Payload::Wire(Wire {
            bytes: raw,
            sha256: Some(sha256),
            ..Wire::default()
        })
    };
    Inbound {
        idempotency_keys: vec![key],
        lookup_keys: 1,
        received_at,
        payload,
        receipt: Receipt(0),
    }
}
