//! The tables that recognise where quoted history, forwarded mail and signatures begin, and the
//! line predicates that read them. Adding a client or a language means adding a table row.
//!
//! Every comparison is a case-insensitive prefix or suffix test on one trimmed line: no regex,
//! no allocation, so the cost per line is a handful of byte compares that mostly fail on the
//! first character.

/// Attribution lines: "On <date>, <name> wrote:" and its translations. `verb_at_end` says the
/// verb closes the line (English, French, Spanish, ...); otherwise the name follows the verb
/// ("Am <date> schrieb <name>:", "Den <date> skrev <name>:").
pub(super) struct Attribution {
    pub prefix: &'static str,
    pub verb: &'static str,
    pub verb_at_end: bool,
}

pub(super) const ATTRIBUTIONS: &[Attribution] = &[
    Attribution {
        prefix: "On ",
        verb: "wrote",
        verb_at_end: true,
    },
    Attribution {
        prefix: "Am ",
        verb: "schrieb",
        verb_at_end: false,
    },
    Attribution {
        prefix: "Den ",
        verb: "skrev",
        verb_at_end: false,
    },
    Attribution {
        prefix: "På ",
        verb: "skrev",
        verb_at_end: false,
    },
    Attribution {
        prefix: "Le ",
        verb: "a écrit",
        verb_at_end: true,
    },
    Attribution {
        prefix: "El ",
        verb: "escribió",
        verb_at_end: true,
    },
    Attribution {
        prefix: "Op ",
        verb: "schreef",
        verb_at_end: false,
    },
    Attribution {
        prefix: "Il ",
        verb: "ha scritto",
        verb_at_end: true,
    },
    Attribution {
        prefix: "Em ",
        verb: "escreveu",
        verb_at_end: true,
    },
];

/// Longer than this, a line (or two joined lines) is prose, not an attribution.
const MAX_ATTRIBUTION_BYTES: usize = 300;

/// Field labels of the header block Outlook (and Apple Mail, Thunderbird on forward) puts above
/// the quoted message, lowercase. The block must open with a "from" label.
const FROM_LABELS: &[&str] = &["from", "von", "från", "de", "van", "da", "fra", "od"];
const FIELD_LABELS: &[&str] = &[
    "sent",
    "date",
    "to",
    "subject",
    "cc", // en
    "gesendet",
    "datum",
    "an",
    "betreff", // de
    "skickat",
    "till",
    "ämne",
    "kopia", // sv
    "envoyé",
    "à",
    "objet", // fr
    "enviado",
    "fecha",
    "para",
    "asunto", // es
    "verzonden",
    "aan",
    "onderwerp", // nl
    "inviato",
    "a",
    "oggetto", // it
    "sendt",
    "til",
    "emne", // da, no
];

/// How many lines after the "from" label are searched for the other fields, and how many
/// must be found: two fields make a header block, one could be a sentence.
const HEADER_LOOKAHEAD: usize = 8;
const MIN_HEADER_FIELDS: usize = 2;

/// Separator phrases, lowercase, as they read once dashes, underscores and colons are stripped.
/// `decorated` phrases count only when the line carried dashes or underscores around them
/// ("-----Original Message-----"); the others are whole lines on their own.
const SEPARATORS: &[(&str, bool)] = &[
    ("original message", true),
    ("ursprüngliche nachricht", true),
    ("originalnachricht", true),
    ("ursprungligt meddelande", true),
    ("originalmeddelande", true),
    ("message d'origine", true),
    ("message original", true),
    ("mensaje original", true),
    ("oorspronkelijk bericht", true),
    ("messaggio originale", true),
    ("forwarded message", true),
    ("weitergeleitete nachricht", true),
    ("vidarebefordrat meddelande", true),
    ("message transféré", true),
    ("mensaje reenviado", true),
    ("begin forwarded message", false),
    ("anfang der weitergeleiteten nachricht", false),
    ("vidarebefordrat brev", false),
    ("début du message réexpédié", false),
    ("inicio del mensaje reenviado", false),
    // Helpdesks (Zendesk, Freshdesk, ...) mark where the customer's reply must end.
    ("please type your reply above this line", false),
    ("reply above this line", false),
];

