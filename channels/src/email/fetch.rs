//! Finding and fetching new messages: `UID SEARCH` for UIDs above the checkpoint, one size scan
//! per batch, header-only fetches for oversized messages and ONE `UID FETCH ... BODY.PEEK[]` for
//! the rest. `BODY.PEEK` never sets `\Seen`: only the ack marks anything.
//!
//! Nothing is dropped here: a UID a FETCH did not answer comes back as [`Unread`], and the
//! caller (`stall.rs`) decides, after a `UID SEARCH` confirms whether it still exists, to skip
//! it or to stop before it. When a FETCH of several UIDs ends in a tagged `NO`, the UIDs it did
//! not answer are fetched one by one, so one unreadable message does not fail its whole batch.
//!
//! Responses are consumed as they stream in; each raw message is copied exactly once, out of
//! async-imap's receive buffer into the `Vec` the worker gets.

use std::collections::{BTreeMap, BTreeSet};

use async_imap::imap_proto::{AttributeValue, MailboxDatum, MessageSection, Response, SectionPath};

use tracing::{debug, warn};

use super::batch::{self, Origin};
use super::proto::{self, Completion, ImapSession, uid_set};
use crate::{ChannelError, Inbound};

/// Raw bytes one batch may hold. A worker holds up to three batches at once (one fetched, one
/// being normalized, one being committed), so this bounds its memory whatever the mix of
/// message sizes: 500 messages of a few KB stay one batch, a run of 2 MB attachments is cut.
pub(crate) const BATCH_BYTES: u64 = 8 * 1024 * 1024;

/// Why a UID's data did not come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// The command succeeded without an answer for it (expunged, or a server that skips it).
    Absent,
    /// Fetched alone, it got a tagged `NO`.
    Refused,
    /// Fetched alone, it broke the session (an unreadable answer, a lost connection).
    Broken,
}

impl Missing {
    /// A label for logs and dead letters.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Missing::Absent => "absent",
            Missing::Refused => "refused",
            Missing::Broken => "broken",
        }
    }
}

/// A UID of the batch that could not be read, and its size when the size scan had it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unread {
    pub why: Missing,
    pub size: Option<u64>,
}

/// What a batch fetch found: one outcome per UID it covers, in UID order. It covers a leading
/// run of the requested UIDs; the rest did not fit the byte budget.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub outcomes: Vec<(u32, Result<Inbound, Unread>)>,
}

