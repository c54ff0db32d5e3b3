//! Idempotency keys of the SMS channel: `sms:{account_sid}:{MessageSid}`. Twilio retries a
//! webhook that failed or timed out with the same `MessageSid`, so the retry lands once.

/// The key of message `message_sid` of Twilio account `account_sid`.
pub fn message_key(account_sid: &str, message_sid: &str) -> String {
    format!("sms:{account_sid}:{message_sid}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_names_the_account_and_the_message() {
        assert_eq!(super::message_key("AC1", "SM2"), "sms:AC1:SM2");
    }
}
