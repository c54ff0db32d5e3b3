//! The conversation store: resolves each case's threading hints against Redis, records the
//! case's own identities so later messages find it, and counts messages per sender to flag
//! mail loops.
//!
//! Keys (under the deployment's hash-tagged prefix, with the configured TTL):
//! - `conv:msgid:<message-id>` → conversation key. Strong signal, shared by every sender:
//!   In-Reply-To, References, the message's own id (a copy delivered to a second mailbox), and
//!   a bounce's original message id. Only a message's *own* id is recorded, never its parents':
//!   otherwise every customer replying to one newsletter would end up in one conversation. A
//!   helpdesk may record the ids of the replies it sends (`SET <prefix>:conv:msgid:<id> <key>`),
//!   so that answers and bounces to them join the conversation.
//! - `conv:<signal>:<sender>:<value>` → conversation key for the weak signals (subject tags,
//!   plus-address tokens): scoped by sender, so one ticket number or token shared by many
//!   people never merges their mail.
//! - `conv:chat:<channel>:<chat>` → conversation key for chat channels (a chat, thread or
//!   contact), expiring after the idle window and refreshed by every message: after a quiet
//!   day (by default) the chat's next message opens a new conversation.
//! - `rate:<sender>:<window>`: messages from a sender in the current fixed window.
//!
//! Resolution is one pipelined round trip per batch: the records of the batch before it, then
//! all its lookups and counters. A batch is acked only once its records are written (by the
//! next batch's round trip, or alone). A redelivered message resolves the same way: its own id
//! points at the conversation recorded the first time.

mod error;
mod resolve;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use intake_config::ConversationsConfig;
use intake_normalizer::Case;
use redis::aio::ConnectionManager;

pub use error::ConversationError;

/// The identities of a batch's cases, to be recorded so later messages find their
/// conversation.
#[derive(Debug, Default)]
pub struct Records(Vec<resolve::Record>);

/// Resolves and records conversations for batches of cases.
#[derive(Clone)]
pub struct ConversationStore {
    conn: ConnectionManager,
    prefix: String,
    ttl_secs: u64,
    chat_idle_secs: u64,
    loop_window: Duration,
    loop_threshold: u32,
}

impl std::fmt::Debug for ConversationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversationStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl ConversationStore {
    pub fn new(conn: ConnectionManager, key_prefix: &str, config: &ConversationsConfig) -> Self {
        ConversationStore {
            conn,
            prefix: format!("{key_prefix}:"),
            ttl_secs: config.ttl.as_secs().max(1),
            chat_idle_secs: config.chat_idle_window.as_secs().max(1),
            loop_window: config.loop_window.max(Duration::from_secs(1)),
            loop_threshold: config.loop_threshold,
        }
    }

    /// The same store on another connection (a worker's own: `worker/thread.rs`).
    pub fn with_connection(&self, conn: ConnectionManager) -> Self {
        ConversationStore {
            conn,
            ..self.clone()
        }
    }

    /// Writes `previous` (what resolving the batch before returned), then fills in
    /// `conversation` (key, is_new, hints with used/reason) and `loop_suspect` of every case,
    /// in order, so a reply later in the batch finds a message earlier in it. One pipelined
    /// round trip: Redis runs a connection's commands in order, so the lookups see the records
    /// written ahead of them, and neither waits for the other's reply. Returns the cases'
    /// identities, to pass as `previous` with the next batch (or alone).
    ///
    /// Every record is idempotent (a plain SET with its lifetime, or SET NX), so a failed call
    /// is simply made again; only a sender's loop counter may then count the batch twice.
    pub async fn record_and_resolve(
        &mut self,
        previous: &Records,
        cases: &mut [&mut Case],
    ) -> Result<Records, ConversationError> {
        if previous.0.is_empty() && cases.is_empty() {
            return Ok(Records::default());
        }
        let mut pipe = redis::pipe();
        self.add_records(&mut pipe, previous);
        let window = self.window_index();
        let plans: Vec<resolve::Plan> = cases
            .iter()
            .map(|case| resolve::Plan::of(case, &self.prefix, window))
            .collect();
        for plan in &plans {
            for key in &plan.lookups {
                pipe.get(key);
            }
            pipe.incr(&plan.rate_key, 1)
                .expire(&plan.rate_key, (self.loop_window.as_secs() * 2) as i64)
                .ignore();
        }
        let replies: Vec<redis::Value> = pipe
            .query_async(&mut self.conn)
            .await
            .map_err(|e| ConversationError::from_redis(&e))?;
        let records = resolve::apply(
            cases,
            &plans,
            &replies,
            self.loop_threshold,
            self.loop_window,
        );
        Ok(Records(records))
    }

    /// Adds a SET per record to `pipe`, their replies ignored.
    fn add_records(&self, pipe: &mut redis::Pipeline, records: &Records) {
        for record in &records.0 {
            let mut set = redis::cmd("SET");
            set.arg(&record.key)
                .arg(&record.conversation)
                .arg("EX")
                .arg(match record.lifetime {
                    resolve::Lifetime::Conversation => self.ttl_secs,
                    resolve::Lifetime::ChatIdle => self.chat_idle_secs,
                });
            if record.keep_existing {
                set.arg("NX");
            }
            pipe.add_command(set).ignore();
        }
    }

    fn window_index(&self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        now / self.loop_window.as_secs().max(1)
    }
}
