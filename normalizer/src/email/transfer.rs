//! Transfer decoding after the parse, so that base64 runs through a fast decoder.
//!
//! mail-parser decodes base64 bodies byte by byte (~35 instructions a byte, a sixth of the full
//! mix). [`PARSER_UNDECODED`] parses with Content-Transfer-Encoding skipped, so every part keeps
//! its wire bytes; [`decode_parts`] then does what [`super::PARSER`] would have done to each
//! part, so that the message is the same as its parse in every field the normalizer reads:
//! - the Content-Transfer-Encoding header gets the value mail-parser parses for it;
//! - base64 is decoded with the `base64` crate when the part, whitespace aside, is canonical
//!   base64 (the only input where mail-parser's lenient decoder and a strict one agree), else
//!   with mail-parser's own decoder; quoted-printable always with mail-parser's decoder;
//! - text is converted from its charset as mail-parser converts a decoded part.
//!
//! Anything that would have made the two parses differ beyond that (a part mail-parser could
//! not decode, an encoded nested message, which it parses from the decoded bytes) makes
//! [`decode_parts`] return `None`, and the caller parses again with [`super::PARSER`].

use std::borrow::Cow;
use std::sync::LazyLock;

use base64::Engine;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::parsers::MessageStream;
use mail_parser::{
    Encoding, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};

/// [`super::PARSER`] without Content-Transfer-Encoding: it is skipped like any header the
/// normalizer does not parse, so mail-parser decodes no body.
pub(crate) static PARSER_UNDECODED: LazyLock<MessageParser> =
    LazyLock::new(super::parser_without_transfer_encoding);

/// Decodes every part of `message` (parsed by [`PARSER_UNDECODED`] from `raw`) as
/// [`super::PARSER`] would have; `None` when the result could differ from that parse.
pub(crate) fn decode_parts<'a>(raw: &'a [u8], message: &mut Message<'a>) -> Option<()> {
    decode_message(raw, message, &[])
}

/// `outer` is the boundary that ends the message's root part: none at the top, the enclosing
/// multipart's for a nested message (which mail-parser reads from the same stream).
fn decode_message<'a>(raw: &'a [u8], message: &mut Message<'a>, outer: &[u8]) -> Option<()> {
    let boundaries = part_boundaries(message, outer)?;
    for (part, boundary) in message.parts.iter_mut().zip(&boundaries) {
        if part.is_encoding_problem {
            return None;
        }
        let encoding = transfer_encoding(raw, &mut part.headers);
        let body = std::mem::take(&mut part.body);
        part.body = match (body, encoding) {
            (PartType::Message(mut nested), Encoding::None) => {
                decode_message(raw, &mut nested, boundary)?;
                PartType::Message(nested)
            }
            // mail-parser would have parsed the decoded bytes as the nested message.
            (PartType::Message(_), _) => return None,
            // A multipart part is never decoded, whatever it says.
            (body @ PartType::Multipart(_), _) | (body, Encoding::None) => body,
            (body, encoding) => {
                let start = part.offset_body as usize;
                let end = part.offset_end as usize;
                let bytes = decode(raw, start, end, encoding, boundary)?;
                part.encoding = encoding;
                match body {
                    PartType::Text(_) => PartType::Text(text(part.content_type(), bytes)),
                    PartType::Html(_) => PartType::Html(text(part.content_type(), bytes)),
                    PartType::InlineBinary(_) => PartType::InlineBinary(Cow::Owned(bytes)),
                    _ => PartType::Binary(Cow::Owned(bytes)),
                }
            }
        };
    }
    Some(())
}

/// The boundary mail-parser's stream stopped each part at: its parent multipart's, or `outer`
/// for the root. `None` when a part is not reachable from the root (a structure only a
/// corrupted message has).
fn part_boundaries(message: &Message<'_>, outer: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut boundaries: Vec<Option<Vec<u8>>> = vec![None; message.parts.len()];
    *boundaries.first_mut()? = Some(outer.to_vec());
    for part in &message.parts {
        if let PartType::Multipart(children) = &part.body {
            let boundary = part.content_type()?.attribute("boundary")?.as_bytes();
            for &child in children {
                *boundaries.get_mut(child as usize)? = Some(boundary.to_vec());
            }
        }
    }
    boundaries.into_iter().collect()
}

