//! Idempotency keys of the email channel: the one place they are derived.
//!
//! - `email:{account}:{mailbox}:{uidvalidity}:{uid}`: the provider identity of one delivery.
//!   `account` is `username@host`, stable across channel renames; the same mail in two
//!   mailboxes is two intakes.
//! - `email:{account}:{mailbox}:sha256:{hex}`: the content-hash fallback that survives a
//!   UIDVALIDITY reset. Always recorded, looked up only for renumbered messages, so two
//!   deliveries of byte-identical mail stay two messages.
//!
//! Never the Message-ID alone: senders reuse them.

/// The key of UID `uid` in `mailbox` under `uidvalidity`.
pub fn uid_key(account: &str, mailbox: &str, uidvalidity: u32, uid: u32) -> String {
    format!("email:{account}:{mailbox}:{uidvalidity}:{uid}")
}

/// The content-hash key of a message whose raw bytes hash to `sha256` (lowercase hex).
pub fn content_key(account: &str, mailbox: &str, sha256: &str) -> String {
    format!("email:{account}:{mailbox}:sha256:{sha256}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_account_mailbox_and_position() {
        assert_eq!(uid_key("a@h", "INBOX", 7, 42), "email:a@h:INBOX:7:42");
        assert_eq!(
            content_key("a@h", "INBOX", "ab"),
            "email:a@h:INBOX:sha256:ab"
        );
    }
}
