//! What the WhatsApp and SMS handlers share beyond `webhook.rs`: delivering the messages of one
//! request together, and providers' Unix times in the case's format.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Inbound;
use crate::push::{PushRefused, PushSender};

/// Delivers every message of one request at once and waits for all: Ok only when every one is
/// durable (the request may be acknowledged), else the first refusal (the provider retries the
/// whole request; those already in find their entries by idempotency key).
pub(crate) async fn deliver_all(
    sender: &PushSender,
    inbounds: Vec<Inbound>,
) -> Result<(), PushRefused> {
    let waits = inbounds.into_iter().map(|inbound| sender.deliver(inbound));
    futures::future::join_all(waits)
        .await
        .into_iter()
        .collect::<Result<Vec<()>, _>>()
        .map(|_| ())
}

/// Unix seconds (as a provider writes them, a decimal string) as RFC 3339; None when unreadable.
pub(crate) fn unix_rfc3339(seconds: &str) -> Option<String> {
    let seconds: i64 = seconds.trim().parse().ok()?;
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_become_rfc3339() {
        assert_eq!(
            unix_rfc3339("1700000000").as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(unix_rfc3339("soon"), None);
    }
}
