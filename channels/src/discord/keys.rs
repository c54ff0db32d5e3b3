//! Idempotency keys of the Discord channel: the one place they are derived.
//!
//! - `discord:{channel id}:{message id}`: a message, whether read live or by a backfill, so
//!   the two readings land once. Snowflakes are global, the channel id keeps keys readable.
//! - `discord:{channel id}:{message id}:edit:{edited ms}`: one edit of it.

/// The key of message `message` of `channel`.
pub fn message_key(channel: u64, message: u64) -> String {
    format!("discord:{channel}:{message}")
}

/// The key of the edit of `message` made at `edited_ms` (Unix milliseconds).
pub fn edit_key(channel: u64, message: u64, edited_ms: i64) -> String {
    format!("discord:{channel}:{message}:edit:{edited_ms}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_channel_and_message() {
        assert_eq!(message_key(290, 334), "discord:290:334");
        assert_eq!(
            edit_key(290, 334, 1_500_000),
            "discord:290:334:edit:1500000"
        );
    }
}
