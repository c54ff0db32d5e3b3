//! Finding and fetching new messages: `UID SEARCH` for UIDs above the checkpoint, one size scan
//! per batch, header-only fetches for oversized messages and ONE `UID FETCH ... BODY.PEEK[]` for
//! the rest. `BODY.PEEK` never sets `\Seen`: only the ack marks anything.
//!
//! Responses are consumed as they stream in; each raw message is copied exactly once, out of
//! async-imap's receive buffer into the `Vec` the worker gets.

use std::collections::BTreeMap;

use async_imap::imap_proto::{AttributeValue, MailboxDatum, MessageSection, Response, SectionPath};

use tracing::{debug, warn};

use super::batch::{self, Origin};
use super::proto::{self, ImapSession, uid_set};
use crate::{ChannelError, Inbound};

/// Raw bytes one batch may hold. A worker holds up to three batches at once (one fetched, one
/// being normalized, one being committed), so this bounds its memory whatever the mix of
/// message sizes: 500 messages of a few KB stay one batch, a run of 2 MB attachments is cut.
pub(crate) const BATCH_BYTES: u64 = 8 * 1024 * 1024;

/// Fetches a leading run of `uids` (ascending) as one batch, in UID order: a size scan, the
/// header block of messages over `limit` (rejected as too large), and one body fetch for the
/// rest, stopping before the bodies would pass [`BATCH_BYTES`] (at least one UID is taken).
/// Returns the batch and how many of `uids` it covers; UIDs expunged since the search are left
/// out of the batch.
pub(crate) async fn batch(
    session: &mut ImapSession,
    uids: &[u32],
    origin: Origin<'_>,
    limit: u64,
    channel: &str,
) -> Result<(Vec<Inbound>, usize), ChannelError> {
    let mut sizes = sizes(session, uids).await?;
    let taken = within_budget(uids, &sizes, limit, BATCH_BYTES);
    if let Some(&first_left) = uids.get(taken) {
        sizes.retain(|&uid, _| uid < first_left);
    }
    let (large, normal): (Vec<u32>, Vec<u32>) = sizes
        .keys()
        .partition(|uid| sizes.get(uid).is_some_and(|size| *size > limit));
    let mut headers = match large.is_empty() {
        true => BTreeMap::new(),
        false => headers(session, &large).await?,
    };
    let mut bodies = match normal.is_empty() {
        true => BTreeMap::new(),
        false => bodies(session, &normal).await?,
    };
    let received_at = batch::now_rfc3339();
    let mut items = Vec::with_capacity(sizes.len());
    for (uid, size) in sizes {
        if size > limit {
            warn!(
                channel,
                uid, size, "message over max_message_bytes, rejecting"
            );
            let header_block = headers.remove(&uid);
            items.push(origin.too_large(uid, size, limit, header_block.as_deref(), &received_at));
        } else if let Some(raw) = bodies.remove(&uid) {
            items.push(origin.email(uid, raw, &received_at));
        } else {
            debug!(channel, uid, "message expunged before fetch");
        }
    }
    debug!(channel, count = items.len(), "batch fetched");
    Ok((items, taken))
}

/// How many leading `uids` fit in `budget` bytes of bodies (at least one). Messages over `limit`
/// are fetched as headers only and expunged ones not at all, so they cost nothing here.
fn within_budget(uids: &[u32], sizes: &BTreeMap<u32, u64>, limit: u64, budget: u64) -> usize {
    let mut total = 0u64;
    for (i, uid) in uids.iter().enumerate() {
        let size = sizes.get(uid).copied().filter(|&size| size <= limit);
        total = total.saturating_add(size.unwrap_or(0));
        if total > budget && i > 0 {
            return i;
        }
    }
    uids.len()
}

/// UIDs strictly greater than `after`, ascending.
///
/// `UID SEARCH UID n:*` with n above the highest UID still matches the highest message (`*` is
/// "the largest UID in use", RFC 3501 6.4.8), so the result is filtered.
pub(crate) async fn search_after(
    session: &mut ImapSession,
    after: u32,
) -> Result<Vec<u32>, ChannelError> {
    let Some(first) = after.checked_add(1) else {
        return Ok(Vec::new());
    };
    let mut uids = Vec::new();
    proto::run(session, &format!("UID SEARCH UID {first}:*"), |response| {
        if let Response::MailboxData(MailboxDatum::Search(found)) = response {
            uids.extend(found.iter().copied().filter(|uid| *uid > after));
        }
        Ok(())
    })
    .await?;
    uids.sort_unstable();
    uids.dedup();
    Ok(uids)
}

