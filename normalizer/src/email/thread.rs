//! First-pass threading: the conversation key is the root message id of the thread as the
//! message itself names it. A later pass (subject tags, plus addresses, a store of known ids)
//! refines this; the hints record what was considered so that pass can be audited.

use crate::case::{Conversation, ThreadHint};

/// Chooses the conversation key from References, In-Reply-To and Message-ID, in that order:
/// the first References entry is the thread root by RFC 5322 §3.6.4, so every reply in the
/// thread that carries References agrees on it.
pub(crate) fn conversation(
    message_id: Option<&str>,
    in_reply_to: &[String],
    references: &[String],
    idempotency_key: &str,
) -> Conversation {
    let is_new = in_reply_to.is_empty() && references.is_empty();
    let mut hints = Vec::with_capacity(3);
    let mut key: Option<String> = None;

    if let Some(root) = references.first() {
        key = Some(root.clone());
        hints.push(hint(
            "references",
            root,
            true,
            "first references entry is the thread root",
        ));
    }
    if let Some(parent) = in_reply_to.first() {
        let used = key.is_none();
        let reason = if used {
            "no references; the parent message names the thread"
        } else {
            "references take precedence"
        };
        if used {
            key = Some(parent.clone());
        }
        hints.push(hint("in_reply_to", parent, used, reason));
    }
    if let Some(own) = message_id {
        let used = key.is_none();
        let reason = if used {
            "no reply headers; the message opens its own conversation"
        } else {
            "the message replies to an earlier one"
        };
        if used {
            key = Some(own.to_owned());
        }
        hints.push(hint("message_id", own, used, reason));
    }

    Conversation {
        // Without any id the delivery identity is the only stable thing the message has.
        key: key.unwrap_or_else(|| format!("email:{idempotency_key}")),
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
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn references_root_wins() {
        let c = conversation(Some("c@x"), &ids(&["b@x"]), &ids(&["a@x", "b@x"]), "k");
        assert_eq!(c.key, "a@x");
        assert!(!c.is_new);
        assert_eq!(c.hints.len(), 3);
        assert!(c.hints.iter().filter(|h| h.used).count() == 1);
    }

    #[test]
    fn in_reply_to_then_own_id_then_idempotency_key() {
        assert_eq!(
            conversation(Some("c@x"), &ids(&["b@x"]), &[], "k").key,
            "b@x"
        );
        let own = conversation(Some("c@x"), &[], &[], "k");
        assert_eq!(own.key, "c@x");
        assert!(own.is_new);
        let none = conversation(None, &[], &[], "email:a:INBOX:1:2");
        assert_eq!(none.key, "email:email:a:INBOX:1:2");
        assert!(none.hints.is_empty());
    }
}
