//! Threading signals and the first-pass conversation key.
//!
//! The normalizer cannot know which conversations exist: that mapping lives in Redis and the
//! gateway resolves it. What the normalizer does is pure: [`signals`] lists every clue a message
//! carries (In-Reply-To, References, subject tags such as `[Case #123]`, Jira or ServiceNow keys,
//! plus-address tokens), each as a hint with `used: false` and reason "not yet resolved", in the
//! order the gateway should try them. [`conversation`] picks a provisional key from the message
//! ids alone (the References root, else the parent, else the message's own id) and marks which
//! hint gave it, so a case is usable even before the gateway refines it.

use std::sync::LazyLock;

use regex::Regex;

use crate::case::{Address, Conversation, ThreadHint};

/// The reason every signal carries until the gateway has looked it up.
pub const NOT_YET_RESOLVED: &str = "not yet resolved";

/// Long threads carry dozens of References; the case keeps the root and the nearest ancestors
/// (the header itself stays complete in `source.references`).
const MAX_REFERENCE_HINTS: usize = 4;

/// A subject pattern naming a ticket: `name` labels the hint value (`case:123`), and the first
/// capture group (or the whole match) is the ticket id.
#[derive(Debug, Clone)]
pub struct SubjectTag {
    pub name: String,
    pub pattern: Regex,
}

impl SubjectTag {
    /// Compiles `pattern` (regex crate syntax: linear time, no backtracking).
    pub fn new(name: &str, pattern: &str) -> Result<Self, regex::Error> {
        Ok(Self {
            name: name.to_owned(),
            pattern: Regex::new(pattern)?,
        })
    }
}

/// Our own `[Case #123]` / `Ticket #123`, Jira issue keys and ServiceNow record numbers.
/// Jira keys also match things like `UTF-8`; that is harmless, because a hint only becomes a
/// conversation once the gateway finds it in its store.
pub fn default_subject_tags() -> &'static [SubjectTag] {
    static DEFAULTS: LazyLock<Vec<SubjectTag>> = LazyLock::new(|| {
        [
            ("case", r"(?i)\b(?:case|ticket)\s*#\s*([0-9]{1,12})\b"),
            ("jira", r"\b([A-Z][A-Z0-9]{1,9}-[0-9]{1,9})\b"),
            (
                "servicenow",
                r"\b((?:INC|RITM|REQ|CHG|PRB|TASK|SCTASK)[0-9]{7,10})\b",
            ),
        ]
        .into_iter()
        .filter_map(|(name, pattern)| SubjectTag::new(name, pattern).ok())
        .collect()
    });
    &DEFAULTS
}

/// What a message says about the conversation it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct ThreadInput<'a> {
    pub message_id: Option<&'a str>,
    pub in_reply_to: &'a [String],
    pub references: &'a [String],
    pub subject: Option<&'a str>,
    /// To and Cc: where plus-address tokens (`support+<token>@`) are found.
    pub recipients: &'a [&'a Address],
}

/// Every threading signal of the message, unresolved, in the order to try them: In-Reply-To,
/// References from the nearest ancestor back to the root, subject tags, plus-address tokens.
pub fn signals(input: &ThreadInput<'_>, tags: &[SubjectTag]) -> Vec<ThreadHint> {
    let mut hints = Vec::new();
    for id in input.in_reply_to {
        hints.push(hint("in_reply_to", id, false, NOT_YET_RESOLVED));
    }
    let refs = input.references;
    let nearest = refs
        .iter()
        .rev()
        .take(MAX_REFERENCE_HINTS.saturating_sub(1));
    let root = refs.first().filter(|_| refs.len() >= MAX_REFERENCE_HINTS);
    for id in nearest.chain(root) {
        hints.push(hint("references", id, false, NOT_YET_RESOLVED));
    }
    if let Some(subject) = input.subject {
        for tag in tags {
            for found in tag.pattern.captures_iter(subject) {
                let Some(id) = found.get(1).or_else(|| found.get(0)) else {
                    continue;
                };
                let value = format!("{}:{}", tag.name, id.as_str());
                if !hints.iter().any(|h| h.value == value) {
                    hints.push(hint("subject_tag", &value, false, NOT_YET_RESOLVED));
                }
            }
        }
    }
    for address in input.recipients.iter().filter_map(|a| a.address.as_deref()) {
        if let Some((local, _)) = address.split_once('@')
            && local
                .split_once('+')
                .is_some_and(|(_, token)| !token.is_empty())
        {
            let value = address.to_ascii_lowercase();
            if !hints.iter().any(|h| h.value == value) {
                hints.push(hint("plus_address", &value, false, NOT_YET_RESOLVED));
            }
        }
    }
    hints
}

/// The provisional conversation: key from References (root), In-Reply-To, the own Message-ID
/// or the delivery identity, in that order; the hints are [`signals`] plus the own id.
pub fn conversation(
    input: &ThreadInput<'_>,
    tags: &[SubjectTag],
    idempotency_key: &str,
) -> Conversation {
    let mut hints = signals(input, tags);
    let is_new = input.in_reply_to.is_empty() && input.references.is_empty();
    let (signal, reason) = if !input.references.is_empty() {
        (
            "references",
            "provisional key: first references entry is the thread root",
        )
    } else if !input.in_reply_to.is_empty() {
        (
            "in_reply_to",
            "provisional key: no references; the parent names the thread",
        )
    } else {
        (
            "message_id",
            "provisional key: no reply headers; the message opens its own conversation",
        )
    };
    let key_value = match signal {
        "references" => input.references.first().map(String::as_str),
        "in_reply_to" => input.in_reply_to.first().map(String::as_str),
        _ => input.message_id,
    };
    if let Some(own) = input.message_id {
        let reason = if is_new {
            reason
        } else {
            "the message replies to an earlier one"
        };
        hints.push(hint("message_id", own, is_new, reason));
    }
    if let Some(value) = key_value
        && let Some(h) = hints
            .iter_mut()
            .find(|h| h.signal == signal && h.value == value)
    {
        h.used = true;
        reason.clone_into(&mut h.reason);
    }
    Conversation {
        // Without any id the delivery identity is the only stable thing the message has.
        key: key_value.map_or_else(|| format!("email:{idempotency_key}"), str::to_owned),
        is_new,
        hints,
    }
}

fn hint(signal: &str, value: &str, used: bool, reason: &str) -> ThreadHint {
    ThreadHint {
        signal: signal.to_owned(),
        value: value.to_owned(),
        used,
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
