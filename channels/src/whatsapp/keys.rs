//! Idempotency keys of the WhatsApp channel: `whatsapp:{phone_number_id}:{message id}`. The
//! business number's id scopes the key, so two numbers (two channels) never collide, and a
//! message Meta delivers again (it retries for days, sometimes seconds apart) lands once.

/// The key of message `message_id` received on the business number `phone_number_id`.
pub fn message_key(phone_number_id: &str, message_id: &str) -> String {
    format!("whatsapp:{phone_number_id}:{message_id}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_names_the_number_and_the_message() {
        assert_eq!(
            super::message_key("106540352242922", "wamid.HBgL"),
            "whatsapp:106540352242922:wamid.HBgL"
        );
    }
}
