//! Unit tests of detection and hints; the accuracy over the labelled sentences is
//! `normalizer/tests/language_accuracy.rs`.

use super::*;

const GERMAN: &str =
    "Hallo, meine Bestellung ist noch nicht angekommen. Wo ist sie denn geblieben?";

#[test]
fn detects_the_five_support_languages() {
    for (text, code) in [
        (
            "Hello, my order has not arrived yet and I would like to know where it is.",
            "en",
        ),
        (GERMAN, "de"),
        (
            "Hej, min beställning har inte kommit än och jag undrar var den är någonstans.",
            "sv",
        ),
        (
            "Bonjour, ma commande n'est pas encore arrivée et je voudrais savoir où elle est.",
            "fr",
        ),
        (
            "Hola, mi pedido todavía no ha llegado. ¿Podrían decirme cuándo llegará? Muchas gracias.",
            "es",
        ),
    ] {
        assert_eq!(detect(text), Some(code), "{text}");
    }
}

#[test]
fn the_spanish_message_of_issue_12_is_spanish() {
    let text = "Muchas gracias, la impresora vuelve a funcionar. Sin embargo, todavía no puedo \
                conectarme a la VPN desde casa, la contraseña es rechazada.";
    assert_eq!(detect(text), Some("es"));
}

#[test]
fn other_scripts_and_languages_fall_back_to_whatlang() {
    let greek = "Καλημέρα, η παραγγελία μου δεν έχει φτάσει ακόμα, αν και στάλθηκε την περασμένη \
                 εβδομάδα. Μπορείτε να μου πείτε πού βρίσκεται;";
    assert_eq!(detect(greek), Some("el"));
    let czech = "Dobrý den, moje objednávka stále nedorazila, přestože byla odeslána minulý týden. \
                 Můžete mi prosím sdělit, kde se nachází?";
    assert_eq!(detect(czech), Some("cs"));
}

#[test]
fn an_allowlist_limits_the_answers() {
    let five = LanguageDetector::only(&["en", "de", "sv", "fr", "es"]).unwrap();
    assert_eq!(five.len(), 5);
    assert_eq!(five.detect(GERMAN), Some("de"));
    let no_german = LanguageDetector::only(&["en", "fr", "ru"]).unwrap();
    assert_eq!(no_german.detect(GERMAN), None);
    assert_eq!(
        LanguageDetector::only(&["xx"]).unwrap_err(),
        UnknownLanguage("xx".into())
    );
    assert!(LanguageDetector::all().len() > 60);
}

#[test]
fn short_or_letterless_text_is_unknown() {
    assert_eq!(detect("ok thanks"), None);
    assert_eq!(detect("1234 5678 9012 3456 7890 !!!! ???? 0000"), None);
    assert_eq!(detect(""), None);
}

#[test]
fn a_hint_stands_in_for_short_text_and_breaks_ties_only() {
    let all = LanguageDetector::all();
    let header = |tag| {
        Some(LanguageHint {
            tag,
            source: LanguageSource::Header,
        })
    };
    // No evidence in the text: the hint is the answer, recorded as such.
    assert_eq!(
        all.detect_hinted("Danke!", header("de-CH, en")),
        Some(Detected {
            code: "de",
            source: LanguageSource::Header
        })
    );
    // "no" is Bokmål; an unknown tag is ignored.
    assert_eq!(
        all.detect_hinted("Takk!", header("no")).map(|d| d.code),
        Some("nb")
    );
    assert_eq!(all.detect_hinted("Takk!", header("x-klingon")), None);
    // A clear answer is never overruled.
    assert_eq!(
        all.detect_hinted(GERMAN, header("fr")),
        Some(Detected {
            code: "de",
            source: LanguageSource::Detector
        })
    );
    // A hint outside the allowlist counts for nothing.
    let five = LanguageDetector::only(&["en", "de", "sv", "fr", "es"]).unwrap();
    assert_eq!(five.detect_hinted("Takk!", header("nb")), None);
}

#[test]
fn a_hint_decides_between_close_neighbours() {
    // Words Danish and Norwegian share, nothing else: the model cannot choose alone.
    let text = "Jeg har en ordre, men den er ikke kommet. Kan dere hjelpe";
    let shared = "Hej, jeg har et spørsmål om en faktura som er sendt til meg";
    let all = LanguageDetector::all();
    for sample in [text, shared] {
        let alone = all.detect(sample);
        let hinted = all.detect_hinted(
            sample,
            Some(LanguageHint {
                tag: "nb-NO",
                source: LanguageSource::ChannelHint,
            }),
        );
        assert!(
            alone.is_none() || alone == Some("nb"),
            "{sample}: {alone:?}"
        );
        assert_eq!(hinted.map(|d| d.code), Some("nb"), "{sample}");
    }
}

#[test]
fn the_window_cuts_on_a_char_boundary() {
    let text = "ä".repeat(2000);
    let cut = prefix(&text, WINDOW_BYTES);
    assert!(cut.len() <= WINDOW_BYTES && !cut.is_empty());
}
