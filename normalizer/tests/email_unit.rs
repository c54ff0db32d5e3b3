//! Focused tests of the email normalizer: header injection via encoded words, classification,
//! threading, dead-letter header reads and inputs that are not messages at all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use intake_normalizer::NormalizeError;
use intake_normalizer::case::{BounceKind, Case};
use intake_normalizer::email::{normalize_email, read_headers};

fn case(raw: &str) -> Case {
    normalize_email(raw.as_bytes(), &common::ctx())
        .expect("normalizes")
        .case
}

fn assert_no_controls(label: &str, value: Option<&str>) {
    if let Some(value) = value {
        assert!(
            !value.chars().any(char::is_control),
            "{label} kept a control char: {value:?}"
        );
    }
}

#[test]
fn encoded_words_cannot_smuggle_cr_lf_nul() {
    let c = case(concat!(
        "From: =?utf-8?q?evil=0D=0Abcc=3A_x=40y=00?= <a@example.com>\r\n",
        "Sender: =?utf-8?b?U2VuZGVyDQpYLUV2aWw6IDE=?= <s@example.com>\r\n",
        "To: =?utf-8?q?to=0Aname?= <t@example.com>, =?utf-8?q?x=00y?= <u@example.com>\r\n",
        "Cc: =?utf-8?q?cc=0Dname?= <c@example.com>\r\n",
        "Subject: =?utf-8?q?hello=0D=0ABcc=3A_victim=40example=2Ecom=00?=\r\n",
        "\r\nbody\r\n",
    ));
    // The decoded name also carried an address (x@y): that word is dropped and the finding noted.
    assert_eq!(c.sender.name.as_deref(), Some("evilbcc:"));
    assert_eq!(c.sender.address.as_deref(), Some("a@example.com"));
    assert!(
        c.classification
            .reasons
            .iter()
            .any(|r| r == "header: display name contains an address"),
        "{:?}",
        c.classification.reasons
    );
    assert_eq!(c.subject.as_deref(), Some("helloBcc: victim@example.com"));
    assert_no_controls("sender", c.sender.name.as_deref());
    for a in c.recipients.to.iter().chain(&c.recipients.cc) {
        assert_no_controls("recipient", a.name.as_deref());
        assert_no_controls("recipient", a.address.as_deref());
    }
    assert_eq!(c.recipients.to.len(), 2);
    assert_eq!(c.recipients.to[1].name.as_deref(), Some("xy"));
}

#[test]
fn read_headers_strips_controls_and_lowercases_names() {
    let headers = read_headers(
        b"FROM: =?utf-8?q?a=0D=0Ab?= <a@example.com>\r\nSubject: =?utf-8?q?s=00t?=\r\nMessage-ID: <id@x>\r\nDate: Mon, 1 Jul 2024 10:00:00 +0000\r\n\r\n",
    );
    assert_eq!(
        headers.get("from").map(String::as_str),
        Some("ab <a@example.com>")
    );
    assert_eq!(headers.get("subject").map(String::as_str), Some("st"));
    assert_eq!(headers.get("message-id").map(String::as_str), Some("id@x"));
    assert_eq!(
        headers.get("date").map(String::as_str),
        Some("2024-07-01T10:00:00Z")
    );
    assert!(read_headers(b"").is_empty());
}

#[test]
fn empty_or_headerless_input_is_unparsable() {
    for raw in [&b""[..], b"   \r\n\r\n", b"\r\n\r\njust a body"] {
        let result = normalize_email(raw, &common::ctx());
        assert!(
            matches!(result, Err(NormalizeError::Unparsable { .. })),
            "{raw:?} gave {result:?}"
        );
    }
}

#[test]
fn sender_falls_back_to_sender_header_and_dates_are_validated() {
    let c = case("Sender: Bot <bot@example.com>\r\nDate: Mon, 31 Feb 2024 10:00:00 +0000\r\n\r\nx");
    assert_eq!(c.sender.address.as_deref(), Some("bot@example.com"));
    assert_eq!(c.sent_at, None, "February 31 does not exist");
    let c = case("From: a@example.com\r\nDate: Mon, 1 Jul 2024 10:00:00 -0230\r\n\r\nx");
    assert_eq!(c.sent_at.as_deref(), Some("2024-07-01T10:00:00-02:30"));
    let c = case("From: a@example.com\r\nDate: Mon, 1 Jul 99999 99:99:99 +9999\r\n\r\nx");
    assert_eq!(c.sent_at, None);
}

#[test]
fn rfc3834_and_vendor_headers_mark_auto_submitted() {
    let human =
        case("From: a@example.com\r\nAuto-Submitted: no\r\nSubject: out of office\r\n\r\nx");
    assert!(!human.classification.auto_submitted && !human.classification.out_of_office);

    let generated = case("From: a@example.com\r\nAuto-Submitted: auto-generated (x)\r\n\r\nx");
    assert!(generated.classification.auto_submitted);
    assert!(!generated.classification.out_of_office);
    assert_eq!(
        generated.classification.reasons,
        ["auto-submitted: auto-generated"]
    );

    let bulk = case("From: a@example.com\r\nPrecedence: Bulk\r\n\r\nx");
    assert!(bulk.classification.auto_submitted);
    assert_eq!(bulk.classification.reasons, ["precedence: bulk"]);

    let vacation = case("From: a@example.com\r\nX-Autoreply: yes\r\nSubject: Re: hi\r\n\r\nx");
    assert!(vacation.classification.auto_submitted && vacation.classification.out_of_office);
}

#[test]
fn out_of_office_needs_an_auto_reply_signal() {
    let ooo = case(
        "From: a@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: Out of Office: back Monday\r\n\r\nx",
    );
    assert!(ooo.classification.out_of_office);
    // A person writing about an office is not an auto-reply.
    let person = case("From: a@example.com\r\nSubject: Out of office supplies\r\n\r\nx");
    assert!(!person.classification.out_of_office);
}

