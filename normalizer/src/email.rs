//! Email normalization: raw RFC 5322 bytes -> [`Case`] via mail-parser.
//!
//! The message is parsed once; headers, body, classification and threading read the parsed
//! tree, and the attachments step consumes it last so decoded bytes move into blobs uncopied.
//! Nothing here may panic on any input: every index is checked, every date validated.

mod attachments;
mod auth;
mod body;
mod bounce;
mod bounce_text;
mod classify;
mod headers;
#[cfg(test)]
mod test_messages;
pub mod thread;
mod transfer;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::panic::catch_unwind;
use std::sync::LazyLock;

use mail_parser::{HeaderName, Message, MessageParser};

use crate::case::{
    Address, Case, ChannelKind, ChannelRef, Event, ImapSource, Recipients, SCHEMA_VERSION, Source,
};
use crate::error::NormalizeError;
use crate::language::{LanguageDetector, LanguageHint, LanguageSource};
use crate::sha256_hex;

pub use thread::{SubjectTag, default_subject_tags};

/// One parser for the process; its configuration never changes. It parses only the headers
/// the normalizer reads (MIME structure, addresses, ids), so this list must name every
/// structured header used anywhere here. Every other header is only skipped: it keeps
/// its name and offsets, and the classifier reads it raw from the wire bytes by offset
/// (`headers::raw_value`). Skipping instead of copying each value out as text (mail-parser's
/// default) spares a UTF-8 check per header; Received chains are not tokenized either.
/// Content-Id, -Description and -Location, which `with_mime_headers` would decode, are never
/// read. Subject and Date are skipped too: `headers::subject` decodes at most the first 16
/// KiB of the Subject, `headers::sent_at` parses the Date from its own bytes.
/// The normalizer's own parse ([`parse`]) uses it only as a fallback: [`transfer`]
/// parses without Content-Transfer-Encoding and decodes the bodies itself.
pub(crate) static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    parser_without_transfer_encoding().header_text(HeaderName::ContentTransferEncoding)
});

fn parser_without_transfer_encoding() -> MessageParser {
    MessageParser::new()
        .header_content_type(HeaderName::ContentType)
        .header_content_type(HeaderName::ContentDisposition)
        .header_address(HeaderName::From)
        .header_address(HeaderName::Sender)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_id(HeaderName::MessageId)
        .header_id(HeaderName::InReplyTo)
        .header_id(HeaderName::References)
        .default_header_ignore()
}

/// Dead-letter header values are for an operator's eyes: long ones are cut to this many chars.
const MAX_DEAD_LETTER_HEADER_CHARS: usize = 998;

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
    /// Hex SHA-256 of the raw bytes when the caller computed it already; hashed here if None.
    pub raw_sha256: Option<&'a str>,
}

/// Operator policy for email normalization, from the channel's config. Kept apart from
/// [`EmailContext`] (which describes one delivery) so that adding a policy knob never changes
/// how callers describe a message.
#[derive(Debug, Clone, Copy)]
pub struct EmailOptions<'a> {
    /// The authserv-id of the operator's own receiving server: only `Authentication-Results`
    /// headers naming it are read. `None` trusts none (`authentication` stays null).
    pub authserv_id: Option<&'a str>,
    /// Subject patterns that name a ticket (threading hints); see [`default_subject_tags`].
    pub subject_tags: &'a [SubjectTag],
    /// The languages `language` may be; [`LanguageDetector::all`] by default.
    pub languages: &'a LanguageDetector,
}

impl Default for EmailOptions<'static> {
    fn default() -> Self {
        Self {
            authserv_id: None,
            subject_tags: default_subject_tags(),
            languages: LanguageDetector::all(),
        }
    }
}

pub use crate::normalized::Blob;

/// A normalized message and the blobs its case refers to (the raw message first).
pub type NormalizedEmail<'a> = crate::normalized::Normalized<'a>;

/// Normalizes one raw message with the default [`EmailOptions`] (trust no
/// `Authentication-Results`, default subject tags).
pub fn normalize_email<'a>(
    raw: &'a [u8],
    ctx: &EmailContext<'_>,
) -> Result<NormalizedEmail<'a>, NormalizeError> {
    normalize_email_with(raw, ctx, &EmailOptions::default())
}

