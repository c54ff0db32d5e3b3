//! Language detection for any channel's text, reported as ISO 639-1 together with where the
//! answer came from (`language_source`: the detector, a header, or the channel's own hint).
//!
//! Two detectors, chosen by what the text is:
//! - the **word model** (`model.rs`) for the twelve languages a desk routes by most (en de sv fr
//!   es nl it pt da nb fi pl): it counts the everyday words each language uses and answers only
//!   when one language clearly leads. It tells Danish from Norwegian and Spanish from Portuguese,
//!   which whatlang's trigrams confuse, and costs a few µs whatever the text;
//! - **whatlang** (reliable answers only) for everything else: text mostly in another script
//!   (Cyrillic, Greek, CJK, Arabic, ...), or Latin text with too few of the model's words to be
//!   one of its languages. There it may answer only languages the word model does not know, so
//!   it never overrules the model on its own languages.
//!
//! Only the first [`WINDOW_BYTES`] are read: the language is settled in the first sentences,
//! and a pasted log must not cost more than a note. Below [`MIN_LETTERS`] letters there is no
//! evidence. A hint (a `Content-Language` header, Telegram's `language_code`) decides between
//! close candidates and stands in when the text says nothing; it never overrules a clear answer.
//! BENCHMARKS.md ("Language detection") compares this with whatlang, whichlang and lingua on
//! the labelled sentences of `tests/data/language`.

mod iso;
mod model;
mod signs;
mod words;

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use whatlang::{Detector, Lang};

use model::{Mask, Verdict};

/// How much of the text is looked at, in bytes (cut back to a char boundary).
const WINDOW_BYTES: usize = 512;

/// Below this many letters in the window the text is no evidence ("ok", "thx!", a URL).
const MIN_LETTERS: usize = 20;

/// Where a case's `language` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LanguageSource {
    /// Detected from the text.
    Detector,
    /// A header of the message (email: `Content-Language`).
    Header,
    /// The channel's own notion of the sender's language (Telegram: `language_code`).
    ChannelHint,
}

/// A language tag the channel supplied, e.g. `de-CH` from a `Content-Language` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LanguageHint<'a> {
    /// A BCP 47 tag or a list of them (`"de-CH, en"`): the first one's primary subtag counts.
    pub tag: &'a str,
    /// [`LanguageSource::Header`] or [`LanguageSource::ChannelHint`].
    pub source: LanguageSource,
}

/// A language and how it was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    pub code: &'static str,
    pub source: LanguageSource,
}

/// Which languages detection may answer (`[conversations] languages`), and the detectors.
#[derive(Debug, Clone)]
pub struct LanguageDetector {
    /// The word model's languages that are allowed.
    words: Mask,
    /// whatlang over every allowed language.
    fallback: Detector,
    /// The allowed languages the word model does not know.
    others: Vec<Lang>,
    languages: usize,
}

/// A language code that neither detector knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown or unsupported language code {0:?} (expected ISO 639-1, e.g. \"en\")")]
pub struct UnknownLanguage(pub String);

impl Default for LanguageDetector {
    fn default() -> Self {
        let others: Vec<Lang> = Lang::all()
            .iter()
            .copied()
            .filter(|&lang| model::index(iso::iso639_1(lang)).is_none())
            .collect();
        Self {
            words: model::ALL,
            languages: model::LANGUAGES + others.len(),
            fallback: Detector::new(),
            others,
        }
    }
}

