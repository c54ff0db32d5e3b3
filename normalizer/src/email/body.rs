//! Message bodies: the text a helpdesk shows and the sanitized HTML it may render.
//!
//! mail-parser has already decided which parts are bodies (`text_body`, `html_body`, following
//! the JMAP rules for multipart/alternative, mixed and related); this module only turns those
//! parts into strings. The HTML is sanitized exactly once, after the parts are joined.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use mail_parser::decoders::html::html_to_text;
use mail_parser::{Message, PartType};

use crate::case::Body;

/// One sanitizer for the process: building ammonia's tag tables per message would cost more than
/// cleaning a typical message.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    // Links may point anywhere a person can click to; `cid:` keeps inline images that travel in
    // the message itself resolvable.
    builder.url_schemes(HashSet::from(["http", "https", "mailto", "tel", "cid"]));
    // Anything an agent's browser would fetch on its own is a tracking pixel or worse: keep an
    // image source only when it names a part of this message.
    builder.attribute_filter(|element, attribute, value| {
        if element == "img" && attribute == "src" && !is_cid(value) {
            None
        } else {
            Some(Cow::Borrowed(value))
        }
    });
    builder
});

fn is_cid(url: &str) -> bool {
    url.trim_start()
        .get(..4)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("cid:"))
}

/// Builds the body: text from every text body part (HTML converted when that is all there is),
/// sanitized HTML from the text/html body parts or null.
pub(crate) fn body(message: &Message<'_>) -> Body {
    let text = body_text(message);
    let reply_text = crate::reply::reply_text(&text).map(Cow::into_owned);
    Body {
        text,
        html: body_html(message),
        reply_text,
    }
}

fn body_text(message: &Message<'_>) -> String {
    let mut text = String::new();
    for part in message
        .text_body
        .iter()
        .filter_map(|&id| message.parts.get(id as usize))
    {
        let piece: Cow<'_, str> = match &part.body {
            PartType::Text(plain) => Cow::Borrowed(plain.as_ref()),
            PartType::Html(html) => Cow::Owned(html_to_text(html)),
            // Inline images sit in the body list too; they are attachments, not text.
            _ => continue,
        };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        push_lf(&mut text, &piece);
    }
    text
}

/// Appends `piece` with CRLF line ends turned into LF: one line-end convention downstream.
/// Searching for the CR alone runs on memchr; a two-byte string search set up per line was
/// ~1 % of the small mix.
fn push_lf(out: &mut String, piece: &str) {
    out.reserve(piece.len());
    let mut rest = piece;
    while let Some(pos) = rest.find('\r') {
        if rest.as_bytes().get(pos + 1) == Some(&b'\n') {
            out.push_str(rest.get(..pos).unwrap_or_default());
            out.push('\n');
            rest = rest.get(pos + 2..).unwrap_or_default();
        } else {
            // A lone CR stays as it is.
            out.push_str(rest.get(..=pos).unwrap_or_default());
            rest = rest.get(pos + 1..).unwrap_or_default();
        }
    }
    out.push_str(rest);
}

fn body_html(message: &Message<'_>) -> Option<String> {
    let mut parts =
        message
            .html_body
            .iter()
            .filter_map(|&id| match &message.parts.get(id as usize)?.body {
                // mail-parser lists text/plain parts here too (rendered as HTML) when a message has
                // no HTML; those are not "the HTML part", so they are skipped.
                PartType::Html(html) => Some(html.as_ref()),
                _ => None,
            });
    let first = parts.next()?;
    let joined: Cow<'_, str> = match parts.next() {
        None => Cow::Borrowed(first),
        Some(second) => {
            let mut all = format!("{first}\n{second}");
            for more in parts {
                all.push('\n');
                all.push_str(more);
            }
            Cow::Owned(all)
        }
    };
    Some(SANITIZER.clean(&joined).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizer_strips_scripts_handlers_and_remote_images() {
        let dirty = r#"<p onclick="x()">hi<script>alert(1)</script><img src="http://t.example/p.gif"><img src="cid:logo@x"><a href="https://example.com">l</a></p>"#;
        let clean = SANITIZER.clean(dirty).to_string();
        assert!(!clean.contains("script"), "{clean}");
        assert!(!clean.contains("onclick"), "{clean}");
        assert!(!clean.contains("t.example"), "{clean}");
        assert!(clean.contains("cid:logo@x"), "{clean}");
        assert!(clean.contains("https://example.com"), "{clean}");
    }

    #[test]
    fn crlf_becomes_lf() {
        let mut out = String::new();
        push_lf(&mut out, "a\r\nb\r\n\r\nc\r");
        assert_eq!(out, "a\nb\n\nc\r");
    }
}
