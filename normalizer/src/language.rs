//! Language detection for any channel's text: whatlang's trigram model, reported as ISO 639-1.
//!
//! Detection reads only the first [`WINDOW_BYTES`] of the text: the language of a customer's
//! message is settled in its first sentences, and whatlang's cost grows with the input, so a
//! long pasted log must not cost more than a short note. The answer is `None` whenever whatlang
//! itself is unsure or the text has too few letters to judge.
//!
//! whatlang compares the text against every candidate language's trigram profile, so its cost
//! is dominated by the number of candidates (~100 µs against all 38 Latin-script languages,
//! roughly the cost of the rest of email normalization). A deployment that knows its customers'
//! languages can restrict the candidates with [`LanguageDetector::only`], which is both faster
//! and less prone to confusing neighbours (Spanish and Galician-like Portuguese, Danish and
//! Norwegian).

use std::sync::LazyLock;

use whatlang::{Detector, Lang};

/// How much of the text is looked at, in bytes (cut back to a char boundary).
const WINDOW_BYTES: usize = 512;

/// Below this many letters in the window trigram statistics are noise ("ok", "thx!", a URL).
const MIN_LETTERS: usize = 20;

/// Which languages detection may answer; see the module docs for why restricting helps.
#[derive(Debug, Clone, Default)]
pub struct LanguageDetector {
    detector: Detector,
}

/// A language code that whatlang does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown or unsupported language code {0:?} (expected ISO 639-1, e.g. \"en\")")]
pub struct UnknownLanguage(pub String);

impl LanguageDetector {
    /// Every language whatlang knows (the default).
    pub fn all() -> &'static LanguageDetector {
        static ALL: LazyLock<LanguageDetector> = LazyLock::new(LanguageDetector::default);
        &ALL
    }

    /// Only the given ISO 639-1 codes, e.g. `["en", "de", "sv", "fr", "es"]`.
    pub fn only<S: AsRef<str>>(codes: &[S]) -> Result<Self, UnknownLanguage> {
        let langs = codes
            .iter()
            .map(|code| {
                let code = code.as_ref();
                Lang::all()
                    .iter()
                    .copied()
                    .find(|&lang| iso639_1(lang).eq_ignore_ascii_case(code))
                    .ok_or_else(|| UnknownLanguage(code.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            detector: Detector::with_allowlist(langs),
        })
    }

    /// The ISO 639-1 code of the language `text` is written in, or `None` when unsure.
    pub fn detect(&self, text: &str) -> Option<&'static str> {
        let window = prefix(text, WINDOW_BYTES);
        let letters = window.chars().filter(|c| c.is_alphabetic());
        if letters.take(MIN_LETTERS).count() < MIN_LETTERS {
            return None;
        }
        let info = self.detector.detect(window)?;
        info.is_reliable().then(|| iso639_1(info.lang()))
    }
}

/// [`LanguageDetector::detect`] over every language whatlang knows.
pub fn detect(text: &str) -> Option<&'static str> {
    LanguageDetector::all().detect(text)
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.get(..cut).unwrap_or_default()
}

/// whatlang speaks ISO 639-3; the case schema (like HTTP's Accept-Language and most helpdesks)
/// uses 639-1. Every language whatlang 0.16 knows has a two-letter code. The match is exhaustive
/// on purpose: a whatlang upgrade that adds a language fails to compile here instead of silently
/// reporting nothing.
fn iso639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "nb",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_five_support_languages() {
        for (text, code) in [
            (
                "Hello, my order has not arrived yet and I would like to know where it is.",
                "en",
            ),
            (
                "Hallo, meine Bestellung ist noch nicht angekommen. Wo ist sie denn geblieben?",
                "de",
            ),
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
    fn an_allowlist_limits_the_answers() {
        let five = LanguageDetector::only(&["en", "de", "sv", "fr", "es"]).unwrap();
        let text = "Hallo, meine Bestellung ist noch nicht angekommen. Wo ist sie denn geblieben?";
        assert_eq!(five.detect(text), Some("de"));
        assert_eq!(
            LanguageDetector::only(&["xx"]).unwrap_err(),
            UnknownLanguage("xx".into())
        );
    }

    #[test]
    fn short_or_letterless_text_is_unknown() {
        assert_eq!(detect("ok thanks"), None);
        assert_eq!(detect("1234 5678 9012 3456 7890 !!!! ???? 0000"), None);
        assert_eq!(detect(""), None);
    }

    #[test]
    fn the_window_cuts_on_a_char_boundary() {
        let text = "ä".repeat(2000);
        let cut = prefix(&text, WINDOW_BYTES);
        assert!(cut.len() <= WINDOW_BYTES && !cut.is_empty());
    }
}