/// Mobile and webmail signatures: (prefix, required suffix), lowercase. A suffix guards prefixes
/// that could open an ordinary sentence ("Von meinem Konto ...").
const MOBILE_SIGNATURES: &[(&str, &str)] = &[
    ("sent from my ", ""),
    ("sent from outlook", ""),
    ("sent from mail for windows", ""),
    ("sent from yahoo mail", ""),
    ("sent from the all new aol app", ""),
    ("sent from proton mail", ""),
    ("get outlook for ios", ""),
    ("get outlook for android", ""),
    ("skickat från min ", ""),
    ("skickat från outlook", ""),
    ("hämta outlook för ", ""),
    ("von meinem ", "gesendet"),
    ("gesendet von meinem ", ""),
    ("gesendet von outlook", ""),
    ("outlook für ios", ""),
    ("outlook für android", ""),
    ("envoyé de mon ", ""),
    ("envoyé depuis mon ", ""),
    ("envoyé à partir de outlook", ""),
    ("télécharger outlook pour ", ""),
    ("obtenir outlook pour ", ""),
    ("enviado desde mi ", ""),
    ("enviado desde outlook", ""),
    ("obtener outlook para ", ""),
    ("verzonden vanaf mijn ", ""),
    ("inviato da iphone", ""),
    ("enviado do meu ", ""),
];
const MAX_MOBILE_SIGNATURE_BYTES: usize = 64;

/// The ASCII first letters (both cases) of each table's needles. Most lines are prose that
/// opens with a letter no needle of a table opens with; one bit test then skips the whole table
/// instead of comparing against each of its ~60 needles. A line opening with a non-ASCII char
/// is always compared in full ('É', or the Kelvin sign, can match a needle's letter).
const FROM_FIRST: u128 = first_letters(FROM_LABELS);
const FIELD_FIRST: u128 = first_letters(FIELD_LABELS);
const SEPARATOR_FIRST: u128 = {
    let mut mask = 0;
    let mut i = 0;
    while i < SEPARATORS.len() {
        mask = with_first_letter(mask, SEPARATORS[i].0);
        i += 1;
    }
    mask
};
const MOBILE_FIRST: u128 = {
    let mut mask = 0;
    let mut i = 0;
    while i < MOBILE_SIGNATURES.len() {
        mask = with_first_letter(mask, MOBILE_SIGNATURES[i].0);
        i += 1;
    }
    mask
};

const fn first_letters(needles: &[&str]) -> u128 {
    let mut mask = 0;
    let mut i = 0;
    while i < needles.len() {
        mask = with_first_letter(mask, needles[i]);
        i += 1;
    }
    mask
}

/// `mask` with the needle's first byte added in both cases when it is ASCII; a non-ASCII
/// first letter needs no bit, since a line opening with ASCII can never match it.
const fn with_first_letter(mask: u128, needle: &str) -> u128 {
    match needle.as_bytes().first() {
        Some(&b) if b.is_ascii() => {
            mask | 1 << b | 1 << b.to_ascii_lowercase() | 1 << b.to_ascii_uppercase()
        }
        _ => mask,
    }
}

/// Whether some needle of the table with first-letter `mask` may start `text`.
fn may_open(mask: u128, text: &str) -> bool {
    match text.as_bytes().first() {
        Some(&b) if b.is_ascii() => mask & (1 << b) != 0,
        _ => true,
    }
}

/// "On Mon, 1 Jul 2024 at 10:00, Ann <ann@example.com> wrote:", on one line or wrapped over
/// `first` and `second`. Outside the language's own opening word ("On", "Am", "Den", ...) an
/// address in the line, or a quote right below it, must vouch that it is not prose.
pub(super) fn is_attribution(first: &str, second: Option<&str>, before_quote: bool) -> bool {
    let last = second.unwrap_or(first);
    let Some(body) = last.strip_suffix(':') else {
        return false;
    };
    if first.len() + second.map_or(0, str::len) > MAX_ATTRIBUTION_BYTES {
        return false;
    }
    let body = body.trim_end_matches(char::is_whitespace);
    let has_address = first.contains('@') || last.contains('@');
    ATTRIBUTIONS.iter().any(|a| {
        let verb_found = if a.verb_at_end {
            ends_with_ci(body, a.verb)
        } else {
            contains_word(first, a.verb) || contains_word(last, a.verb)
        };
        verb_found && (first.starts_with(a.prefix) || has_address || before_quote)
    })
}

