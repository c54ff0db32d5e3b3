//! Turning fetched IMAP data into [`Inbound`] items: idempotency keys, IMAP coordinates, and
//! rejections for messages over `max_message_bytes` or that could not be fetched. Pure: no
//! network.

use std::collections::BTreeMap;

use intake_normalizer::case::{ImapSource, Source};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::fetch::{Missing, Unread};
use crate::{Inbound, Payload, Receipt, Rejection, Wire};

/// Where a batch's messages live: the parts every idempotency key shares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    /// `config.account()`: `username@host`, stable across channel renames.
    pub account: &'a str,
    pub mailbox: &'a str,
    pub uidvalidity: u32,
    /// UIDs below this were renumbered by a UIDVALIDITY change: look up their content hash.
    pub rescan_below: u32,
}

impl Origin<'_> {
    /// `email:{account}:{mailbox}:{uidvalidity}:{uid}`: the provider identity of one message.
    pub(crate) fn uid_key(&self, uid: u32) -> String {
        super::keys::uid_key(self.account, self.mailbox, self.uidvalidity, uid)
    }

    /// `email:{account}:{mailbox}:sha256:{hex}`: the fallback that survives UIDVALIDITY resets.
    pub(crate) fn content_key(&self, sha256: &str) -> String {
        super::keys::content_key(self.account, self.mailbox, sha256)
    }

    fn imap(&self, uid: u32) -> ImapSource {
        ImapSource {
            mailbox: self.mailbox.to_string(),
            uidvalidity: self.uidvalidity,
            uid,
        }
    }

    /// A fetched message, ready for the normalizer.
    pub(crate) fn email(&self, uid: u32, raw: Vec<u8>, received_at: &str) -> Inbound {
        // Hashed once here: the key needs it, and the normalizer names the raw blob by it.
        let sha256 = intake_normalizer::sha256_hex(&raw);
        Inbound {
            idempotency_keys: vec![self.uid_key(uid), self.content_key(&sha256)],
            // The content hash is always recorded, but looked up only for renumbered messages:
            // two deliveries of byte-identical mail are two messages.
            lookup_keys: if uid < self.rescan_below { 2 } else { 1 },
            received_at: received_at.to_string(),
            payload: Payload::Wire(Wire {
                bytes: raw,
                sha256: Some(sha256),
                source: Source {
                    imap: Some(self.imap(uid)),
                    ..Source::default()
                },
                files: Vec::new(),
            }),
            receipt: Receipt(u64::from(uid)),
        }
    }

    /// A message over the size limit: only its header block was fetched, it goes to the dead
    /// letter stream. Without a body there is no content hash, so only the UID key.
    pub(crate) fn too_large(
        &self,
        uid: u32,
        size: u64,
        limit: u64,
        header_block: Option<&[u8]>,
        received_at: &str,
    ) -> Inbound {
        let headers = header_block
            .map(intake_normalizer::email::read_headers)
            .unwrap_or_default();
        let message_id = headers
            .get("message-id")
            .map(|id| {
                id.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
            .filter(|id| !id.is_empty());
        let source = Source {
            message_id,
            imap: Some(self.imap(uid)),
            ..Source::default()
        };
        Inbound {
            idempotency_keys: vec![self.uid_key(uid)],
            lookup_keys: 1,
            received_at: received_at.to_string(),
            payload: Payload::Rejected(Rejection {
                reason: "too_large".into(),
                error: format!("message is {size} bytes, over max_message_bytes ({limit})"),
                headers,
                size: Some(size),
                source,
                raw: None,
            }),
            receipt: Receipt(u64::from(uid)),
        }
    }

    /// A message that still exists but failed to be fetched `failures` times in a row: it goes
    /// to the dead-letter stream so the channel can move on. Nothing of it could be read, so
    /// there are no headers, no content hash and no raw bytes to keep.
    pub(crate) fn fetch_failed(
        &self,
        uid: u32,
        unread: Unread,
        failures: u32,
        received_at: &str,
    ) -> Inbound {
        let how = match unread.why {
            Missing::Absent => "the server left it out of its FETCH answers",
            Missing::Refused => "the server answered NO to its FETCH",
            Missing::Broken => "fetching it broke the IMAP session",
        };
        Inbound {
            idempotency_keys: vec![self.uid_key(uid)],
            lookup_keys: 1,
            received_at: received_at.to_string(),
            payload: Payload::Rejected(Rejection {
                reason: "fetch_failed".into(),
                error: format!(
                    "uid {uid} still exists but could not be fetched {failures} times in a row \
                     ({how}); no raw bytes could be read, so none are kept"
                ),
                headers: BTreeMap::new(),
                size: unread.size,
                source: Source {
                    imap: Some(self.imap(uid)),
                    ..Source::default()
                },
                raw: None,
            }),
            receipt: Receipt(u64::from(uid)),
        }
    }
}

/// Now, RFC 3339 in UTC.
pub(crate) fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: Origin<'static> = Origin {
        account: "support@imap.example.com",
        mailbox: "INBOX",
        uidvalidity: 7,
        rescan_below: 0,
    };

    #[test]
    fn content_hash_is_looked_up_only_for_renumbered_messages() {
        let raw = b"Subject: hi\r\n\r\nbody".to_vec();
        assert_eq!(ORIGIN.email(42, raw.clone(), "t").lookup_keys, 1);
        let rescanning = Origin {
            rescan_below: 43,
            ..ORIGIN
        };
        assert_eq!(rescanning.email(42, raw.clone(), "t").lookup_keys, 2);
        assert_eq!(rescanning.email(43, raw, "t").lookup_keys, 1);
    }

    #[test]
    fn email_keys_are_uid_then_content_hash() {
        let item = ORIGIN.email(
            42,
            b"Subject: hi\r\n\r\nbody".to_vec(),
            "2024-01-01T00:00:00Z",
        );
        assert_eq!(
            item.idempotency_keys[0],
            "email:support@imap.example.com:INBOX:7:42"
        );
        assert!(
            item.idempotency_keys[1].starts_with("email:support@imap.example.com:INBOX:sha256:")
        );
        assert_eq!(
            item.idempotency_keys[1].len(),
            "email:support@imap.example.com:INBOX:sha256:".len() + 64
        );
        assert_eq!(item.receipt, Receipt(42));
        match item.payload {
            Payload::Wire(Wire {
                bytes,
                source: Source {
                    imap: Some(imap), ..
                },
                ..
            }) => {
                assert_eq!(bytes, b"Subject: hi\r\n\r\nbody");
                assert_eq!(
                    (imap.uidvalidity, imap.uid, imap.mailbox.as_str()),
                    (7, 42, "INBOX")
                );
            }
            other => panic!("unexpected payload {other:?}"),
        }
    }

    #[test]
    fn same_bytes_same_content_key_across_uidvalidity() {
        let other = Origin {
            uidvalidity: 8,
            ..ORIGIN
        };
        assert_eq!(ORIGIN.content_key("ab"), other.content_key("ab"));
        assert_ne!(ORIGIN.uid_key(1), other.uid_key(1));
    }

    #[test]
    fn too_large_has_only_the_uid_key() {
        let item = ORIGIN.too_large(9, 100, 10, Some(b"Subject: big\r\n\r\n"), "t");
        assert_eq!(
            item.idempotency_keys,
            vec!["email:support@imap.example.com:INBOX:7:9"]
        );
        match item.payload {
            Payload::Rejected(r) => {
                assert_eq!(r.reason, "too_large");
                assert_eq!(r.size, Some(100));
                assert_eq!(r.source.imap.map(|i| i.uid), Some(9));
            }
            other => panic!("unexpected payload {other:?}"),
        }
    }

    #[test]
    fn fetch_failed_is_a_rejection_without_bytes() {
        let unread = Unread {
            why: Missing::Refused,
            size: Some(321),
        };
        let item = ORIGIN.fetch_failed(11, unread, 5, "t");
        assert_eq!(
            item.idempotency_keys,
            vec!["email:support@imap.example.com:INBOX:7:11"]
        );
        assert_eq!(item.receipt, Receipt(11));
        match item.payload {
            Payload::Rejected(r) => {
                assert_eq!(r.reason, "fetch_failed");
                assert!(
                    r.error.contains("5 times") && r.error.contains("NO"),
                    "{}",
                    r.error
                );
                assert!(r.error.contains("no raw bytes"), "{}", r.error);
                assert_eq!(r.size, Some(321));
                assert_eq!(r.source.imap.map(|i| i.uid), Some(11));
            }
            other => panic!("unexpected payload {other:?}"),
        }
    }

    #[test]
    fn received_at_is_rfc3339() {
        let now = now_rfc3339();
        assert!(OffsetDateTime::parse(&now, &Rfc3339).is_ok(), "{now}");
    }
}
