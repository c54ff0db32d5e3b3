//! Idempotency keys of the slack channel: `slack:{team}:{channel}:{ts}`. A message's `ts` is
//! unique within its channel and the same in every retry of its event, and in the events of
//! every app that sees it, so the key names the message rather than the delivery.

pub fn message_key(team: &str, channel: &str, ts: &str) -> String {
    format!("slack:{team}:{channel}:{ts}")
}
