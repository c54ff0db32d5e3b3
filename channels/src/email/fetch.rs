//! Finding and fetching new messages: `UID SEARCH` for UIDs above the checkpoint, one size scan
//! per batch, header-only fetches for oversized messages and ONE `UID FETCH ... BODY.PEEK[]` for
//! the rest. `BODY.PEEK` never sets `\Seen`: only the ack marks anything.
//!
//! Responses are consumed as they stream in; each raw message is copied exactly once, out of
//! async-imap's receive buffer into the `Vec` the worker gets.

use std::collections::BTreeMap;

use async_imap::imap_proto::{AttributeValue, MailboxDatum, MessageSection, Response, SectionPath};

use super::proto::{self, ImapSession, uid_set};
use crate::ChannelError;

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