impl LanguageDetector {
    /// Every language either detector knows (the default).
    pub fn all() -> &'static LanguageDetector {
        static ALL: LazyLock<LanguageDetector> = LazyLock::new(LanguageDetector::default);
        &ALL
    }

    /// Only the given ISO 639-1 codes, e.g. `["en", "de", "sv", "fr", "es"]`.
    pub fn only<S: AsRef<str>>(codes: &[S]) -> Result<Self, UnknownLanguage> {
        let mut words: Mask = 0;
        let mut all = Vec::new();
        let mut others = Vec::new();
        for code in codes {
            let code = code.as_ref().to_ascii_lowercase();
            let lang = whatlang_lang(&code).ok_or_else(|| UnknownLanguage(code.clone()))?;
            all.push(lang);
            match model::index(&code) {
                Some(i) => words |= 1 << i,
                None => others.push(lang),
            }
        }
        Ok(Self {
            words,
            languages: words.count_ones() as usize + others.len(),
            fallback: Detector::with_allowlist(all),
            others,
        })
    }

    /// How many languages the detector may answer.
    pub fn len(&self) -> usize {
        self.languages
    }

    /// Whether no language is allowed (never, for a detector built by [`Self::only`] from a
    /// non-empty list).
    pub fn is_empty(&self) -> bool {
        self.languages == 0
    }

    /// The ISO 639-1 code of the language `text` is written in, or `None` when unsure.
    pub fn detect(&self, text: &str) -> Option<&'static str> {
        self.detect_hinted(text, None).map(|d| d.code)
    }

    /// Detects the language of `text`; `hint` decides between close candidates and stands in
    /// when the text is no evidence, but never overrules a clear answer.
    pub fn detect_hinted(&self, text: &str, hint: Option<LanguageHint<'_>>) -> Option<Detected> {
        let window = prefix(text, WINDOW_BYTES);
        // Every language of the model is scored, allowed or not: German text is not English
        // because English is all that is allowed.
        let evidence = model::read(window);
        let hinted = || hint.and_then(|h| self.hint(h));
        if evidence.letters < MIN_LETTERS {
            return hinted();
        }
        let detected = |code| Detected {
            code,
            source: LanguageSource::Detector,
        };
        // Mostly another script: none of the word model's languages, whatlang decides.
        if evidence.latin * 2 < evidence.letters {
            return self.fallback(window).map(detected).or_else(hinted);
        }
        match evidence.verdict() {
            Verdict::Sure(i) if self.words & (1 << i) != 0 => model::code(i).map(detected),
            Verdict::Sure(_) => None,
            Verdict::Close(candidates) => hinted()
                .filter(|h| model::index(h.code).is_some_and(|i| candidates & (1 << i) != 0)),
            // Too few of the model's words. Letters none of its languages writes say another
            // Latin-script language (Czech, Turkish, ...), and Finnish, long and inflected,
            // matches few whole words but leads on its spellings: whatlang decides, but where
            // it names one of the model's languages the words must not speak against it
            // (whatlang confuses Danish and Norwegian). Otherwise whatlang was measured to
            // guess at noise (code, addresses, spam word lists: "reliable" French for English
            // spam), at ~100 µs a message.
            Verdict::Weak if evidence.foreign() || evidence.leader() == model::index("fi") => self
                .fallback(window)
                .filter(|code| model::index(code).is_none_or(|i| evidence.leads(i)))
                .map(detected)
                .or_else(hinted),
            Verdict::Weak => hinted(),
        }
    }

    /// whatlang's answer among the allowed languages, when it calls it reliable.
    fn fallback(&self, window: &str) -> Option<&'static str> {
        let info = self.fallback.detect(window)?;
        info.is_reliable().then(|| iso::iso639_1(info.lang()))
    }

    /// The hint's language when it is one this detector may answer.
    fn hint(&self, hint: LanguageHint<'_>) -> Option<Detected> {
        let first = hint.tag.split(',').next()?.trim();
        let primary = first.split(['-', '_']).next()?.to_ascii_lowercase();
        // "no" (Norwegian) is written Bokmål by nearly everyone who writes to a desk.
        let primary = if primary == "no" {
            "nb".to_owned()
        } else {
            primary
        };
        let code = if let Some(i) = model::index(&primary) {
            (self.words & (1 << i) != 0).then(|| model::code(i))??
        } else {
            let lang = whatlang_lang(&primary).filter(|lang| self.others.contains(lang))?;
            iso::iso639_1(lang)
        };
        Some(Detected {
            code,
            source: hint.source,
        })
    }
}

/// [`LanguageDetector::detect`] over every language.
pub fn detect(text: &str) -> Option<&'static str> {
    LanguageDetector::all().detect(text)
}

/// The whatlang language of an ISO 639-1 code.
fn whatlang_lang(code: &str) -> Option<Lang> {
    Lang::all()
        .iter()
        .copied()
        .find(|&lang| iso::iso639_1(lang) == code)
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
