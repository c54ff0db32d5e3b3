//! Polling: our own getUpdates loop (not teloxide's dispatcher, which confirms updates before
//! the handlers finish).
//!
//! getUpdates confirms every update below the `offset` it is called with, so the offset is the
//! ack: it moves past an update only once the update's case is durable (or the update was
//! skipped by the chat policy, and everything before it is durable). The committed offset is
//! saved in Redis under `telegram:<channel name>` at each ack, so a restart, even after a kill
//! -9, resumes exactly there; Telegram itself never holds an offset we did not send.
//!
//! While a batch is in flight the next poll still sends the committed offset, so Telegram
//! returns the in-flight updates again: they are recognised by id (`seen`) and not handed out
//! twice.

use std::collections::VecDeque;
use std::time::Duration;

use intake_config::{TelegramConfig, TelegramMode};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::api::Api;
use super::filter::{BotIdentity, ChatPolicy, Verdict};
use super::wire::Update;
use super::{inbound, keys};
use crate::{ChannelError, ChannelStatus, CheckpointStore, FetchedFile, Inbound, Receipt};

/// The polling side of a Telegram channel.
pub struct Poller<S: CheckpointStore> {
    pub(super) config: TelegramConfig,
    api: Api,
    checkpoints: S,
    stop: CancellationToken,
    checkpoint_key: String,
    policy: ChatPolicy,
    timeout: Duration,
    delete_webhook: bool,
    /// getMe's answer; None until the first successful start.
    me: Option<BotIdentity>,
    /// The next getUpdates offset: everything below it is durable or skipped.
    offset: i64,
    /// The highest update id taken off the API by this instance (handed out or skipped).
    seen: i64,
    /// Updates from `offset` on that were taken off the API, in order: handed out and not acked
    /// yet (true), or skipped (false, confirmable once everything before it is).
    pending: VecDeque<(i64, bool)>,
    /// Fetched and not handed out yet.
    ready: VecDeque<Inbound>,
    status: watch::Sender<ChannelStatus>,
}

