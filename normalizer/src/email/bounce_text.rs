//! Bounces that are not RFC 3464 reports: qmail's "Hi. This is the qmail-send program", Exim's
//! "Mail delivery failed" text with `X-Failed-Recipients`, old Gmail and Exchange texts.
//!
//! They are recognised by a daemon sender (or null return path) together with a subject or body
//! phrase from the table below, and the facts are read from the text: the first RFC 3463 status
//! code, the failed recipient, and the Message-ID of the copy of our message that follows.

use std::sync::LazyLock;

use regex::Regex;

use super::headers::clean;
use crate::case::BounceKind;

/// Subject phrases (lowercase) of bounces across MTAs and languages.
const SUBJECT_CUES: &[&str] = &[
    "undeliver",
    "undelivered mail",
    "delivery status notification",
    "delivery failure",
    "delivery failed",
    "mail delivery failed",
    "returned mail",
    "failure notice",
    "delivery has failed",
    "nondeliverable",
    "unzustellbar",
    "nicht zustellbar",
    "olevererbart",
    "kunde inte levereras",
    "non remis",
    "non distribuable",
    "no se puede entregar",
    "no entregado",
];

/// Body phrases (lowercase) that only delivery software writes.
const BODY_CUES: &[&str] = &[
    "this is the qmail-send program",
    "this message was created automatically by mail delivery software",
    "delivery to the following recipient failed",
    "delivery to the following recipients failed",
    "i'm afraid i wasn't able to deliver your message",
    "your message couldn't be delivered",
    "your message could not be delivered",
    "could not be delivered to one or more of its recipients",
    "the following addresses had delivery problems",
];

/// Where the returned copy of the message starts, per MTA.
const COPY_SEPARATORS: &[&str] = &[
    "--- Below this line is a copy of the message.",
    "------ This is a copy of the message, including all the headers. ------",
    "----- Original message -----",
    "------ This is a copy of the message's headers. ------",
    "----- Original Message -----",
];

/// Only the start of a long bounce text is read for phrases and codes.
const SCAN_BYTES: usize = 8192;

static STATUS: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b([245]\.[0-9]{1,3}\.[0-9]{1,3})\b").ok());

pub(crate) fn subject_says_bounce(subject: Option<&str>) -> bool {
    subject
        .map(str::to_lowercase)
        .is_some_and(|s| SUBJECT_CUES.iter().any(|cue| s.contains(cue)))
}

pub(crate) fn body_says_bounce(text: &str) -> bool {
    let head = head(text).to_lowercase();
    BODY_CUES.iter().any(|cue| head.contains(cue))
}

/// What a bounce text says about the failed delivery.
#[derive(Debug, Default)]
pub(crate) struct TextFacts {
    pub status: Option<String>,
    pub kind: Option<BounceKind>,
    pub failed_recipient: Option<String>,
    pub original_message_id: Option<String>,
}

pub(crate) fn facts(text: &str) -> TextFacts {
    let (report, copy) = split_copy(text);
    let report = head(report);
    let status = STATUS
        .as_ref()
        .and_then(|re| re.captures(report))
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_owned());
    let lower = report.to_lowercase();
    let kind = if lower.contains("permanent") || lower.contains("given up") {
        Some(BounceKind::Permanent)
    } else if ["temporar", "delayed", "will retry", "still being retried"]
        .iter()
        .any(|cue| lower.contains(cue))
    {
        Some(BounceKind::Transient)
    } else {
        None
    };
    TextFacts {
        status,
        kind,
        failed_recipient: report.lines().find_map(bare_address),
        original_message_id: copy.unwrap_or(text).lines().find_map(message_id_line),
    }
}

/// The report and, when a known separator is present, the returned copy after it.
fn split_copy(text: &str) -> (&str, Option<&str>) {
    COPY_SEPARATORS
        .iter()
        .filter_map(|sep| text.find(sep).map(|at| (at, sep.len())))
        .min()
        .map_or((text, None), |(at, len)| {
            (text.get(..at).unwrap_or(text), text.get(at + len..))
        })
}

/// A line that is only an address: qmail's `<a@b>:`, Exim's and Gmail's indented `a@b`.
fn bare_address(line: &str) -> Option<String> {
    let line = line.trim().trim_end_matches(':');
    let inner = line
        .strip_prefix('<')
        .and_then(|l| l.strip_suffix('>'))
        .unwrap_or(line);
    let plausible = inner.contains('@')
        && !inner.starts_with('@')
        && !inner.ends_with('@')
        && !inner.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')'));
    plausible.then(|| clean(inner)).flatten()
}

/// `Message-ID: <id>` in a returned header block.
fn message_id_line(line: &str) -> Option<String> {
    let (name, value) = line.split_once(':')?;
    if !name.trim().eq_ignore_ascii_case("message-id") {
        return None;
    }
    let value = value.trim();
    let value = value.strip_prefix('<').unwrap_or(value);
    clean(value.split('>').next().unwrap_or(value))
}

fn head(text: &str) -> &str {
    let mut cut = text.len().min(SCAN_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.get(..cut).unwrap_or(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_qmail_bounce() {
        let text = "Hi. This is the qmail-send program at mx.example.net.\nI'm afraid I wasn't able to deliver your message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n<nobody@example.net>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n--- Below this line is a copy of the message.\n\nReturn-Path: <support@example.com>\nMessage-ID: <case-7@support.example.com>\nSubject: Re: your order\n";
        assert!(body_says_bounce(text));
        let f = facts(text);
        assert_eq!(f.status.as_deref(), Some("5.1.1"));
        assert_eq!(f.kind, Some(BounceKind::Permanent));
        assert_eq!(f.failed_recipient.as_deref(), Some("nobody@example.net"));
        assert_eq!(
            f.original_message_id.as_deref(),
            Some("case-7@support.example.com")
        );
    }

    #[test]
    fn subjects_in_several_languages() {
        for s in [
            "Undeliverable: hi",
            "Unzustellbar: Hallo",
            "Olevererbart: hej",
            "failure notice",
        ] {
            assert!(subject_says_bounce(Some(s)), "{s}");
        }
        assert!(!subject_says_bounce(Some("Delivery address change")));
    }
}
