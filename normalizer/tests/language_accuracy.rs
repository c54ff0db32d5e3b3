//! Language detection over the labelled sentences of `tests/data/language` (see its README):
//! on messages of at least 40 letters in the twelve routed languages, at least 98 % must get
//! their language and at most 1 % a wrong one (a wrong language misroutes; null only sends a
//! case to the default queue). Issue 12's targets, held in CI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use intake_normalizer::language::LanguageDetector;

const LANGUAGES: [&str; 12] = [
    "en", "de", "sv", "fr", "es", "nl", "it", "pt", "da", "nb", "fi", "pl",
];

/// Fewer labelled messages than this per language would make the percentages meaningless.
const MIN_PER_LANGUAGE: usize = 30;

/// The held-out sets (`heldout/`, `heldout2/`, written after the detector was tuned) are
/// smaller: 20 per language.
const MIN_HELD_OUT: usize = 20;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/language")
}

/// The labelled messages of `code` in `set` ("" for the tuning set, "heldout").
fn messages(set: &str, code: &str) -> Vec<String> {
    let path = data_dir().join(set).join(format!("{code}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[derive(Default, Debug)]
struct Tally {
    correct: usize,
    wrong: usize,
    null: usize,
}

impl Tally {
    fn total(&self) -> usize {
        self.correct + self.wrong + self.null
    }
}

/// Runs `detector` over every labelled message of `set`; returns the overall tally and, per
/// language, its tally, printing every miss.
fn measure(detector: &LanguageDetector, set: &str) -> (Tally, Vec<(&'static str, Tally)>) {
    let least = if set.is_empty() {
        MIN_PER_LANGUAGE
    } else {
        MIN_HELD_OUT
    };
    let mut overall = Tally::default();
    let mut per_language = Vec::new();
    for code in LANGUAGES {
        let texts = messages(set, code);
        assert!(
            texts.len() >= least,
            "{set}/{code}.txt has {} messages, expected at least {least}",
            texts.len()
        );
        let mut tally = Tally::default();
        for text in &texts {
            let letters = text.chars().filter(|c| c.is_alphabetic()).count();
            assert!(letters >= 40, "{code}: fewer than 40 letters: {text}");
            match detector.detect(text) {
                Some(answer) if answer == code => tally.correct += 1,
                Some(answer) => {
                    eprintln!("wrong: {code} -> {answer}: {text}");
                    tally.wrong += 1;
                }
                None => {
                    eprintln!("null: {code}: {text}");
                    tally.null += 1;
                }
            }
        }
        overall.correct += tally.correct;
        overall.wrong += tally.wrong;
        overall.null += tally.null;
        per_language.push((code, tally));
    }
    (overall, per_language)
}

fn assert_targets(detector: &LanguageDetector, set: &str, name: &str) {
    let (overall, per_language) = measure(detector, set);
    let total = overall.total() as f64;
    eprintln!("{name}: {overall:?} of {total}");
    assert!(
        overall.correct as f64 >= 0.98 * total,
        "{name}: {} of {total} correct, the target is 98 %",
        overall.correct
    );
    assert!(
        overall.wrong as f64 <= 0.01 * total,
        "{name}: {} of {total} wrong, the target is at most 1 %",
        overall.wrong
    );
    // No language may collapse behind a good average.
    for (code, tally) in per_language {
        assert!(
            tally.correct as f64 >= 0.9 * tally.total() as f64,
            "{name}: {code}: {tally:?}"
        );
    }
}

#[test]
fn every_language_meets_the_targets() {
    assert_targets(LanguageDetector::all(), "", "all languages");
}

#[test]
fn the_held_out_messages_meet_the_targets_too() {
    // `heldout` was seen once (its README says how); `heldout2` never informed the detector.
    assert_targets(LanguageDetector::all(), "heldout", "held out, seen once");
    assert_targets(LanguageDetector::all(), "heldout2", "held out");
}

#[test]
fn an_allowlist_of_the_twelve_meets_them_too() {
    let twelve = LanguageDetector::only(&LANGUAGES).unwrap();
    assert_targets(&twelve, "", "the twelve");
}

#[test]
fn short_messages_are_rarely_wrong() {
    let path = data_dir().join("short.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let (mut total, mut wrong) = (0, 0);
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (code, message) = line.split_once('\t').unwrap();
        total += 1;
        if let Some(answer) = LanguageDetector::all().detect(message)
            && answer != code
        {
            eprintln!("short, wrong: {code} -> {answer}: {message}");
            wrong += 1;
        }
    }
    assert!(
        total >= 2 * LANGUAGES.len(),
        "short.tsv has {total} messages"
    );
    // Under 40 letters the targets do not apply and null is expected; a guess may be wrong,
    // but not often.
    assert!(
        wrong * 10 <= total,
        "{wrong} of {total} short messages got a wrong language"
    );
}