impl<S: CheckpointStore> std::fmt::Debug for Poller<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("name", &self.config.name)
            .field("api", &self.api)
            .field("offset", &self.offset)
            .field("in_flight", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl<S: CheckpointStore> Poller<S> {
    pub fn new(config: TelegramConfig, api: Api, checkpoints: S, stop: CancellationToken) -> Self {
        let (timeout, delete_webhook) = match config.mode {
            TelegramMode::Polling {
                timeout,
                delete_webhook,
            } => (timeout, delete_webhook),
            TelegramMode::Webhook { .. } => (Duration::from_secs(25), false),
        };
        Poller {
            checkpoint_key: format!("telegram:{}", config.name),
            policy: ChatPolicy {
                chats: config.chats,
                group_messages: config.group_messages,
            },
            config,
            api,
            checkpoints,
            stop,
            timeout,
            delete_webhook,
            me: None,
            offset: 0,
            seen: 0,
            pending: VecDeque::new(),
            ready: VecDeque::new(),
            status: watch::Sender::new(ChannelStatus::Connecting),
        }
    }

    pub fn status(&self) -> watch::Receiver<ChannelStatus> {
        self.status.subscribe()
    }

    pub async fn receive(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        let stop = self.stop.clone();
        if stop.is_cancelled() {
            return Err(ChannelError::Shutdown);
        }
        // A long poll in progress is simply dropped at shutdown: it confirmed nothing new.
        tokio::select! {
            biased;
            () = stop.cancelled() => Err(ChannelError::Shutdown),
            result = self.receive_until_some(max) => result,
        }
    }

    async fn receive_until_some(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        loop {
            if !self.ready.is_empty() {
                return Ok(self.take(max));
            }
            let me = self.start().await?;
            let timeout = self.timeout;
            self.poll(&me, timeout).await?;
        }
    }

    /// What is waiting, without a long poll; nothing before the first `receive`.
    pub async fn receive_ready(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        if self.ready.is_empty()
            && let Some(me) = self.me.clone()
        {
            self.poll(&me, Duration::ZERO).await?;
        }
        Ok(self.take(max))
    }

    fn take(&mut self, max: usize) -> Vec<Inbound> {
        let n = max.max(1).min(self.ready.len());
        self.ready.drain(..n).collect()
    }

    /// Once per run: the stored offset, getMe, and a look for a webhook that would make every
    /// getUpdates fail with 409.
    async fn start(&mut self) -> Result<BotIdentity, ChannelError> {
        if let Some(me) = &self.me {
            return Ok(me.clone());
        }
        let result = self.start_once().await;
        if let Err(e) = &result {
            self.status
                .send_replace(ChannelStatus::Failed(e.to_string()));
        }
        result
    }

    async fn start_once(&mut self) -> Result<BotIdentity, ChannelError> {
        if let Some(stored) = self.checkpoints.load(&self.checkpoint_key).await? {
            let stored: i64 = stored.parse().map_err(|_| ChannelError::Checkpoint {
                detail: format!("unreadable telegram offset under {}", self.checkpoint_key),
            })?;
            self.offset = self.offset.max(stored);
        }
        self.seen = self.seen.max(self.offset - 1);
        let me = self.api.me().await?;
        match self.api.webhook().await {
            Ok(Some(hook)) if self.delete_webhook => {
                self.api.delete_webhook().await?;
                info!(channel = %self.config.name, pending = hook.pending, "deleted the webhook set for this bot (delete_webhook = true)");
            }
            Ok(Some(hook)) => {
                warn!(
                    channel = %self.config.name,
                    pending = hook.pending,
                    "a webhook is set for this bot: getUpdates answers 409 until it is deleted \
                     (intake telegram delete-webhook, or delete_webhook = true)"
                );
            }
            Ok(None) => {}
            Err(e) => {
                warn!(channel = %self.config.name, error = %e, "could not read the bot's webhook info")
            }
        }
        info!(channel = %self.config.name, bot_id = me.id, offset = self.offset, "polling telegram");
        self.me = Some(me.clone());
        Ok(me)
    }

    /// One getUpdates from the committed offset; new updates are judged, their files fetched,
    /// and queued in order.
    async fn poll(&mut self, me: &BotIdentity, timeout: Duration) -> Result<(), ChannelError> {
        // Always the API's most: updates still in flight come back first (the offset is the
        // ack), and what follows them is handed out while they are committed.
        let updates = match self.api.updates(self.offset, 100, timeout).await {
            Ok(updates) => updates,
            Err(e) => {
                self.status
                    .send_replace(ChannelStatus::Failed(e.to_string()));
                return Err(e);
            }
        };
        self.status.send_replace(ChannelStatus::Connected);
        for value in updates {
            let Some(update_id) = value.get("update_id").and_then(serde_json::Value::as_i64) else {
                continue;
            };
            if update_id <= self.seen {
                continue;
            }
            let bytes = serde_json::to_vec(&value).unwrap_or_default();
            let parsed = serde_json::from_value::<Update>(value).ok();
            let verdict = parsed
                .as_ref()
                .map_or(Verdict::Ingest, |u| self.policy.judge(u, me));
            match verdict {
                Verdict::Skip(reason) => {
                    debug!(channel = %self.config.name, update_id, reason, "update skipped");
                    self.pending.push_back((update_id, false));
                }
                Verdict::Ingest => {
                    // A failed download leaves this update (and what follows) to the next poll.
                    let files = match &parsed {
                        Some(update) => self.fetch_files(update).await?,
                        None => Vec::new(),
                    };
                    let bot_id = super::api::bot_id(self.config.token.expose());
                    self.ready.push_back(inbound(
                        bot_id,
                        update_id,
                        bytes,
                        files,
                        keys::receipt(update_id),
                    ));
                    self.pending.push_back((update_id, true));
                }
            }
            self.seen = update_id;
        }
        if self.settle_skipped() {
            // Only skipped updates moved the offset: worth keeping, not worth failing for.
            if let Err(e) = self.save().await {
                warn!(channel = %self.config.name, error = %e, "could not save the telegram offset");
            }
        }
        Ok(())
    }

    async fn fetch_files(&self, update: &Update) -> Result<Vec<FetchedFile>, ChannelError> {
        let Some(message) = update.message().1 else {
            return Ok(Vec::new());
        };
        let mut fetched = Vec::new();
        for file in message.files() {
            let content = self
                .api
                .fetch_file(file.file_id, file.file_size, self.config.max_file_bytes)
                .await?;
            fetched.push(FetchedFile {
                id: file.file_id.to_owned(),
                content,
            });
        }
        Ok(fetched)
    }

    /// Moves the offset past skipped updates at the front; true when it moved.
    fn settle_skipped(&mut self) -> bool {
        let mut moved = false;
        while let Some(&(id, false)) = self.pending.front() {
            self.pending.pop_front();
            self.offset = self.offset.max(id + 1);
            moved = true;
        }
        moved
    }

    async fn save(&self) -> Result<(), ChannelError> {
        self.checkpoints
            .save(&self.checkpoint_key, &self.offset.to_string())
            .await
    }

    pub async fn ack(&mut self, receipts: Vec<Receipt>) -> Result<(), ChannelError> {
        if receipts.is_empty() {
            return Ok(());
        }
        for receipt in &receipts {
            let wanted = i64::try_from(receipt.0).unwrap_or(-1);
            loop {
                match self.pending.pop_front() {
                    Some((id, false)) => self.offset = self.offset.max(id + 1),
                    Some((id, true)) if id == wanted => {
                        self.offset = self.offset.max(id + 1);
                        break;
                    }
                    _ => {
                        return Err(ChannelError::Protocol {
                            detail: format!(
                                "ack of update {wanted}, which is not the next in flight"
                            ),
                        });
                    }
                }
            }
        }
        self.settle_skipped();
        // The cases are durable: the next getUpdates confirms them to Telegram even if this
        // save fails (a restart then resumes a little early and the sink dedupes).
        self.save().await?;
        debug!(channel = %self.config.name, count = receipts.len(), offset = self.offset, "acked");
        Ok(())
    }
}
