//! First-pass classification: machine-written mail (RFC 3834 and vendor headers), out-of-office
//! replies, bounces and mailing lists. A helpdesk uses these to avoid answering robots and to
//! keep auto-reply loops from forming; every flag records its reason.

use mail_parser::{Header, Message};

use super::bounce;
use super::headers::{clean, raw_value};
use crate::case::{Classification, Party};

/// Subject fragments (lowercase) that out-of-office replies use in common locales.
const OOO_SUBJECT_CUES: &[&str] = &[
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto response",
    "autoresponse",
    "vacation",
    "away from",
    "abwesenheit",
    "abwesend",
    "automatische antwort",
    "réponse automatique",
    "absence",
    "fuera de la oficina",
    "respuesta automática",
];

pub(crate) fn classify(
    raw: &[u8],
    message: &Message<'_>,
    subject: Option<&str>,
    sender: &Party,
) -> Classification {
    let headers: &[Header<'_>] = message
        .parts
        .first()
        .map(|p| p.headers.as_slice())
        .unwrap_or_default();
    let header = |name: &str| raw_value(raw, headers, name).and_then(|v| clean(&v));
    let mut class = Classification::default();
    let mut auto_replied = false;

    // RFC 3834: anything but "no" means a machine wrote it; the keyword precedes any comment.
    if let Some(value) = header("Auto-Submitted") {
        let keyword = value
            .split([';', '('])
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !keyword.is_empty() && keyword != "no" {
            auto_replied = keyword == "auto-replied";
            class.auto_submitted = true;
            class
                .reasons
                .push(format!("auto-submitted: {}", short(&keyword)));
        }
    }
    let x_autoreply = header("X-Autoreply").is_some();
    for (present, reason) in [
        (x_autoreply, "x-autoreply"),
        (header("X-Autorespond").is_some(), "x-autorespond"),
    ] {
        if present {
            auto_replied = true;
            class.auto_submitted = true;
            class.reasons.push(reason.to_owned());
        }
    }
    // Exchange marks the mail it generates (OOF, NDRs, notifications) with this header.
    if let Some(value) =
        header("X-Auto-Response-Suppress").filter(|v| !v.eq_ignore_ascii_case("none"))
    {
        class.auto_submitted = true;
        class.reasons.push(format!(
            "x-auto-response-suppress: {}",
            short(&value.to_ascii_lowercase())
        ));
    }
    let precedence = header("Precedence").map(|v| v.to_ascii_lowercase());
    if let Some(value) = precedence
        .as_deref()
        .filter(|v| matches!(*v, "bulk" | "junk" | "list" | "auto_reply"))
    {
        auto_replied |= value == "auto_reply";
        class.auto_submitted = true;
        class.reasons.push(format!("precedence: {value}"));
    }

    if let Some((bounce, reason)) = bounce::detect(raw, message, sender) {
        // A bounce is written by an MTA: never answer it.
        class.auto_submitted = true;
        class.reasons.push(reason);
        class.bounce = Some(bounce);
    } else if auto_replied {
        let subject = subject.map(str::to_lowercase).unwrap_or_default();
        if OOO_SUBJECT_CUES.iter().any(|cue| subject.contains(cue)) {
            class.out_of_office = true;
            class.reasons.push("out-of-office: subject".to_owned());
        } else if x_autoreply {
            class.out_of_office = true;
            class.reasons.push("out-of-office: x-autoreply".to_owned());
        }
    }

    if let Some(list_id) = header("List-Id").as_deref().and_then(list_identifier) {
        class.reasons.push(format!("list-id: {}", short(&list_id)));
        class.mailing_list = Some(list_id);
    } else if header("List-Unsubscribe").is_some() {
        class.reasons.push("list-unsubscribe present".to_owned());
        class.mailing_list = Some("list".to_owned());
    } else if precedence.as_deref() == Some("list") {
        class.mailing_list = Some("list".to_owned());
    }
    class
}

/// The `<list.example.com>` identifier of a List-Id (RFC 2919); the phrase before it is only a
/// display name. A List-Id without brackets is taken whole.
fn list_identifier(value: &str) -> Option<String> {
    let inner = value
        .rsplit_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map_or(value, |(id, _)| id);
    clean(inner)
}

/// Header values end up in `reasons`; keep them short.
fn short(value: &str) -> &str {
    value
        .char_indices()
        .nth(80)
        .map_or(value, |(cut, _)| value.get(..cut).unwrap_or(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_identifier_takes_the_bracketed_id() {
        assert_eq!(
            list_identifier("Foo users <foo.lists.example.com>").as_deref(),
            Some("foo.lists.example.com")
        );
        assert_eq!(
            list_identifier("bare.example.com").as_deref(),
            Some("bare.example.com")
        );
    }
}
