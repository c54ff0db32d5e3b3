//! Bounce detection: RFC 3464 delivery status notifications (Postfix, Sendmail, Exchange and
//! Office 365, Gmail today), and bounces without a report (qmail, Exim's default text, older
//! Gmail and Exchange) recognised by a daemon sender together with their typical wording.
//!
//! `original_message_id` names the message we sent that bounced: the gateway joins the bounce
//! to that message's conversation.

use mail_parser::{Message, MimeHeaders, PartType};

use super::PARSER;
use super::bounce_text;
use super::headers::{clean, raw_value};
use crate::case::{Bounce, BounceKind, Party};

/// What the bounce detector reads besides the parsed message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen<'a> {
    pub sender: &'a Party,
    pub subject: Option<&'a str>,
    /// The body text, where text-only bounces carry their facts.
    pub text: &'a str,
}

/// The bounce facts of `message` and the reason it was judged a bounce, or `None`.
pub(crate) fn detect(
    raw: &[u8],
    message: &Message<'_>,
    seen: Seen<'_>,
) -> Option<(Bounce, String)> {
    let root = message.parts.first()?;
    let is_report = root.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    });
    let status_part = message.parts.iter().find(|part| {
        part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct.subtype().is_some_and(|s| {
                    s.eq_ignore_ascii_case("delivery-status")
                        || s.eq_ignore_ascii_case("global-delivery-status")
                })
        })
    });

    let headers = message
        .parts
        .first()
        .map(|p| p.headers.as_slice())
        .unwrap_or_default();
    let failed_header = raw_value(raw, headers, "X-Failed-Recipients")
        .and_then(|v| v.split(',').next().and_then(clean));
    let daemon = from_mailer_daemon(seen.sender);
    let null_path = null_return_path(raw, message);
    let reason = if is_report {
        "dsn: report-type=delivery-status"
    } else if status_part.is_some() {
        "dsn: message/delivery-status part"
    } else if null_path && daemon {
        "bounce: null return-path from mailer-daemon"
    } else if failed_header.is_some() && (daemon || null_path) {
        "bounce: x-failed-recipients"
    } else if (daemon || null_path) && bounce_text::subject_says_bounce(seen.subject) {
        "bounce: daemon sender and bounce subject"
    } else if (daemon || null_path) && bounce_text::body_says_bounce(seen.text) {
        "bounce: daemon sender and bounce text"
    } else {
        return None;
    };

    let fields = status_part
        .map(|part| DeliveryStatus::parse(part.contents()))
        .unwrap_or_default();
    // Reports carry their facts in fields; the text is the fallback for every missing one.
    // A report whose MIME structure is broken (a cut boundary) leaves no body text; its raw
    // body still says what happened.
    let raw_body;
    let text_source = if seen.text.trim().is_empty() {
        let start = message.parts.first().map_or(0, |p| p.offset_body as usize);
        raw_body = String::from_utf8_lossy(raw.get(start..).unwrap_or_default());
        raw_body.as_ref()
    } else {
        seen.text
    };
    let text = bounce_text::facts(text_source);
    let status = fields.status.or(text.status);
    let kind = match status.as_deref().and_then(|s| s.bytes().next()) {
        Some(b'5') => BounceKind::Permanent,
        Some(b'4') => BounceKind::Transient,
        _ => text.kind.unwrap_or(BounceKind::Unknown),
    };
    let bounce = Bounce {
        kind,
        original_message_id: returned_message_id(message).or(text.original_message_id),
        failed_recipient: fields
            .final_recipient
            .or(fields.original_recipient)
            .or(failed_header)
            .or(text.failed_recipient),
        status,
    };
    Some((bounce, reason.to_owned()))
}

fn null_return_path(raw: &[u8], message: &Message<'_>) -> bool {
    let headers = message
        .parts
        .first()
        .map(|p| p.headers.as_slice())
        .unwrap_or_default();
    raw_value(raw, headers, "Return-Path").is_some_and(|value| {
        value
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .eq(b"<>".iter().copied())
    })
}

fn from_mailer_daemon(sender: &Party) -> bool {
    let local = sender
        .address
        .as_deref()
        .and_then(|a| a.split('@').next())
        .unwrap_or_default();
    local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
}

/// The Message-ID of the returned message (a message/rfc822 part) or of the returned headers
/// (text/rfc822-headers).
fn returned_message_id(message: &Message<'_>) -> Option<String> {
    message
        .parts
        .iter()
        .skip(1)
        .find_map(|part| match &part.body {
            PartType::Message(nested) => nested.message_id().and_then(clean),
            _ if part.content_type().is_some_and(|ct| {
                ct.subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
            }) =>
            {
                let headers = PARSER.parse_headers(part.contents())?;
                headers.message_id().and_then(clean)
            }
            _ => None,
        })
}

/// The few RFC 3464 fields a helpdesk acts on, from the first recipient block that has them.
#[derive(Debug, Default)]
struct DeliveryStatus {
    status: Option<String>,
    final_recipient: Option<String>,
    original_recipient: Option<String>,
}

impl DeliveryStatus {
    fn parse(bytes: &[u8]) -> Self {
        let text = String::from_utf8_lossy(bytes);
        let mut fields = DeliveryStatus::default();
        for line in text.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim();
            if name.eq_ignore_ascii_case("status") && fields.status.is_none() {
                fields.status = value.split_whitespace().next().and_then(clean);
            } else if name.eq_ignore_ascii_case("final-recipient")
                && fields.final_recipient.is_none()
            {
                fields.final_recipient = recipient(value);
            } else if name.eq_ignore_ascii_case("original-recipient")
                && fields.original_recipient.is_none()
            {
                fields.original_recipient = recipient(value);
            }
        }
        fields
    }
}

/// `rfc822; <user@example.com>` -> `user@example.com`.
fn recipient(value: &str) -> Option<String> {
    let address = value
        .split_once(';')
        .map_or(value, |(_, address)| address)
        .trim();
    let address = address.strip_prefix('<').unwrap_or(address);
    clean(address.strip_suffix('>').unwrap_or(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_delivery_status_fields() {
        let fields = DeliveryStatus::parse(
            b"Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; <nobody@example.com>\r\nAction: failed\r\nStatus: 5.1.1 (user unknown)\r\n",
        );
        assert_eq!(fields.status.as_deref(), Some("5.1.1"));
        assert_eq!(
            fields.final_recipient.as_deref(),
            Some("nobody@example.com")
        );
        assert_eq!(fields.original_recipient, None);
    }
}
