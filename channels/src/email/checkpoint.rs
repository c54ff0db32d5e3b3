//! The email channel's stored position: `{uidvalidity}:{uid}[:{rescan_below}]`.
//!
//! `rescan_below` is set when UIDVALIDITY changed: every message below that UID existed before
//! the change and may already have been ingested under its old UID, so its content-hash key is
//! looked up too. Mail that arrives later is looked up by its UID key alone, so two deliveries
//! of byte-identical mail stay two cases. It is stored so a restart mid-rescan keeps it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub uidvalidity: u32,
    /// Highest UID whose ack the server confirmed.
    pub uid: u32,
    /// UIDs below this were renumbered by a UIDVALIDITY change (0: no rescan going on).
    pub rescan_below: u32,
}

impl Checkpoint {
    pub(crate) fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split(':');
        let uidvalidity = parts.next()?.parse().ok()?;
        let uid = parts.next()?.parse().ok()?;
        let rescan_below = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Checkpoint {
            uidvalidity,
            uid,
            rescan_below,
        })
    }

    /// The stored form; the rescan bound is dropped once every renumbered UID is committed.
    pub(crate) fn encode(&self) -> String {
        if self.rescanning_after(self.uid) {
            format!("{}:{}:{}", self.uidvalidity, self.uid, self.rescan_below)
        } else {
            format!("{}:{}", self.uidvalidity, self.uid)
        }
    }

    /// True when UIDs above `uid` may still be renumbered messages.
    fn rescanning_after(&self, uid: u32) -> bool {
        uid.saturating_add(1) < self.rescan_below
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_encodes() {
        let plain = Checkpoint::parse("1795358834:42");
        assert_eq!(
            plain,
            Some(Checkpoint {
                uidvalidity: 1795358834,
                uid: 42,
                rescan_below: 0
            })
        );
        let rescan = Checkpoint::parse("7:3:10");
        assert_eq!(rescan.map(|c| c.encode()), Some("7:3:10".to_string()));
        assert_eq!(
            Checkpoint::parse("7:9:10").map(|c| c.encode()),
            Some("7:9".to_string())
        );
        for bad in ["garbage", "1:-2", "1:2:3:4", "1"] {
            assert_eq!(Checkpoint::parse(bad), None, "{bad}");
        }
    }
}
