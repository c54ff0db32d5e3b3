//! Idempotency keys of the api channel: `api:{channel}:{delivery id}`. The id is the client's
//! (`webhook-id` or the body's `id`), unique per delivery and repeated on its retries; scoped by
//! channel, since two clients on two channels may pick the same ids.

/// The key of delivery `id` on channel `channel`.
pub fn delivery_key(channel: &str, id: &str) -> String {
    format!("api:{channel}:{id}")
}