/// Gives the part's last Content-Transfer-Encoding header the value mail-parser's parse gives
/// it (the header is parsed where the parse would have read it, at its value's offset) and
/// returns what mail-parser decodes by.
fn transfer_encoding<'a>(raw: &'a [u8], headers: &mut [mail_parser::Header<'a>]) -> Encoding {
    let Some(header) = headers
        .iter_mut()
        .rev()
        .find(|h| h.name == HeaderName::ContentTransferEncoding)
    else {
        return Encoding::None;
    };
    let Some(value) = raw.get(header.offset_start as usize..) else {
        return Encoding::None;
    };
    header.value = MessageStream::new(value).parse_unstructured();
    match &header.value {
        HeaderValue::Text(value) if value.eq_ignore_ascii_case("base64") => Encoding::Base64,
        HeaderValue::Text(value) if value.eq_ignore_ascii_case("quoted-printable") => {
            Encoding::QuotedPrintable
        }
        _ => Encoding::None,
    }
}

/// The decoded bytes of `raw[start..end]`, the part mail-parser's stream ended at `boundary`.
fn decode(
    raw: &[u8],
    start: usize,
    end: usize,
    encoding: Encoding,
    boundary: &[u8],
) -> Option<Vec<u8>> {
    if encoding == Encoding::Base64
        && let Some(bytes) = base64_canonical(raw.get(start..end)?)
    {
        return Some(bytes);
    }
    let mut stream = MessageStream::new(raw.get(start..)?);
    let (stop, bytes) = match encoding {
        Encoding::Base64 => stream.decode_base64_mime(boundary),
        _ => stream.decode_quoted_printable_mime(boundary),
    };
    // Where mail-parser's decoder stops is where its parse would have ended the part.
    (stop.checked_add(start) == Some(end)).then(|| bytes.into_owned())
}

/// Base64 with line breaks, spaces and tabs, decoded only when the rest is canonical (padding
/// at the end only, no stray bits). mail-parser's decoder gives the same bytes for such input:
/// it also skips whitespace and decodes padded groups alike. The part ends where its boundary
/// line starts, so neither decoder sees anything else.
fn base64_canonical(encoded: &[u8]) -> Option<Vec<u8>> {
    let mut compact = Vec::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(line_end) = memchr::memchr(b'\n', rest) {
        let (line, tail) = rest.split_at(line_end);
        compact.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        rest = tail.get(1..).unwrap_or_default();
    }
    compact.extend_from_slice(rest.strip_suffix(b"\r").unwrap_or(rest));
    let engine = &base64::engine::general_purpose::STANDARD;
    engine.decode(&compact).ok().or_else(|| {
        // Spaces, tabs or lone CRs inside a line (rare) are stripped only when the first try
        // fails: the strict decoder rejects them.
        compact.retain(|b| !matches!(b, b' ' | b'\t' | b'\r'));
        engine.decode(&compact).ok()
    })
}

/// A decoded text part as mail-parser converts it: from its charset when it names one
/// mail-parser knows, else UTF-8 with invalid sequences replaced.
fn text(content_type: Option<&mail_parser::ContentType<'_>>, bytes: Vec<u8>) -> Cow<'static, str> {
    let decoder = content_type
        .and_then(|ct| ct.attribute("charset"))
        .and_then(|charset| charset_decoder(charset.as_bytes()));
    match decoder {
        Some(decoder) => Cow::Owned(decoder(&bytes)),
        None => Cow::Owned(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::PARSER;
    use crate::email::test_messages::fixtures_and_corpus;

    /// The message [`decode_parts`] gives, or PARSER's own when it declines, must equal
    /// PARSER's parse: every header, part, offset and body.
    fn assert_same_parse(raw: &[u8], what: &str) -> bool {
        let expected = PARSER.parse(raw);
        let Some(mut message) = PARSER_UNDECODED.parse(raw) else {
            assert!(expected.is_none(), "{what}: only PARSER parsed it");
            return false;
        };
        let decoded = decode_parts(raw, &mut message).is_some();
        if decoded {
            assert!(expected.as_ref() == Some(&message), "{what}: parses differ");
        }
        decoded
    }

    #[test]
    fn decoded_parse_equals_the_parsers_own() {
        let all = fixtures_and_corpus();
        let (mut decoded, mut total) = (0, 0);
        for (i, (_, raw)) in all.iter().enumerate() {
            let lf: Vec<u8> = raw.iter().copied().filter(|&b| b != b'\r').collect();
            let mut variants = vec![raw.clone(), lf];
            // Cut short anywhere (boundaries lost, base64 groups split) and with bytes changed.
            for step in [7, 13, 29] {
                let at = raw.len() * step / 31;
                variants.push(raw[..at].to_vec());
                let mut flipped = raw.clone();
                for pos in (at..raw.len()).step_by(97) {
                    flipped[pos] = [b'=', b'-', b' ', b'\n', b'A', 0xC3][pos % 6];
                }
                variants.push(flipped);
            }
            for (j, variant) in variants.iter().enumerate() {
                total += 1;
                decoded += usize::from(assert_same_parse(variant, &format!("message {i}/{j}")));
            }
        }
        assert!(
            decoded * 2 > total,
            "only {decoded} of {total} decoded here"
        );
    }
}
