//! What the normalizer makes of a message beyond its fields: sanitized HTML, trusted
//! authentication results, display-name spoofing and the threading hints of whole chains.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use intake_normalizer::case::Case;
use intake_normalizer::email::{EmailOptions, normalize_email, normalize_email_with};

fn case(raw: &str) -> Case {
    normalize_email(raw.as_bytes(), &common::ctx())
        .expect("normalizes")
        .case
}

fn fixture(name: &str) -> Case {
    let path = format!(
        "{}/tests/fixtures/email/{name}.eml",
        env!("CARGO_MANIFEST_DIR")
    );
    let raw = std::fs::read(&path).expect("fixture exists");
    normalize_email_with(&raw, &common::ctx(), &common::options())
        .expect("normalizes")
        .case
}

#[test]
fn html_loses_everything_active_or_remote() {
    let html = concat!(
        r#"<html><head><style>body{background:url(https://t.example/bg.png)}</style>"#,
        r#"<link rel="stylesheet" href="https://t.example/x.css"><meta http-equiv="refresh" content="0;url=https://t.example">"#,
        r#"<base href="https://t.example/"></head><body onload="x()">"#,
        r#"<p style="background-image:url('https://t.example/p.gif')" onmouseover="y()">Hello</p>"#,
        r#"<form action="https://t.example/steal"><input name="pw" type="password"><button>Go</button></form>"#,
        r#"<iframe src="https://t.example/frame"></iframe><object data="https://t.example/o"></object>"#,
        r#"<embed src="https://t.example/e"><svg><script>alert(1)</script></svg>"#,
        r#"<img src="https://t.example/pixel.gif" srcset="https://t.example/2x.gif 2x">"#,
        r#"<img src="cid:logo@example.com" alt="logo"><table background="https://t.example/t.png"><tr><td>x</td></tr></table>"#,
        r#"<a href="javascript:alert(1)">js</a><a href="data:text/html,hi">data</a><a href="https://example.com/help">help</a>"#,
        r#"<video src="https://t.example/v.mp4"></video><audio src="https://t.example/a.mp3"></audio>"#,
        "</body></html>",
    );
    let c = case(&format!(
        "From: a@example.com\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}"
    ));
    let clean = c.body.html.expect("html kept");
    for banned in [
        "<script",
        "<style",
        "onload",
        "onmouseover",
        "style=",
        "url(",
        "<form",
        "<input",
        "<button",
        "<iframe",
        "<object",
        "<embed",
        "<link",
        "<meta",
        "<base",
        "srcset",
        "background=",
        "javascript:",
        "data:",
        "<video",
        "<audio",
        "t.example",
    ] {
        assert!(!clean.contains(banned), "{banned} survived: {clean}");
    }
    assert!(clean.contains(r#"src="cid:logo@example.com""#), "{clean}");
    assert!(clean.contains("https://example.com/help"), "{clean}");
    assert!(clean.contains("Hello"), "{clean}");
}

const AUTH_MESSAGE: &str = concat!(
    "Authentication-Results: mx.support.example.com; dkim=pass header.d=example.org; spf=fail smtp.mailfrom=example.org; dmarc=fail header.from=example.org\r\n",
    "Authentication-Results: other.example; dkim=pass header.d=evil.example\r\n",
    "From: a@example.org\r\n\r\nbody\r\n",
);

#[test]
fn authentication_results_need_the_configured_authserv_id() {
    let untrusted = case(AUTH_MESSAGE);
    assert_eq!(untrusted.authentication, None, "no authserv-id: trust none");

    let with = |id| {
        let options = EmailOptions {
            authserv_id: Some(id),
            ..EmailOptions::default()
        };
        normalize_email_with(AUTH_MESSAGE.as_bytes(), &common::ctx(), &options)
            .unwrap()
            .case
            .authentication
    };
    let ours = with("MX.support.example.com").expect("trusted header read");
    assert_eq!(ours.dkim.unwrap().result, "pass");
    assert_eq!(ours.spf.unwrap().result, "fail");
    assert_eq!(ours.dmarc.unwrap().domain.as_deref(), Some("example.org"));
    let other = with("other.example").expect("the other server's header");
    assert_eq!(other.dkim.unwrap().domain.as_deref(), Some("evil.example"));
    assert_eq!(with("nobody.example"), None);
}

#[test]
fn display_names_never_show_another_address() {
    for (from, expected_name) in [
        (r#""support@bank.example" <evil@attacker.example>"#, None),
        (
            r#""Bank Support <support@bank.example>" <evil@attacker.example>"#,
            Some("Bank Support"),
        ),
        (
            "=?utf-8?q?support=40bank=2Eexample_=3Cx=3E=00?= <evil@attacker.example>",
            Some("x"),
        ),
    ] {
        let c = case(&format!("From: {from}\r\n\r\nx"));
        assert_eq!(
            c.sender.address.as_deref(),
            Some("evil@attacker.example"),
            "{from}"
        );
        assert_eq!(c.sender.name.as_deref(), expected_name, "{from}");
        assert!(
            c.classification
                .reasons
                .iter()
                .any(|r| r == "header: display name contains an address"),
            "{from}: {:?}",
            c.classification.reasons
        );
    }
    // A name that is the sender's own address is not a disguise.
    let honest = case("From: \"ann@example.org\" <ann@example.org>\r\n\r\nx");
    assert_eq!(honest.sender.name.as_deref(), Some("ann@example.org"));
    assert!(honest.classification.reasons.is_empty());
    let two = case("From: a@example.org, b@example.org\r\nFrom: c@example.org\r\n\r\nx");
    assert!(
        two.classification
            .reasons
            .iter()
            .any(|r| r == "header: several from headers")
    );
}

fn hints(c: &Case, signal: &str) -> Vec<String> {
    c.conversation
        .hints
        .iter()
        .filter(|h| h.signal == signal)
        .map(|h| h.value.clone())
        .collect()
}

#[test]
fn a_three_message_chain_with_an_outlook_reply() {
    let first = fixture("thread_chain_1_customer_opens");
    let outlook = fixture("thread_chain_2_outlook_reply");
    let third = fixture("thread_chain_3_reply_with_references");
    assert!(first.conversation.is_new);
    // Outlook rewrote In-Reply-To to an id of its own and sent no References: the subject tag
    // and the plus address are what the gateway can resolve.
    assert!(!outlook.conversation.is_new);
    assert!(outlook.source.references.is_empty());
    assert_eq!(hints(&outlook, "subject_tag"), ["case:5001"]);
    assert_eq!(
        hints(&outlook, "plus_address"),
        ["support+c7f3a9@example.com"]
    );
    // The third message names the first as its root.
    assert_eq!(
        third.conversation.key,
        first.source.message_id.clone().unwrap()
    );
    assert!(hints(&third, "references").contains(&outlook.source.message_id.clone().unwrap()));
    for c in [&outlook, &third] {
        assert!(
            c.conversation
                .hints
                .iter()
                .filter(|h| h.signal != "message_id")
                .all(|h| { h.used || h.reason == "not yet resolved" })
        );
    }
}

#[test]
fn newsletter_replies_share_a_root_but_not_a_sender() {
    let replies: Vec<Case> = ["a", "b", "c"]
        .iter()
        .map(|x| fixture(&format!("newsletter_reply_{x}")))
        .collect();
    let roots: Vec<_> = replies.iter().map(|c| c.conversation.key.clone()).collect();
    assert!(
        roots
            .iter()
            .all(|r| r == "newsletter-2024-07@news.example.com")
    );
    let mut senders: Vec<_> = replies.iter().map(|c| c.sender.address.clone()).collect();
    senders.dedup();
    assert_eq!(
        senders.len(),
        3,
        "the gateway must scope this weak signal by sender"
    );
    assert!(replies.iter().all(|c| {
        c.body
            .reply_text
            .as_deref()
            .is_some_and(|r| !r.contains('>'))
    }));
}

#[test]
fn a_reply_with_only_a_subject_tag() {
    let c = fixture("subject_tag_only_reply");
    assert!(c.conversation.is_new, "no reply headers");
    assert_eq!(
        hints(&c, "subject_tag"),
        ["case:4711", "jira:OPS-77", "servicenow:INC0012345"]
    );
    assert_eq!(hints(&c, "plus_address"), ["support+t-4711@example.com"]);
}

#[test]
fn bounces_name_the_message_we_sent() {
    for (name, original, recipient, status) in [
        (
            "bounce_qmail_text",
            "case-4711-2@support.example.com",
            "nobody@example.net",
            "5.1.1",
        ),
        (
            "bounce_exim_text",
            "order-10023@support.example.com",
            "gone@example.org",
            "5.1.1",
        ),
        (
            "dsn_postfix",
            "20090708054735.GC7578@example.com",
            "asdfasdfasdfasdfasdfasdfewrqertrtyrthsfgdfgadfqeadvxzvz@gmail.com",
            "5.1.1",
        ),
        (
            "dsn_office365",
            "20171013111011.20866.254C2F3A4D7AA526@ninomail.com",
            "noname@example.com",
            "5.1.10",
        ),
        (
            "bounce_gmail_text_x_failed_recipients",
            "CAKsfaBUUGqVZiaMrmH3TRPfq1odQPtM7Ey5YW1SgyJJRHtAjgw@mail.gmail.com",
            "awfawfawfawfawfaw@someserverhere.com",
            "5.1.0",
        ),
    ] {
        let c = fixture(name);
        let bounce = c
            .classification
            .bounce
            .unwrap_or_else(|| panic!("{name}: no bounce"));
        assert_eq!(
            bounce.original_message_id.as_deref(),
            Some(original),
            "{name}"
        );
        assert_eq!(
            bounce.failed_recipient.as_deref(),
            Some(recipient),
            "{name}"
        );
        assert_eq!(bounce.status.as_deref(), Some(status), "{name}");
        assert!(
            c.classification.auto_submitted && !c.classification.out_of_office,
            "{name}"
        );
    }
}

#[test]
fn auto_replies_from_several_clients() {
    for name in [
        "ooo_exchange_de",
        "ooo_gmail_vacation",
        "ooo_zimbra_sv",
        "ooo_yahoo_x_autoreply_fr",
        "ooo_no_headers_es",
        "auto_reply_out_of_office",
    ] {
        let c = fixture(name);
        assert!(
            c.classification.out_of_office && c.classification.auto_submitted,
            "{name}"
        );
        assert!(c.classification.bounce.is_none(), "{name}");
    }
}