/// "From: ..." followed closely by at least two more header fields ("Sent:", "To:", ...).
pub(super) fn is_header_block(lines: &[&str], at: usize) -> bool {
    let Some(first) = lines.get(at) else {
        return false;
    };
    let first = label_start(first);
    if !may_open(FROM_FIRST, first) || !FROM_LABELS.iter().any(|label| field_label(first, label)) {
        return false;
    }
    lines
        .iter()
        .skip(at + 1)
        .map(|line| line.trim())
        .filter(|line| !line.is_empty())
        .take(HEADER_LOOKAHEAD)
        .map(label_start)
        .filter(|line| {
            may_open(FIELD_FIRST, line) && FIELD_LABELS.iter().any(|label| field_label(line, label))
        })
        .take(MIN_HEADER_FIELDS)
        .count()
        >= MIN_HEADER_FIELDS
}

/// "-----Original Message-----", "---------- Forwarded message ---------", "Begin forwarded
/// message:" and their translations.
pub(super) fn is_separator(line: &str) -> bool {
    if line.len() > 100 {
        return false;
    }
    let decorated = line.starts_with(['-', '_', '=', '#']);
    let phrase = line
        .trim_matches(|c: char| matches!(c, '-' | '_' | '=' | '*' | '#') || c.is_whitespace())
        .trim_end_matches(':')
        .trim_end();
    may_open(SEPARATOR_FIRST, phrase)
        && SEPARATORS
            .iter()
            .any(|(sep, needs_decoration)| (decorated || !needs_decoration) && eq_ci(phrase, sep))
}

/// "-- " (RFC 3676 §4.3), and "--" because many clients trim trailing spaces.
pub(super) fn is_signature_delimiter(line: &str) -> bool {
    line == "--"
}

pub(super) fn is_mobile_signature(line: &str) -> bool {
    line.len() <= MAX_MOBILE_SIGNATURE_BYTES
        && may_open(MOBILE_FIRST, line)
        && MOBILE_SIGNATURES.iter().any(|(prefix, suffix)| {
            strip_prefix_ci(line, prefix).is_some_and(|rest| ends_with_ci(rest, suffix))
        })
}

/// Where a field label may start: bold markers from HTML-to-text ("*From:*") and blanks are
/// skipped (once per line, not once per label tried).
fn label_start(line: &str) -> &str {
    line.trim_start_matches(|c: char| c == '*' || c.is_whitespace())
}

/// `line` (from [`label_start`]) is `label` then optional blanks (French puts a space, often
/// no-break, before the colon) and ':'.
fn field_label(line: &str, label: &str) -> bool {
    strip_prefix_ci(line, label).is_some_and(|rest| {
        rest.trim_start_matches(|c: char| c == '*' || c.is_whitespace())
            .starts_with(':')
    })
}

fn contains_word(hay: &str, word: &str) -> bool {
    hay.match_indices(word).any(|(at, _)| {
        let before = hay.get(..at).and_then(|s| s.chars().next_back());
        let after = hay.get(at + word.len()..).and_then(|s| s.chars().next());
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// `hay` starts with the lowercase `needle`, compared case-insensitively; the rest of `hay`.
pub(super) fn strip_prefix_ci<'a>(hay: &'a str, needle: &str) -> Option<&'a str> {
    // Every line is tried against ~60 needles and nearly all differ in the first byte: when both
    // first bytes are ASCII, that byte decides without decoding or Unicode lowercasing (which
    // `same_ci` needs for other letters: the Kelvin sign lowercases to 'k').
    if let (Some(&h), Some(&n)) = (hay.as_bytes().first(), needle.as_bytes().first())
        && h.is_ascii()
        && n.is_ascii()
        && n != b' '
        && h != n
        && h.to_ascii_lowercase() != n
    {
        return None;
    }
    let mut chars = hay.char_indices();
    for n in needle.chars() {
        let (_, h) = chars.next()?;
        if !same_ci(h, n) {
            return None;
        }
    }
    Some(chars.as_str())
}

fn ends_with_ci(hay: &str, needle: &str) -> bool {
    let mut chars = hay.chars().rev();
    needle
        .chars()
        .rev()
        .all(|n| chars.next().is_some_and(|h| same_ci(h, n)))
}

fn eq_ci(hay: &str, needle: &str) -> bool {
    strip_prefix_ci(hay, needle).is_some_and(str::is_empty)
}

/// `h` matches the lowercase needle char `n`; a space in a needle matches any blank, since
/// French clients put no-break spaces inside "a écrit :".
fn same_ci(h: char, n: char) -> bool {
    h == n || (n == ' ' && h.is_whitespace()) || h.to_lowercase().eq(std::iter::once(n))
}
