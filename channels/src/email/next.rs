//! Choosing and fetching the next batch of the email channel: new UIDs in order, never past
//! one that exists but could not be fetched (see [`super::stall`]).

use super::batch::Origin;
use super::{EmailChannel, Live, fetch, receipt_uid, stall};
use crate::{ChannelError, CheckpointStore, Inbound};

impl<S: CheckpointStore> EmailChannel<S> {
    /// The next batch: new UIDs above everything handed out on this connection, in order.
    /// Empty when there is nothing new, or when the next UID is one that could not be fetched
    /// and its retry is not due. (Unacked messages come again after a reconnect.)
    pub(super) async fn next_batch(
        &mut self,
        live: &mut Live,
        max: usize,
    ) -> Result<Vec<Inbound>, ChannelError> {
        let limit = max.min(self.config.batch_size).min(live.ramp).max(1);
        live.ramp = live.ramp.saturating_mul(2);
        loop {
            if live.pending.is_empty() {
                let after = live.handed_out.max(live.committed);
                live.pending = fetch::search_after(&mut live.session, after).await?.into();
                if live.pending.is_empty() {
                    return Ok(Vec::new());
                }
            }
            let (uidvalidity, poison_after) = (live.uidvalidity, self.config.poison_after);
            let first = live.pending.front().copied().unwrap_or_default();
            if self.strikes.waiting(uidvalidity, first).is_some() {
                return Ok(Vec::new());
            }
            // Near a message whose fetch broke the session, one UID at a time, to find it.
            let take = match self.strikes.alone(uidvalidity, first) {
                true => 1,
                false => limit.min(live.pending.len()),
            };
            let uids: Vec<u32> = live.pending.drain(..take).collect();
            let origin = Origin {
                account: &self.account,
                mailbox: &self.config.mailbox,
                uidvalidity,
                rescan_below: live.rescan_below,
            };
            let (name, limit) = (&self.config.name, self.config.max_message_bytes);
            let fetched = match self.strikes.broken(uidvalidity, first, poison_after) {
                // Fetching it broke the session `poison_after` times: not again.
                Some(failures) => stall::give_up(origin, first, failures, name),
                None => match fetch::batch(&mut live.session, &uids, origin, limit, name).await {
                    Ok(fetched) => fetched,
                    Err(e) => {
                        self.strikes.session_lost(uidvalidity, &uids, name);
                        return Err(e);
                    }
                },
            };
            let settled = stall::settle(
                &mut live.session,
                fetched,
                &mut self.strikes,
                origin,
                poison_after,
                name,
            )
            .await?;
            // What did not fit the byte budget, or came at or after a message that could not
            // be fetched, comes first next time.
            for &uid in uids.get(settled.done..).unwrap_or_default().iter().rev() {
                live.pending.push_front(uid);
            }
            if let Some(&last) = uids.get(..settled.done).and_then(<[u32]>::last) {
                live.handed_out = live.handed_out.max(last);
            }
            let batch = settled.items;
            if !batch.is_empty() {
                live.inflight
                    .extend(batch.iter().filter_map(|item| receipt_uid(item.receipt)));
                return Ok(batch);
            }
            if settled.done == 0 {
                // Stopped before the first UID: it waits for its retry.
                return Ok(Vec::new());
            }
            // Every one of them was expunged since the search: look further.
        }
    }
}
