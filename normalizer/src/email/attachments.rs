//! Attachments: every non-body part (files, inline images, nested messages) with its decoded
//! bytes handed out as content-addressed blobs.
//!
//! The parsed message is consumed here so that decoded bytes move into the blobs instead of
//! being copied; parts that needed no decoding stay borrowed from the wire bytes.

use std::borrow::Cow;

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Encoding, Message, MessagePart, MimeHeaders, PartType};

use super::Blob;
use super::headers::clean;
use crate::case::{Attachment, Disposition};
use crate::sha256_hex;

/// Describes every attachment of `message` and appends its bytes to `blobs` (deduplicated).
pub(crate) fn take_attachments<'a>(
    raw: &'a [u8],
    mut message: Message<'a>,
    blobs: &mut Vec<Blob<'a>>,
) -> Vec<Attachment> {
    let ids = std::mem::take(&mut message.attachments);
    let mut attachments = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(part) = message.parts.get_mut(id as usize) else {
            continue;
        };
        // Everything that looks at the body kind runs before the body is moved out.
        let content_type = content_type(part);
        let disposition = disposition(part);
        // A part listed twice has already given up its body (now an empty multipart): skipped.
        let body = std::mem::take(&mut part.body);
        let part: &MessagePart<'a> = part;
        let Some(bytes) = part_bytes(raw, part, body) else {
            continue;
        };
        let filename = part.attachment_name().and_then(clean);
        // An empty unnamed part is an artifact of a stray boundary (a sender's MIME bug), not
        // something the customer attached; listing it would only confuse the agent.
        if bytes.is_empty() && filename.is_none() {
            continue;
        }
        let sha256 = sha256_hex(&bytes);
        attachments.push(Attachment {
            filename,
            content_type,
            size: bytes.len() as u64,
            blob_ref: Some(format!("sha256:{sha256}")),
            sha256: sha256.clone(),
            disposition,
            omitted_reason: None,
        });
        if !blobs.iter().any(|blob| blob.sha256 == sha256) {
            blobs.push(Blob { sha256, bytes });
        }
    }
    attachments
}

/// The decoded bytes of a part; `None` for a multipart container (or a body already taken).
fn part_bytes<'a>(
    raw: &'a [u8],
    part: &MessagePart<'a>,
    body: PartType<'a>,
) -> Option<Cow<'a, [u8]>> {
    match body {
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => Some(bytes),
        PartType::Message(nested) => Some(nested_bytes(raw, part, nested)),
        // mail-parser has converted text to UTF-8 from its charset; the customer's file is the
        // bytes before that, so decode the transfer encoding again from the wire.
        PartType::Text(text) | PartType::Html(text) => {
            Some(transfer_decoded(raw, part).unwrap_or_else(|| match text {
                Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
                Cow::Owned(text) => Cow::Owned(text.into_bytes()),
            }))
        }
        PartType::Multipart(_) => None,
    }
}

/// The raw nested message: the wire bytes when it was not transfer-encoded, else the decoded
/// bytes mail-parser already holds.
fn nested_bytes<'a>(raw: &'a [u8], part: &MessagePart<'a>, nested: Message<'a>) -> Cow<'a, [u8]> {
    if part.encoding == Encoding::None
        && let Some(slice) = raw
            .get(part.offset_body as usize..part.offset_end as usize)
            .filter(|slice| !slice.is_empty())
    {
        return Cow::Borrowed(slice);
    }
    let root = nested.parts.first();
    let start = root.map_or(0, |p| p.offset_header as usize);
    let end = root.map_or(usize::MAX, |p| p.offset_end as usize);
    match nested.raw_message {
        Cow::Borrowed(all) => Cow::Borrowed(all.get(start..end).unwrap_or(all)),
        Cow::Owned(all) => Cow::Owned(all),
    }
}

fn transfer_decoded<'a>(raw: &'a [u8], part: &MessagePart<'_>) -> Option<Cow<'a, [u8]>> {
    let encoded = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    match part.encoding {
        Encoding::None => Some(Cow::Borrowed(encoded)),
        Encoding::Base64 => base64_decode(encoded).map(Cow::Owned),
        Encoding::QuotedPrintable => quoted_printable_decode(encoded).map(Cow::Owned),
    }
}

/// `type/subtype`, lowercased; a missing or garbled Content-Type falls back to what the part
/// evidently is, so the field always holds a well-formed media type.
fn content_type(part: &MessagePart<'_>) -> String {
    let fallback = match &part.body {
        PartType::Message(_) => "message/rfc822",
        PartType::Text(_) => "text/plain",
        PartType::Html(_) => "text/html",
        _ => "application/octet-stream",
    };
    let Some(ct) = part.content_type() else {
        return fallback.to_owned();
    };
    let kind = ct.ctype().trim();
    match ct.subtype().map(str::trim) {
        Some(subtype) if is_token(kind) && is_token(subtype) => {
            format!(
                "{}/{}",
                kind.to_ascii_lowercase(),
                subtype.to_ascii_lowercase()
            )
        }
        _ => fallback.to_owned(),
    }
}

fn is_token(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
}

fn disposition(part: &MessagePart<'_>) -> Disposition {
    match part.content_disposition() {
        Some(cd) if cd.is_inline() => Disposition::Inline,
        Some(cd) if cd.is_attachment() => Disposition::Attachment,
        _ if matches!(part.body, PartType::InlineBinary(_)) => Disposition::Inline,
        _ => Disposition::Attachment,
    }
}
