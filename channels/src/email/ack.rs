//! Applying `after_ingest` to acknowledged UIDs, one command per step for the whole set:
//!
//! - `Seen`: `UID STORE set +FLAGS.SILENT (\Seen)`
//! - `Delete`: `UID STORE set +FLAGS.SILENT (\Deleted)`, then `UID EXPUNGE set` with UIDPLUS
//!   (plain `EXPUNGE` otherwise, which also removes other clients' `\Deleted` messages)
//! - `MoveTo(folder)`: `UID MOVE set folder` with MOVE, else `UID COPY` + `\Deleted` + expunge
//!
//! Every step must come back tagged `OK` before the next one, and the caller saves the checkpoint
//! only after the last one: server first, checkpoint second. A crash in between re-fetches the
//! messages and the sink's idempotency keys drop the repeats.

use intake_config::AfterIngest;

use super::connect::ServerCapabilities;
use super::proto::{self, ImapSession, quote, uid_set};
use crate::ChannelError;

/// Marks `uids` (ascending) done on the server per `after`.
pub(crate) async fn apply(
    session: &mut ImapSession,
    caps: ServerCapabilities,
    after: &AfterIngest,
    uids: &[u32],
) -> Result<(), ChannelError> {
    if uids.is_empty() {
        return Ok(());
    }
    let set = uid_set(uids);
    match after {
        AfterIngest::Seen => store(session, &set, "\\Seen").await,
        AfterIngest::Delete => {
            store(session, &set, "\\Deleted").await?;
            expunge(session, caps, &set).await
        }
        AfterIngest::MoveTo(folder) => {
            let folder = quote(folder)?;
            if caps.move_supported {
                drain(session, &format!("UID MOVE {set} {folder}")).await
            } else {
                drain(session, &format!("UID COPY {set} {folder}")).await?;
                store(session, &set, "\\Deleted").await?;
                expunge(session, caps, &set).await
            }
        }
    }
}

async fn store(session: &mut ImapSession, set: &str, flag: &str) -> Result<(), ChannelError> {
    drain(session, &format!("UID STORE {set} +FLAGS.SILENT ({flag})")).await
}

async fn expunge(
    session: &mut ImapSession,
    caps: ServerCapabilities,
    set: &str,
) -> Result<(), ChannelError> {
    if caps.uidplus {
        drain(session, &format!("UID EXPUNGE {set}")).await
    } else {
        drain(session, "EXPUNGE").await
    }
}

/// Runs a command whose untagged output (EXPUNGE, COPYUID, flag FETCHes) we do not need.
async fn drain(session: &mut ImapSession, command: &str) -> Result<(), ChannelError> {
    proto::run(session, command, |_| Ok(())).await
}