/// RFC822.SIZE of each of `uids` that still exists (expunged ones are simply absent).
pub(crate) async fn sizes(
    session: &mut ImapSession,
    uids: &[u32],
) -> Result<BTreeMap<u32, u64>, ChannelError> {
    let mut sizes = BTreeMap::new();
    let command = format!("UID FETCH {} (UID RFC822.SIZE)", uid_set(uids));
    proto::run(session, &command, |response| {
        if let Response::Fetch(_, attributes) = response {
            let mut uid = None;
            let mut size = None;
            for attribute in attributes {
                match attribute {
                    AttributeValue::Uid(u) => uid = Some(*u),
                    AttributeValue::Rfc822Size(s) => size = Some(u64::from(*s)),
                    _ => {}
                }
            }
            if let (Some(uid), Some(size)) = (uid, size) {
                sizes.insert(uid, size);
            }
        }
        Ok(())
    })
    .await?;
    sizes.retain(|uid, _| uids.binary_search(uid).is_ok());
    Ok(sizes)
}

/// The header block (`BODY.PEEK[HEADER]`) of each of `uids`, for messages too large to fetch.
pub(crate) async fn headers(
    session: &mut ImapSession,
    uids: &[u32],
) -> Result<BTreeMap<u32, Vec<u8>>, ChannelError> {
    let command = format!("UID FETCH {} (UID BODY.PEEK[HEADER])", uid_set(uids));
    fetch_sections(session, &command, uids, |section| {
        matches!(section, Some(SectionPath::Full(MessageSection::Header)))
    })
    .await
}

/// The full raw message (`BODY.PEEK[]`) of each of `uids`, in one command.
pub(crate) async fn bodies(
    session: &mut ImapSession,
    uids: &[u32],
) -> Result<BTreeMap<u32, Vec<u8>>, ChannelError> {
    let command = format!("UID FETCH {} (UID RFC822.SIZE BODY.PEEK[])", uid_set(uids));
    fetch_sections(session, &command, uids, |section| section.is_none()).await
}

/// Runs a UID FETCH and keeps the body section `wanted` picks, by UID. Untagged FETCH responses
/// that are not ours (flag changes pushed for other sessions' STOREs) carry no body section or a
/// UID we did not ask for, and are ignored.
async fn fetch_sections(
    session: &mut ImapSession,
    command: &str,
    uids: &[u32],
    wanted: fn(&Option<SectionPath>) -> bool,
) -> Result<BTreeMap<u32, Vec<u8>>, ChannelError> {
    let mut found = BTreeMap::new();
    proto::run(session, command, |response| {
        let Response::Fetch(_, attributes) = response else {
            return Ok(());
        };
        let mut uid = None;
        let mut data = None;
        for attribute in attributes {
            match attribute {
                AttributeValue::Uid(u) => uid = Some(*u),
                AttributeValue::BodySection {
                    section,
                    index: None,
                    data: Some(bytes),
                } if wanted(section) => {
                    data = Some(bytes);
                }
                _ => {}
            }
        }
        if let (Some(uid), Some(bytes)) = (uid, data)
            && uids.binary_search(&uid).is_ok()
        {
            found.insert(uid, bytes.to_vec());
        }
        Ok(())
    })
    .await?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_stops_at_the_byte_budget() {
        let uids = [1, 2, 3, 4, 5];
        let sizes: BTreeMap<u32, u64> = [(1, 40), (2, 40), (3, 40), (4, 40), (5, 40)].into();
        assert_eq!(within_budget(&uids, &sizes, 1000, 100), 2);
        assert_eq!(within_budget(&uids, &sizes, 1000, 200), 5);
        // One message over the budget still goes, alone.
        let big: BTreeMap<u32, u64> = [(1, 500), (2, 40)].into();
        assert_eq!(within_budget(&[1, 2], &big, 1000, 100), 1);
        // Oversized (headers only) and expunged messages cost nothing.
        let mixed: BTreeMap<u32, u64> = [(1, 5000), (3, 60), (4, 60)].into();
        assert_eq!(within_budget(&[1, 2, 3, 4], &mixed, 1000, 100), 3);
        assert_eq!(within_budget(&[], &sizes, 1000, 100), 0);
    }
}
