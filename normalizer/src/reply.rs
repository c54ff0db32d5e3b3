//! Reply extraction for any channel: the text the customer wrote this time, without the quoted
//! history, forwarded mail and signature below it.
//!
//! One top-down pass over the lines:
//! - `>` quoted lines are dropped wherever they are (inline replies keep the answers between
//!   the quotes);
//! - an attribution line ("On … wrote:", "Am … schrieb …:", ...) directly above a quote only
//!   introduces that quote and is dropped with it; anywhere else it starts the history;
//! - an Outlook-style header block ("From:/Sent:/To:"), a separator ("-----Original
//!   Message-----"), a signature delimiter ("-- ") or a mobile signature ("Sent from my
//!   iPhone") ends the reply: everything from there on is cut.
//!
//! The result is borrowed from the text when it is one contiguous prefix (the common top-posted
//! reply) and only copied for inline replies. It is never longer than the text. When nothing is
//! left (a message that is only a quote or a forward) the answer is `None`: the case then has
//! `reply_text: null` and a consumer shows `text`; echoing the whole text would claim that the
//! quote was new.

mod markers;

use std::borrow::Cow;

/// The new text of `text`, or `None` when no new text is left.
pub fn reply_text(text: &str) -> Option<Cow<'_, str>> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let kept = kept_lines(&lines);
    assemble(text, &lines, &kept)
}

/// Indices of the lines that belong to the reply, in order.
fn kept_lines(lines: &[&str]) -> Vec<usize> {
    let mut kept = Vec::new();
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        let trimmed = line.trim();
        if trimmed.starts_with('>') {
            i += 1;
            continue;
        }
        if trimmed.is_empty() {
            kept.push(i);
            i += 1;
            continue;
        }
        if let Some(span) = attribution_span(lines, i) {
            if next_is_quote(lines, i + span) {
                i += span;
                continue;
            }
            break;
        }
        if markers::is_separator(trimmed)
            || markers::is_signature_delimiter(trimmed)
            || markers::is_mobile_signature(trimmed)
            || markers::is_header_block(lines, i)
        {
            break;
        }
        kept.push(i);
        i += 1;
    }
    // Blank lines and the rules ("____", "----") clients draw above the history are not text.
    while let Some(&last) = kept.last() {
        let line = lines.get(last).map_or("", |l| l.trim());
        if line.chars().all(|c| matches!(c, '_' | '-' | '=' | '*')) {
            kept.pop();
        } else {
            break;
        }
    }
    kept
}

/// How many lines (1 or 2) the attribution starting at `i` spans, if one does.
fn attribution_span(lines: &[&str], i: usize) -> Option<usize> {
    let first = lines.get(i)?.trim();
    if first.ends_with(':') {
        return markers::is_attribution(first, None, next_is_quote(lines, i + 1)).then_some(1);
    }
    let second = lines
        .get(i + 1)
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())?;
    (second.ends_with(':')
        && markers::is_attribution(first, Some(second), next_is_quote(lines, i + 2)))
    .then_some(2)
}

/// Whether the first non-blank line at or after `from` is quoted.
fn next_is_quote(lines: &[&str], from: usize) -> bool {
    lines
        .iter()
        .skip(from)
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .is_some_and(|l| l.starts_with('>'))
}

/// Joins the kept lines: a borrowed slice when they are contiguous, otherwise a copy with runs
/// of blank lines (left where quotes were dropped) collapsed to one.
fn assemble<'t>(text: &'t str, lines: &[&str], kept: &[usize]) -> Option<Cow<'t, str>> {
    let first = kept.iter().position(|&i| !is_blank(lines, i))?;
    let kept = kept.get(first..)?;
    let contiguous = kept.windows(2).all(|w| w[1] == w[0] + 1);
    if contiguous {
        let start = offset_in(text, lines.get(*kept.first()?)?)?;
        let last = lines.get(*kept.last()?)?;
        let end = offset_in(text, last)? + last.len();
        return text.get(start..end).map(|s| Cow::Borrowed(s.trim()));
    }
    let mut out = String::new();
    let mut previous_blank = false;
    for &i in kept {
        let blank = is_blank(lines, i);
        if blank && previous_blank {
            continue;
        }
        previous_blank = blank;
        out.push_str(lines.get(i).copied().unwrap_or_default());
        out.push('\n');
    }
    let trimmed = out.trim();
    (!trimmed.is_empty()).then(|| Cow::Owned(trimmed.to_owned()))
}

fn is_blank(lines: &[&str], i: usize) -> bool {
    lines.get(i).is_none_or(|l| l.trim().is_empty())
}

/// Byte offset of `part`, a subslice of `text`, within `text`.
fn offset_in(text: &str, part: &str) -> Option<usize> {
    (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
