//! The word model: counts, for each of its languages, the words of the text that the language
//! uses (`words.rs`) plus a little evidence from letters and spellings only some languages write
//! (`signs.rs`: å, ø, ñ, ł, "øj"/"øy", "-ción"/"-ção"), and answers only when one language
//! clearly leads.
//!
//! Why words and not whatlang's trigrams: the languages that matter for routing here come in
//! families whose trigram statistics overlap (Danish and Norwegian, Spanish and Portuguese),
//! while their everyday words differ ("ikke noget"/"ikke noe", "todavía"/"ainda"). Looking up
//! ~80 words costs a few microseconds whatever the number of candidates; whatlang compares
//! every candidate's whole profile (~11,000 lookups) for every message.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

use super::signs;
use super::words::WORDS;

/// How many languages the word model knows.
pub(super) const LANGUAGES: usize = WORDS.len();

/// A set of the word model's languages, bit i standing for `WORDS[i]`.
pub(super) type Mask = u16;

/// Every language of the word model.
pub(super) const ALL: Mask = (1 << LANGUAGES) - 1;

/// A winner needs this much evidence (about two telling words)...
const MIN_SCORE: f32 = 2.0;
/// ...and a lead over the runner-up of this many points, or of this share of its own score,
/// whichever is larger.
const MIN_LEAD: f32 = 1.0;
const MIN_LEAD_SHARE: f32 = 0.1;

/// From this many letters that none of the model's languages writes, the text is taken to be
/// in another language (a Czech or Turkish message shares enough short words with Spanish or
/// Polish to mislead the counts).
const MAX_FOREIGN: usize = 2;

/// Each occurrence of a telling letter adds this much, at most `LETTER_CAP` times per letter.
const LETTER_WEIGHT: f32 = 0.5;
const LETTER_CAP: u32 = 2;

/// Every this many known words, reading stops if one language already leads by
/// [`SETTLED_LEAD`] words: the rest of the window could not change the answer in practice, and
/// most messages are settled in their first sentence.
const SETTLED_CHECK_EVERY: usize = 8;
const SETTLED_LEAD: u16 = 6;

/// Tokens longer than this are ids, hashes or compounds that no list holds.
const MAX_WORD_BYTES: usize = 24;

/// word -> the languages that use it. Keys are our own word lists, so a fast non-keyed hash
/// is safe here (std's SipHash was a third of detection's cost).
type Vocabulary = HashMap<&'static str, Mask, BuildHasherDefault<Fnv>>;

static VOCABULARY: LazyLock<Vocabulary> = LazyLock::new(|| {
    let mut map = Vocabulary::with_capacity_and_hasher(2_500, BuildHasherDefault::default());
    for (i, (_, words)) in WORDS.iter().enumerate() {
        for word in words.split_whitespace() {
            *map.entry(word).or_default() |= 1 << i;
        }
    }
    map
});

/// The ISO 639-1 code of the word model's language `i`.
pub(super) fn code(i: usize) -> Option<&'static str> {
    WORDS.get(i).map(|(code, _)| *code)
}

/// The word model's index of `code`.
pub(super) fn index(code: &str) -> Option<usize> {
    WORDS.iter().position(|(c, _)| *c == code)
}

/// What the model read in a text.
#[derive(Debug, Clone, Default)]
pub(super) struct Evidence {
    /// Alphabetic characters, and of those the ones of the Latin script.
    pub letters: usize,
    pub latin: usize,
    /// Letters none of the model's languages writes (Czech ř, Turkish ı, Romanian ș, ...).
    foreign: usize,
    score: [f32; LANGUAGES],
    /// Known words alone, without letters and spellings.
    words: [u16; LANGUAGES],
}

/// The model's answer on one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// One language clearly leads (its index).
    Sure(usize),
    /// Several languages are close; a hint among them may decide.
    Close(Mask),
    /// Too few known words: probably a language the model does not know.
    Weak,
}