#[test]
fn mailing_lists_are_recognised() {
    let listed = case("From: a@example.com\r\nList-Id: Users <users.lists.example.org>\r\n\r\nx");
    assert_eq!(
        listed.classification.mailing_list.as_deref(),
        Some("users.lists.example.org")
    );
    let unsub = case("From: a@example.com\r\nList-Unsubscribe: <mailto:u@example.org>\r\n\r\nx");
    assert_eq!(unsub.classification.mailing_list.as_deref(), Some("list"));
    let precedence = case("From: a@example.com\r\nPrecedence: list\r\n\r\nx");
    assert_eq!(
        precedence.classification.mailing_list.as_deref(),
        Some("list")
    );
}

#[test]
fn classic_bounce_from_mailer_daemon_with_null_return_path() {
    let c = case(
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example.com\r\nSubject: failure notice\r\n\r\nSorry.",
    );
    let bounce = c.classification.bounce.expect("a bounce");
    assert_eq!(bounce.kind, BounceKind::Unknown);
    assert!(c.classification.auto_submitted);
    // The same message with a real return path is just mail from a daemon account.
    let c =
        case("Return-Path: <x@example.com>\r\nFrom: MAILER-DAEMON@mx.example.com\r\n\r\nSorry.");
    assert!(c.classification.bounce.is_none());
}

#[test]
fn dsn_fields_are_extracted() {
    let c = case(concat!(
        "From: postmaster@mx.example.com\r\n",
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n",
        "--b\r\nContent-Type: text/plain\r\n\r\nIt failed.\r\n",
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n",
        "Reporting-MTA: dns; mx.example.com\r\n\r\n",
        "Original-Recipient: rfc822;orig@example.net\r\nFinal-Recipient: rfc822; final@example.net\r\n",
        "Action: delayed\r\nStatus: 4.4.7\r\n\r\n",
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <orig-1@example.com>\r\nSubject: hi\r\n\r\n",
        "--b--\r\n",
    ));
    let bounce = c.classification.bounce.expect("a bounce");
    assert_eq!(bounce.kind, BounceKind::Transient);
    assert_eq!(bounce.status.as_deref(), Some("4.4.7"));
    assert_eq!(
        bounce.failed_recipient.as_deref(),
        Some("final@example.net")
    );
    assert_eq!(
        bounce.original_message_id.as_deref(),
        Some("orig-1@example.com")
    );
    assert_eq!(
        c.classification.reasons,
        ["dsn: report-type=delivery-status"]
    );
    assert_eq!(c.body.text, "It failed.");
}

#[test]
fn conversation_key_prefers_the_thread_root() {
    let reply = case(
        "From: a@example.com\r\nMessage-ID: <c@x>\r\nIn-Reply-To: <b@x>\r\nReferences: <a@x> <b@x>\r\n\r\nx",
    );
    assert_eq!(reply.conversation.key, "a@x");
    assert!(!reply.conversation.is_new);
    assert_eq!(reply.source.references, ["a@x", "b@x"]);
    assert_eq!(reply.source.in_reply_to, ["b@x"]);
    let fresh = case("From: a@example.com\r\n\r\nx");
    assert_eq!(
        fresh.conversation.key,
        format!("email:{}", common::IDEMPOTENCY_KEY)
    );
    assert!(fresh.conversation.is_new);
}

#[test]
fn raw_message_is_the_first_blob_and_blobs_are_deduplicated() {
    let raw = concat!(
        "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n",
        "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n",
        "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n",
        "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=b.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n",
        "--b--\r\n",
    );
    let normalized = normalize_email(raw.as_bytes(), &common::ctx()).expect("normalizes");
    assert_eq!(normalized.case.attachments.len(), 2);
    assert_eq!(
        normalized.blobs.len(),
        2,
        "identical attachments share a blob"
    );
    assert_eq!(normalized.blobs[0].bytes.as_ref(), raw.as_bytes());
    assert_eq!(normalized.blobs[1].bytes.as_ref(), &[0u8, 1, 2]);
    assert!(matches!(
        normalized.blobs[0].bytes,
        std::borrow::Cow::Borrowed(_)
    ));
    let attachment = &normalized.case.attachments[0];
    assert_eq!(attachment.size, 3);
    assert_eq!(
        attachment.blob_ref.as_deref(),
        Some(format!("sha256:{}", attachment.sha256).as_str())
    );
}

#[test]
fn content_language_stands_in_for_a_short_body_and_is_recorded_as_the_source() {
    use intake_normalizer::case::LanguageSource;
    let short = case(concat!(
        "From: a@example.com\r\nTo: help@example.com\r\nSubject: Re: Rechnung\r\n",
        "Content-Language: de-CH\r\n\r\nDanke, passt!\r\n",
    ));
    assert_eq!(short.language.as_deref(), Some("de"));
    assert_eq!(short.language_source, Some(LanguageSource::Header));

    // The header never overrules what the text clearly says.
    let spanish = case(concat!(
        "From: a@example.com\r\nTo: help@example.com\r\nSubject: VPN\r\n",
        "Content-Language: en-US\r\n\r\n",
        "Muchas gracias, la impresora vuelve a funcionar. Sin embargo, todavía no puedo ",
        "conectarme a la VPN desde casa, la contraseña es rechazada.\r\n",
    ));
    assert_eq!(spanish.language.as_deref(), Some("es"));
    assert_eq!(spanish.language_source, Some(LanguageSource::Detector));

    let unknown = case("From: a@example.com\r\nSubject: x\r\n\r\nok\r\n");
    assert_eq!((unknown.language, unknown.language_source), (None, None));
}
