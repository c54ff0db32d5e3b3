//! `[conversations]`: how long conversation mappings live, which subject tags name a ticket, and
//! the per-sender rate window that flags mail loops.

use std::time::Duration;

use super::duration;
use crate::error::{ConfigErrors, join};
use crate::raw::RawConversations;
use crate::types::{ConversationsConfig, SubjectTagConfig};

const DEFAULT_TTL: Duration = Duration::from_secs(180 * 24 * 3600);
const DEFAULT_CHAT_IDLE_WINDOW: Duration = Duration::from_secs(24 * 3600);
const DEFAULT_LOOP_WINDOW: Duration = Duration::from_secs(600);
const DEFAULT_LOOP_THRESHOLD: i64 = 20;

pub(crate) fn conversations(
    raw: RawConversations,
    errors: &mut ConfigErrors,
) -> ConversationsConfig {
    let ttl = duration(
        "conversations.ttl",
        raw.ttl,
        DEFAULT_TTL,
        Duration::from_secs(1),
        errors,
    );
    let loop_window = duration(
        "conversations.loop_window",
        raw.loop_window,
        DEFAULT_LOOP_WINDOW,
        Duration::from_secs(1),
        errors,
    );
    let chat_idle_window = duration(
        "conversations.chat_idle_window",
        raw.chat_idle_window,
        DEFAULT_CHAT_IDLE_WINDOW,
        Duration::from_secs(1),
        errors,
    );
    let loop_threshold = match raw.loop_threshold.unwrap_or(DEFAULT_LOOP_THRESHOLD) {
        n @ 1..=1_000_000 => n as u32,
        n => {
            errors.push(
                "conversations.loop_threshold",
                format!("{n} is out of range; expected 1 to 1000000 messages per window"),
            );
            DEFAULT_LOOP_THRESHOLD as u32
        }
    };
    let subject_tags = raw.subject_tags.map(|tags| {
        tags.into_iter()
            .enumerate()
            .filter_map(|(i, tag)| subject_tag(i, tag, errors))
            .collect()
    });
    let languages = raw.languages.inspect(|codes| {
        for (i, code) in codes.iter().enumerate() {
            let ok = code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase());
            if !ok {
                errors.push(
                    format!("conversations.languages[{i}]"),
                    format!("{code:?} is not an ISO 639-1 code such as \"en\""),
                );
            }
        }
    });
    ConversationsConfig {
        languages,
        ttl,
        subject_tags,
        chat_idle_window,
        loop_window,
        loop_threshold,
    }
}

fn subject_tag(
    i: usize,
    tag: SubjectTagConfig,
    errors: &mut ConfigErrors,
) -> Option<SubjectTagConfig> {
    let path = format!("conversations.subject_tags[{i}]");
    let valid_name = !tag.name.is_empty()
        && tag
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_name {
        errors.push(
            join(&path, "name"),
            "must be non-empty letters, digits, '_' or '-'",
        );
        return None;
    }
    match regex::Regex::new(&tag.pattern) {
        Ok(_) => Some(tag),
        Err(e) => {
            errors.push(
                join(&path, "pattern"),
                format!("invalid regular expression: {e}"),
            );
            None
        }
    }
}
