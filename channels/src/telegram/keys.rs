//! Identities of the Telegram channel: the one place they are derived.
//!
//! - `telegram:{bot id}:{update_id}`: the idempotency key of one update. The bot id (the token's
//!   numeric part) survives token rotation and channel renames; update ids are per bot.
//! - `telegram:{bot id}:sha256:{hex}`: the key of a webhook body with no readable update_id
//!   (dead-lettered; a redelivery of the same bytes finds it).
//! - `telegram:{bot id}:{chat id}:{message id}`: a message's id in `source.message_id` and in
//!   threading hints (message ids are per chat, and for private chats per bot).

/// The idempotency key of update `update_id` of bot `bot_id`.
pub fn update_key(bot_id: &str, update_id: i64) -> String {
    format!("telegram:{bot_id}:{update_id}")
}

/// The key of an unreadable webhook body, by the SHA-256 of its bytes.
pub fn content_key(bot_id: &str, sha256: &str) -> String {
    format!("telegram:{bot_id}:sha256:{sha256}")
}

/// A message's identity for threading.
pub fn message_id(bot_id: &str, chat_id: i64, message_id: i64) -> String {
    format!("telegram:{bot_id}:{chat_id}:{message_id}")
}

/// The `chat` hint's value: the channel's chat, or forum topic within it.
pub fn chat_hint(channel: &str, chat_id: i64, thread_id: Option<i64>) -> String {
    match thread_id {
        Some(thread) => format!("{channel}:{chat_id}:{thread}"),
        None => format!("{channel}:{chat_id}"),
    }
}

/// The receipt of an update: its id (never negative in the Bot API).
pub fn receipt(update_id: i64) -> crate::Receipt {
    crate::Receipt(u64::try_from(update_id).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_bot_and_the_update() {
        assert_eq!(update_key("42", 7), "telegram:42:7");
        assert_eq!(content_key("42", "ab"), "telegram:42:sha256:ab");
        assert_eq!(message_id("42", -100, 5), "telegram:42:-100:5");
        assert_eq!(chat_hint("bot", -100, Some(3)), "bot:-100:3");
        assert_eq!(chat_hint("bot", 9, None), "bot:9");
    }
}
