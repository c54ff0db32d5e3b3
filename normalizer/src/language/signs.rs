//! Letters and spellings that only some of the word model's languages write, and letters none
//! of them writes: the model's evidence beside whole words.

use super::model::Mask;
use super::words::WORDS;

/// Letters of other Latin-script languages, absent from the model's twelve.
const FOREIGN: &str = "ěřůščžýďťňığşșțăőűđľĺŕėųūįļķņģĉĝĥĵŝŭ";

/// Whether `lower` (a lowercase letter) is one of [`FOREIGN`].
pub(super) fn is_foreign(lower: char) -> bool {
    FOREIGN.contains(lower)
}

/// The index in [`LETTERS`] of `lower`, if it is one.
pub(super) fn letter(lower: char) -> Option<usize> {
    LETTERS.iter().position(|(l, _)| *l == lower)
}

/// Adds one to `counts[i]` for every spelling `SPELLINGS[i]` that `word` (lowercase) has.
pub(super) fn count_spellings(word: &str, counts: &mut [u32; SPELLINGS.len()]) {
    let bytes = word.as_bytes();
    // Most unknown words hold none of the spellings: a spelling whose bytes are not all among
    // the word's (folded to 64 bits) cannot occur, and is ruled out before any search (the
    // searches were half of detection's cost).
    let present = byte_set(bytes);
    for (((pattern, at_end, _), needed), count) in
        SPELLINGS.iter().zip(SPELLING_BYTES).zip(counts.iter_mut())
    {
        if needed & !present != 0 {
            continue;
        }
        let pattern = pattern.as_bytes();
        let found = if *at_end {
            bytes.ends_with(pattern)
        } else {
            contains(bytes, pattern)
        };
        if found {
            *count += 1;
        }
    }
}

/// The bytes of `bytes` as a 64-bit set (`b % 64`, so a few bytes share a bit): a quick
/// necessary condition for one byte string to occur in another.
const fn byte_set(bytes: &[u8]) -> u64 {
    let mut set = 0u64;
    let mut i = 0;
    while i < bytes.len() {
        set |= 1 << (bytes[i] & 63);
        i += 1;
    }
    set
}

/// [`byte_set`] of each of [`SPELLINGS`].
const SPELLING_BYTES: [u64; SPELLINGS.len()] = {
    let mut sets = [0u64; SPELLINGS.len()];
    let mut i = 0;
    while i < SPELLINGS.len() {
        sets[i] = byte_set(SPELLINGS[i].0.as_bytes());
        i += 1;
    }
    sets
};

/// Letters that only some of the languages write, and which (by `WORDS` order: en de sv fr es
/// nl it pt da nb fi pl).
pub(super) const LETTERS: [(char, Mask); 19] = [
    ('ó', lang("es") | lang("pt") | lang("pl")),
    ('á', lang("es") | lang("pt")),
    ('í', lang("es") | lang("pt")),
    ('ú', lang("es") | lang("pt")),
    ('ê', lang("fr") | lang("pt")),
    ('å', lang("sv") | lang("da") | lang("nb")),
    ('ä', lang("sv") | lang("de") | lang("fi")),
    ('ö', lang("sv") | lang("de") | lang("fi")),
    ('ø', lang("da") | lang("nb")),
    ('æ', lang("da") | lang("nb")),
    ('ü', lang("de")),
    ('ß', lang("de")),
    ('ñ', lang("es")),
    ('ã', lang("pt")),
    ('õ', lang("pt")),
    ('ç', lang("fr") | lang("pt")),
    ('ł', lang("pl")),
    ('ę', lang("pl")),
    ('ą', lang("pl")),
];

/// Spellings that only some of the languages use, within a word (or, `true`, at its end): Danish
/// "arbejde"/"øje" against Norwegian "arbeide"/"øye", "kj"/"gj", Spanish "-ción" against
/// Portuguese "-ção", Polish "cz"/"sz"/"rz", Dutch "ij", Finnish long vowels.
pub(super) const SPELLINGS: [(&str, bool, Mask); 29] = [
    ("ej", false, lang("sv") | lang("da")),
    (
        "ei",
        false,
        lang("nb") | lang("de") | lang("nl") | lang("fi"),
    ),
    ("øj", false, lang("da")),
    ("øy", false, lang("nb")),
    ("kj", false, lang("nb")),
    ("gj", false, lang("nb")),
    ("hed", true, lang("da")),
    ("het", true, lang("nb") | lang("sv")),
    ("ede", true, lang("da") | lang("nl")),
    ("ción", false, lang("es")),
    ("ção", false, lang("pt")),
    ("ções", false, lang("pt")),
    ("nh", false, lang("pt")),
    ("lh", false, lang("pt")),
    ("zion", false, lang("it")),
    ("ij", false, lang("nl")),
    ("sch", false, lang("de") | lang("nl")),
    ("cz", false, lang("pl")),
    ("sz", false, lang("pl")),
    ("rz", false, lang("pl")),
    ("ää", false, lang("fi")),
    ("yy", false, lang("fi")),
    ("öö", false, lang("fi")),
    ("ii", false, lang("fi")),
    ("ssä", true, lang("fi")),
    ("stä", true, lang("fi")),
    ("llä", true, lang("fi")),
    ("lla", true, lang("fi") | lang("es")),
    ("kk", false, lang("fi") | lang("da") | lang("nb")),
];

/// The bit of `code` in `WORDS` order (evaluated at compile time; an unknown code is 0).
const fn lang(code: &str) -> Mask {
    let mut i = 0;
    while i < WORDS.len() {
        let c = WORDS[i].0.as_bytes();
        let code = code.as_bytes();
        if c.len() == 2 && code.len() == 2 && c[0] == code[0] && c[1] == code[1] {
            return 1 << i;
        }
        i += 1;
    }
    0
}

/// Whether `needle` (2-5 bytes) occurs in `hay`: a first-byte filter before comparing, as
/// most positions fail on the first byte (cheaper than `str::contains` for such short needles).
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    hay.windows(needle.len())
        .any(|window| window.first() == Some(&first) && window == needle)
}
