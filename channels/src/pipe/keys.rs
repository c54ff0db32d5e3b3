//! Idempotency keys of the pipe channel: `pipe:{channel}:{message-id}:{sha256}`, or
//! `pipe:{channel}:sha256:{sha256}` without a Message-ID. An MTA that retries after a lost exit
//! status pipes the very same bytes again, which find their entry; a sender that reuses a
//! Message-ID for different mail still gets two cases, because the hash differs.

/// The key of a message with `message_id` (if any) whose raw bytes hash to `sha256`.
pub fn message_key(channel: &str, message_id: Option<&str>, sha256: &str) -> String {
    match message_id {
        Some(id) => format!("pipe:{channel}:{id}:{sha256}"),
        None => format!("pipe:{channel}:sha256:{sha256}"),
    }
}

#[cfg(test)]
mod tests {
    use super::message_key;

    #[test]
    fn keys_name_the_channel_the_id_and_the_content() {
        assert_eq!(message_key("mta", Some("a@b"), "ff"), "pipe:mta:a@b:ff");
        assert_eq!(message_key("mta", None, "ff"), "pipe:mta:sha256:ff");
    }
}
