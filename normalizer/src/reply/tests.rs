//! Reply extraction, one case per client and language; the golden fixtures cover whole messages.

use super::reply_text;

fn reply(text: &str) -> Option<String> {
    reply_text(text).map(|r| r.into_owned())
}

fn assert_reply(text: &str, expected: &str) {
    assert_eq!(reply(text).as_deref(), Some(expected), "input:\n{text}");
}

#[test]
fn attribution_lines_in_each_language() {
    for attribution in [
        "On Mon, Jul 1, 2024 at 10:00 AM Support <support@example.com> wrote:",
        "On 1 Jul 2024, at 10:00, Support <support@example.com> wrote:",
        "Am Mo., 1. Juli 2024 um 10:00 Uhr schrieb Support <support@example.com>:",
        "Am 01.07.2024 um 10:00 schrieb Support Team:",
        "Den 1 juli 2024 kl. 10:00 skrev Support <support@example.com>:",
        "mån 1 juli 2024 kl. 10:00 skrev Support <support@example.com>:",
        "Le lun. 1 juil. 2024 à 10:00, Support <support@example.com> a écrit :",
        "Le 1 juil. 2024 à 10:00, Support a\u{a0}écrit\u{a0}:",
        "El lun, 1 jul 2024 a las 10:00, Support (<support@example.com>) escribió:",
        "Op ma 1 jul. 2024 om 10:00 schreef Support <support@example.com>:",
    ] {
        let text = format!("Thanks, that fixed it.\n\n{attribution}\n\nOld answer\nmore\n");
        assert_reply(&text, "Thanks, that fixed it.");
        let quoted = format!("Thanks, that fixed it.\n\n{attribution}\n> Old answer\n> more\n");
        assert_reply(&quoted, "Thanks, that fixed it.");
    }
}

#[test]
fn attribution_wrapped_over_two_lines() {
    assert_reply(
        "Yes please.\n\nOn Mon, Jul 1, 2024 at 10:00 AM Support Team <\nsupport@example.com> wrote:\n\n> Shall we?\n",
        "Yes please.",
    );
    assert_reply(
        "Ja gerne.\n\nAm Mo., 1. Juli 2024 um 10:00 Uhr schrieb Support Team\n<support@example.com>:\n> Sollen wir?\n",
        "Ja gerne.",
    );
    assert_reply(
        "Oui.\n\nLe lun. 1 juil. 2024 à 10:00, Support Team <support@example.com>\na écrit :\nAncien texte\n",
        "Oui.",
    );
}

#[test]
fn outlook_header_blocks_in_each_language() {
    for block in [
        "From: Support <support@example.com>\nSent: Monday, July 1, 2024 10:00 AM\nTo: Ann <ann@example.org>\nSubject: RE: Order 4711",
        "Von: Support <support@example.com>\nGesendet: Montag, 1. Juli 2024 10:00\nAn: Ann\nBetreff: AW: Bestellung",
        "Från: Support <support@example.com>\nSkickat: den 1 juli 2024 10:00\nTill: Ann\nÄmne: SV: Order",
        "De : Support <support@example.com>\nEnvoyé : lundi 1 juillet 2024 10:00\nÀ : Ann\nObjet : RE: Commande",
        "De: Support <support@example.com>\nEnviado: lunes, 1 de julio de 2024 10:00\nPara: Ann\nAsunto: RE: Pedido",
        "*From:* Support <support@example.com>\n*Sent:* Monday, July 1, 2024 10:00 AM\n*To:* Ann",
    ] {
        let text = format!(
            "See attached.\n\nAnn\n\n________________________________\n{block}\n\nOld text\n"
        );
        assert_reply(&text, "See attached.\n\nAnn");
    }
}

#[test]
fn a_from_line_alone_is_text() {
    assert_reply(
        "From: my old address I could log in.\nNow I cannot.\n",
        "From: my old address I could log in.\nNow I cannot.",
    );
}

#[test]
fn separators_cut() {
    for sep in [
        "-----Original Message-----",
        "----- Original Message -----",
        "-----Ursprüngliche Nachricht-----",
        "-----Ursprungligt meddelande-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
        "---------- Forwarded message ---------",
        "-------- Original Message --------",
        "Begin forwarded message:",
        "##- Please type your reply above this line -##",
    ] {
        assert_reply(&format!("New words.\n{sep}\nOld words.\n"), "New words.");
    }
}

#[test]
fn signatures_cut() {
    assert_reply(
        "Hi,\nit works.\n\n-- \nAnn Example\nACME Inc.\n",
        "Hi,\nit works.",
    );
    assert_reply("Hi,\nit works.\n--\nAnn\n", "Hi,\nit works.");
    for sig in [
        "Sent from my iPhone",
        "Skickat från min iPhone",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Get Outlook for iOS",
        "Get Outlook for Android",
        "Sent from Outlook",
    ] {
        assert_reply(
            &format!("Fine, thanks.\n\n{sig}\n\n> On ... wrote:\n> x\n"),
            "Fine, thanks.",
        );
    }
    // The guard suffix keeps an ordinary German sentence.
    assert_reply(
        "Von meinem Konto fehlt Geld.\n",
        "Von meinem Konto fehlt Geld.",
    );
}

#[test]
fn inline_replies_keep_the_answers() {
    let text =
        "On Mon, Ann <ann@example.com> wrote:\n> Which size?\nLarge.\n\n> Which colour?\nBlue.\n";
    assert_eq!(reply(text).as_deref(), Some("Large.\n\nBlue."));
}

#[test]
fn only_a_quote_or_forward_is_none() {
    assert_eq!(reply("> just\n> quoted\n"), None);
    assert_eq!(
        reply("---------- Forwarded message ---------\nFrom: a\nDate: b\nTo: c\n"),
        None
    );
    assert_eq!(reply(""), None);
    assert_eq!(reply("\n \n"), None);
}

#[test]
fn prose_that_mentions_writing_is_kept() {
    let text = "As the manual wrote:\nrestart the router.\nIt did not help.";
    assert_reply(text, text);
}

#[test]
fn a_plain_message_is_borrowed_and_trimmed() {
    let text = "\n  Hello there\nsecond line\n\n";
    let r = reply_text(text);
    assert!(
        matches!(
            r,
            Some(std::borrow::Cow::Borrowed("Hello there\nsecond line"))
        ),
        "{r:?}"
    );
}

#[test]
fn crlf_lines_are_understood() {
    assert_reply("Thanks\r\n\r\n-- \r\nAnn\r\n", "Thanks");
}