/// Fetches a leading run of `uids` (ascending) as one batch, in UID order: a size scan, the
/// header block of messages over `limit` (rejected as too large), and one body fetch for the
/// rest, stopping before the bodies would pass [`BATCH_BYTES`] (at least one UID is taken).
pub(crate) async fn batch(
    session: &mut ImapSession,
    uids: &[u32],
    origin: Origin<'_>,
    limit: u64,
    channel: &str,
) -> Result<Fetched, ChannelError> {
    let sizes = fetch_isolating(session, uids, "(UID RFC822.SIZE)", pick_size).await?;
    let taken = within_budget(uids, &sizes.found, limit, BATCH_BYTES);
    let uids = uids.get(..taken).unwrap_or_default();
    let (large, normal): (Vec<u32>, Vec<u32>) = uids
        .iter()
        .filter(|uid| sizes.found.contains_key(uid))
        .partition(|uid| sizes.found.get(uid).is_some_and(|size| *size > limit));
    let mut headers = match large.is_empty() {
        true => Partial::default(),
        false => fetch_isolating(session, &large, "(UID BODY.PEEK[HEADER])", pick_header).await?,
    };
    let mut bodies = match normal.is_empty() {
        true => Partial::default(),
        false => fetch_isolating(session, &normal, "(UID BODY.PEEK[])", pick_body).await?,
    };
    let received_at = batch::now_rfc3339();
    let mut outcomes = Vec::with_capacity(uids.len());
    for &uid in uids {
        let outcome = match sizes.found.get(&uid).copied() {
            None => Err(Unread {
                why: sizes.missing(uid),
                size: None,
            }),
            Some(size) if size > limit => {
                warn!(
                    channel,
                    uid, size, "message over max_message_bytes, rejecting"
                );
                // Dead-lettered either way: the header block only adds detail.
                let header_block = headers.take(uid).ok();
                Ok(origin.too_large(uid, size, limit, header_block.as_deref(), &received_at))
            }
            Some(size) => match bodies.take(uid) {
                Ok(raw) => Ok(origin.email(uid, raw, &received_at)),
                Err(why) => Err(Unread {
                    why,
                    size: Some(size),
                }),
            },
        };
        outcomes.push((uid, outcome));
    }
    debug!(channel, count = outcomes.len(), "batch fetched");
    Ok(Fetched { outcomes })
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

/// Which of `uids` still exist: `UID SEARCH UID set` (absent UIDs are simply not listed).
pub(crate) async fn existing(
    session: &mut ImapSession,
    uids: &[u32],
) -> Result<BTreeSet<u32>, ChannelError> {
    let mut found = BTreeSet::new();
    if uids.is_empty() {
        return Ok(found);
    }
    let command = format!("UID SEARCH UID {}", uid_set(uids));
    proto::run(session, &command, |response| {
        if let Response::MailboxData(MailboxDatum::Search(hits)) = response {
            found.extend(hits.iter().filter(|uid| uids.binary_search(uid).is_ok()));
        }
        Ok(())
    })
    .await?;
    Ok(found)
}

/// What one FETCH item returned, by UID, and which UIDs the server refused outright.
struct Partial<T> {
    found: BTreeMap<u32, T>,
    refused: BTreeSet<u32>,
}

impl<T> Default for Partial<T> {
    fn default() -> Self {
        Partial {
            found: BTreeMap::new(),
            refused: BTreeSet::new(),
        }
    }
}

impl<T> Partial<T> {
    fn missing(&self, uid: u32) -> Missing {
        match self.refused.contains(&uid) {
            true => Missing::Refused,
            false => Missing::Absent,
        }
    }

    fn take(&mut self, uid: u32) -> Result<T, Missing> {
        self.found.remove(&uid).ok_or_else(|| self.missing(uid))
    }
}

/// Picks `(uid, value)` out of one untagged FETCH response's attributes.
type Pick<T> = fn(&[AttributeValue<'_>]) -> Option<(u32, T)>;

/// `UID FETCH uids items`; after a tagged `NO`, each UID it left unanswered is fetched alone,
/// and those refused again are marked refused. Untagged FETCH responses that are not ours (flag
/// changes pushed for other sessions' STOREs) pick nothing or name a UID we did not ask for.
async fn fetch_isolating<T: Send>(
    session: &mut ImapSession,
    uids: &[u32],
    items: &str,
    pick: Pick<T>,
) -> Result<Partial<T>, ChannelError> {
    let mut partial = Partial::default();
    if fetch_into(session, uids, items, pick, &mut partial.found).await? == Completion::Ok {
        return Ok(partial);
    }
    let unanswered: Vec<u32> = uids
        .iter()
        .copied()
        .filter(|uid| !partial.found.contains_key(uid))
        .collect();
    debug!(
        unanswered = unanswered.len(),
        "fetch refused, fetching the unanswered messages one by one"
    );
    for uid in unanswered {
        if fetch_into(session, &[uid], items, pick, &mut partial.found).await? == Completion::No {
            partial.refused.insert(uid);
        }
    }
    Ok(partial)
}

async fn fetch_into<T: Send>(
    session: &mut ImapSession,
    uids: &[u32],
    items: &str,
    pick: Pick<T>,
    found: &mut BTreeMap<u32, T>,
) -> Result<Completion, ChannelError> {
    let command = format!("UID FETCH {} {items}", uid_set(uids));
    proto::run_allowing_no(session, &command, |response| {
        if let Response::Fetch(_, attributes) = response
            && let Some((uid, value)) = pick(attributes)
            && uids.binary_search(&uid).is_ok()
        {
            found.insert(uid, value);
        }
        Ok(())
    })
    .await
}

fn pick_size(attributes: &[AttributeValue<'_>]) -> Option<(u32, u64)> {
    let mut uid = None;
    let mut size = None;
    for attribute in attributes {
        match attribute {
            AttributeValue::Uid(u) => uid = Some(*u),
            AttributeValue::Rfc822Size(s) => size = Some(u64::from(*s)),
            _ => {}
        }
    }
    Some((uid?, size?))
}

/// The header block (`BODY[HEADER]`), for messages too large to fetch.
fn pick_header(attributes: &[AttributeValue<'_>]) -> Option<(u32, Vec<u8>)> {
    pick_section(attributes, |section| {
        matches!(section, Some(SectionPath::Full(MessageSection::Header)))
    })
}

/// The full raw message (`BODY[]`).
fn pick_body(attributes: &[AttributeValue<'_>]) -> Option<(u32, Vec<u8>)> {
    pick_section(attributes, Option::is_none)
}

fn pick_section(
    attributes: &[AttributeValue<'_>],
    wanted: fn(&Option<SectionPath>) -> bool,
) -> Option<(u32, Vec<u8>)> {
    let mut uid = None;
    let mut data = None;
    for attribute in attributes {
        match attribute {
            AttributeValue::Uid(u) => uid = Some(*u),
            AttributeValue::BodySection {
                section,
                index: None,
                data: Some(bytes),
            } if wanted(section) => data = Some(bytes),
            _ => {}
        }
    }
    Some((uid?, data?.to_vec()))
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