/// Reads `text`, scoring every language of the model.
pub(super) fn read(text: &str) -> Evidence {
    let mut evidence = Evidence::default();
    let mut letter_counts = [0u32; signs::LETTERS.len()];
    let mut spelling_counts = [0u32; signs::SPELLINGS.len()];
    let mut word = String::with_capacity(MAX_WORD_BYTES + 4);
    let mut known = 0usize;
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_alphabetic() {
            evidence.letters += 1;
            if is_latin(c) {
                evidence.latin += 1;
            }
            if c.is_ascii() {
                if word.len() <= MAX_WORD_BYTES {
                    word.push(c.to_ascii_lowercase());
                }
                continue;
            }
            {
                let lower = c.to_lowercase().next().unwrap_or(c);
                if signs::is_foreign(lower) {
                    evidence.foreign += 1;
                }
                if let Some(count) = signs::letter(lower).and_then(|i| letter_counts.get_mut(i)) {
                    *count += 1;
                }
            }
            if word.len() <= MAX_WORD_BYTES {
                word.extend(c.to_lowercase());
            }
            continue;
        }
        if !word.is_empty() {
            if word.len() <= MAX_WORD_BYTES {
                if let Some(&mask) = VOCABULARY.get(word.as_str()) {
                    evidence.add(mask, 1.0);
                    for (i, count) in evidence.words.iter_mut().enumerate() {
                        *count += (mask >> i) & 1;
                    }
                    // A known word has told what it can; spellings are for the others (and
                    // scanning every word for them was half of detection's cost).
                    word.clear();
                    known += 1;
                    if known.is_multiple_of(SETTLED_CHECK_EVERY) && evidence.settled() {
                        break;
                    }
                    continue;
                }
                signs::count_spellings(&word, &mut spelling_counts);
            }
            word.clear();
        }
    }
    let letters = signs::LETTERS
        .iter()
        .map(|(_, mask)| mask)
        .zip(letter_counts);
    let spellings = signs::SPELLINGS
        .iter()
        .map(|(_, _, mask)| mask)
        .zip(spelling_counts);
    // Most texts have few of the 48 signs; adding a zero weight to every language for each of
    // the others was an eighth of detection's instructions.
    for (mask, count) in letters.chain(spellings).filter(|(_, count)| *count > 0) {
        let weight = LETTER_WEIGHT * count.min(LETTER_CAP) as f32;
        evidence.add(*mask, weight);
    }
    evidence
}

impl Evidence {
    fn add(&mut self, mask: Mask, weight: f32) {
        for (i, score) in self.score.iter_mut().enumerate() {
            if mask & (1 << i) != 0 {
                *score += weight;
            }
        }
    }

    /// Whether one language leads every other by [`SETTLED_LEAD`] known words.
    fn settled(&self) -> bool {
        let mut top = [0u16; 2];
        for &count in &self.words {
            if count > top[0] {
                top = [count, top[0]];
            } else if count > top[1] {
                top[1] = count;
            }
        }
        top[0] >= top[1] + SETTLED_LEAD
    }

    /// Whether the text has letters of another Latin-script language.
    pub(super) fn foreign(&self) -> bool {
        self.foreign >= MAX_FOREIGN
    }

    /// The language with the highest score, if any scored.
    pub(super) fn leader(&self) -> Option<usize> {
        let (i, &score) = self
            .score
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))?;
        (score > 0.0).then_some(i)
    }

    /// Whether language `i` scores at least as high as every other.
    pub(super) fn leads(&self, i: usize) -> bool {
        let own = self.score.get(i).copied().unwrap_or(0.0);
        self.score.iter().all(|&score| score <= own)
    }

    pub(super) fn verdict(&self) -> Verdict {
        let mut best = (0, 0.0f32);
        for (i, &score) in self.score.iter().enumerate() {
            if score > best.1 {
                best = (i, score);
            }
        }
        let words = self.words.get(best.0).copied().unwrap_or(0);
        if best.1 < MIN_SCORE || f32::from(words) < MIN_SCORE || self.foreign >= MAX_FOREIGN {
            return Verdict::Weak;
        }
        let lead = MIN_LEAD.max(best.1 * MIN_LEAD_SHARE);
        let close: Mask = self
            .score
            .iter()
            .enumerate()
            .filter(|&(_, &score)| score > best.1 - lead)
            .fold(0, |mask, (i, _)| mask | 1 << i);
        if close == 1 << best.0 {
            Verdict::Sure(best.0)
        } else {
            Verdict::Close(close)
        }
    }
}

/// Basic Latin and Latin-1/Extended-A/B letters: the script of every word-model language.
fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic() || ('\u{c0}'..='\u{24f}').contains(&c)
}

/// FNV-1a: a few cycles per byte on the short keys of [`VOCABULARY`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}