/// Normalizes one raw message. Never panics on any input (callers still guard it).
pub fn normalize_email_with<'a>(
    raw: &'a [u8],
    ctx: &EmailContext<'_>,
    options: &EmailOptions<'_>,
) -> Result<NormalizedEmail<'a>, NormalizeError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(unparsable("empty message"));
    }
    let message = parse(raw)?;
    let root_headers = message
        .parts
        .first()
        .map(|p| p.headers.as_slice())
        .unwrap_or_default();
    if root_headers.is_empty() {
        return Err(unparsable("no header block"));
    }
    let first = |name: HeaderName<'static>| headers::first(root_headers, &name);

    let message_id = headers::message_ids(first(HeaderName::MessageId))
        .into_iter()
        .next();
    let in_reply_to = headers::message_ids(first(HeaderName::InReplyTo));
    let references = headers::message_ids(first(HeaderName::References));
    let subject = headers::subject(raw, root_headers);
    let (sender, header_findings) = headers::sender(root_headers);
    let recipients = Recipients {
        to: headers::address_list(first(HeaderName::To)),
        cc: headers::address_list(first(HeaderName::Cc)),
    };
    let sent_at = headers::sent_at(raw, root_headers);
    let addressed: Vec<&Address> = recipients.to.iter().chain(&recipients.cc).collect();
    let thread_input = thread::ThreadInput {
        message_id: message_id.as_deref(),
        in_reply_to: &in_reply_to,
        references: &references,
        subject: subject.as_deref(),
        recipients: &addressed,
    };
    let conversation =
        thread::conversation(&thread_input, options.subject_tags, ctx.idempotency_key);
    let body = body::body(&message);
    let mut classification =
        classify::classify(raw, &message, subject.as_deref(), &sender, &body.text);
    classification
        .reasons
        .extend(header_findings.into_iter().map(str::to_owned));
    let authentication = auth::authentication(raw, root_headers, options.authserv_id);
    // The reply is what the customer wrote this time; when it is all quote, the whole text is
    // still the best evidence of the language.
    let content_language = headers::raw_value(raw, root_headers, "Content-Language");
    let hint = content_language.as_deref().map(|tag| LanguageHint {
        tag,
        source: LanguageSource::Header,
    });
    let language = options
        .languages
        .detect_hinted(body.reply_text.as_deref().unwrap_or(&body.text), hint);

    let raw_sha256 = ctx
        .raw_sha256
        .map_or_else(|| sha256_hex(raw), str::to_owned);
    let raw_ref = format!("sha256:{raw_sha256}");
    let mut blobs = vec![Blob {
        sha256: raw_sha256,
        bytes: Cow::Borrowed(raw),
    }];
    let attachments = attachments::take_attachments(raw, message, &mut blobs);

    let case = Case {
        schema_version: SCHEMA_VERSION,
        event: Event::MessageReceived,
        case_id: ctx.case_id.to_owned(),
        idempotency_key: ctx.idempotency_key.to_owned(),
        channel: ChannelRef {
            kind: ChannelKind::Email,
            name: ctx.channel_name.to_owned(),
        },
        source: Source {
            message_id,
            in_reply_to,
            references,
            imap: ctx.imap.clone(),
            telegram: None,
            discord: None,
        },
        conversation,
        sender,
        recipients,
        subject,
        body,
        attachments,
        sent_at,
        received_at: ctx.received_at.to_owned(),
        language: language.map(|l| l.code.to_owned()),
        language_source: language.map(|l| l.source),
        classification,
        authentication,
        raw_ref: Some(raw_ref),
        location: None,
        contact: None,
    };
    Ok(NormalizedEmail { case, blobs })
}

/// Parses the whole message. mail-parser guards its own invariants with `debug_assert!`, which
/// fire on some malformed MIME in debug builds (and are no-ops in release); should one fire, or
/// any other panic escape it, the headers alone still make a case, and the raw blob keeps the
/// body. The happy path pays nothing for the guard.
fn parse(raw: &[u8]) -> Result<Message<'_>, NormalizeError> {
    match catch_unwind(|| parse_decoded(raw)) {
        Ok(Some(message)) => Ok(message),
        Ok(None) => Err(unparsable("no header block")),
        Err(_) => match catch_unwind(|| PARSER.parse_headers(raw)) {
            Ok(Some(headers_only)) => Ok(headers_only),
            Ok(None) => Err(unparsable("no header block")),
            Err(_) => Err(NormalizeError::Internal {
                reason: "mail-parser panicked".to_owned(),
            }),
        },
    }
}

/// The parse of [`PARSER`], with base64 bodies decoded by [`transfer`]; parsed again by
/// [`PARSER`] itself when [`transfer::decode_parts`] cannot promise the same result.
fn parse_decoded(raw: &[u8]) -> Option<Message<'_>> {
    let mut message = transfer::PARSER_UNDECODED.parse(raw)?;
    match transfer::decode_parts(raw, &mut message) {
        Some(()) => Some(message),
        None => PARSER.parse(raw),
    }
}

fn unparsable(reason: &str) -> NormalizeError {
    NormalizeError::Unparsable {
        reason: reason.to_owned(),
    }
}

/// Best-effort header read for dead letters: From, To, Subject, Date, Message-ID, decoded and
/// stripped of CR/LF/NUL, lowercased names.
pub fn read_headers(raw: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    // Same guard as `parse`: mail-parser's debug assertions fire on some truncated MIME (a header
    // block cut off before its multipart body, as for oversized messages).
    let Ok(Some(message)) = catch_unwind(|| PARSER.parse_headers(raw)) else {
        return out;
    };
    let Some(root) = message.parts.first() else {
        return out;
    };
    let first = |name: HeaderName<'static>| headers::first(&root.headers, &name);

    let values = [
        ("from", headers::render_addresses(first(HeaderName::From))),
        ("to", headers::render_addresses(first(HeaderName::To))),
        ("subject", headers::subject(raw, &root.headers)),
        ("date", read_date(raw, &root.headers)),
        (
            "message-id",
            headers::message_ids(first(HeaderName::MessageId))
                .into_iter()
                .next(),
        ),
    ];
    for (name, value) in values {
        if let Some(value) = value {
            out.insert(
                name.to_owned(),
                truncate(value, MAX_DEAD_LETTER_HEADER_CHARS),
            );
        }
    }
    out
}

/// RFC 3339 when the Date parses, else the raw text: an operator still wants to see it.
fn read_date(raw: &[u8], root: &[mail_parser::Header<'_>]) -> Option<String> {
    headers::sent_at(raw, root)
        .or_else(|| headers::raw_value(raw, root, "Date").and_then(|v| headers::clean(&v)))
}

fn truncate(mut value: String, max_chars: usize) -> String {
    if let Some((cut, _)) = value.char_indices().nth(max_chars) {
        value.truncate(cut);
    }
    value
}
