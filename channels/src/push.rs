//! The push delivery model (webhooks, the MTA pipe): the provider hands us a message and waits
//! for our answer, so the answer is the ack.
//!
//! A handler calls [`PushSender::deliver`]; the message goes into a bounded queue that the
//! [`PushChannel`] hands to the worker like any other channel's batch; the worker's `ack` (after
//! the entry is durable) completes the handler's wait, which then answers 2xx (or exits 0).
//! Nothing waits unboundedly: while ingest is down or the queue is full the handler is refused
//! at once, and a wait longer than `answer_within` is refused too (the provider retries; the
//! idempotency key makes the retry find the entry if it did land).

use std::collections::VecDeque;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use intake_normalizer::case::ChannelKind;
use tokio::sync::{mpsc, oneshot};

use crate::{Channel, ChannelError, Inbound, IngestState, Receipt};

/// Sizing of one push channel.
#[derive(Debug, Clone, Copy)]
pub struct PushLimits {
    /// Messages accepted but not yet durable; beyond this, deliveries are refused (503).
    pub queue: usize,
    /// The longest a delivery waits for its entry to be durable before it is refused (503).
    pub answer_within: Duration,
}

impl Default for PushLimits {
    fn default() -> Self {
        PushLimits {
            queue: 1024,
            answer_within: Duration::from_secs(10),
        }
    }
}

/// Why a delivery was not acknowledged. Every variant asks the sender to retry later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushRefused {
    #[error("ingest is unavailable (redis or the blob store is down)")]
    Unavailable,
    #[error("too many messages in flight")]
    Busy,
    #[error("the message was not durable in time")]
    TimedOut,
    #[error("the channel is shutting down")]
    ShuttingDown,
}

impl PushRefused {
    /// Every refusal is temporary: the same delivery may succeed later.
    pub fn is_transient(&self) -> bool {
        true
    }

    /// Seconds the sender should wait before retrying (`Retry-After`).
    pub fn retry_after_secs(&self) -> u32 {
        match self {
            PushRefused::Busy => 1,
            PushRefused::Unavailable | PushRefused::TimedOut | PushRefused::ShuttingDown => 5,
        }
    }

    /// Short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            PushRefused::Unavailable => "unavailable",
            PushRefused::Busy => "busy",
            PushRefused::TimedOut => "timed_out",
            PushRefused::ShuttingDown => "shutting_down",
        }
    }
}

impl IntoResponse for PushRefused {
    /// 503 with `Retry-After` and a one-line reason; no internals.
    fn into_response(self) -> Response {
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{self}; retry later\n"),
        )
            .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(self.retry_after_secs()),
        );
        response
    }
}

/// A message waiting for the worker, with the handler waiting on it.
#[derive(Debug)]
struct Pending {
    inbound: Inbound,
    durable: oneshot::Sender<()>,
}

/// The handlers' side of a push channel. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PushSender {
    queue: mpsc::Sender<Pending>,
    ingest: IngestState,
    answer_within: Duration,
}

impl PushSender {
    /// Queues `inbound` (its receipt is assigned by the channel) and waits until its entry is
    /// durable. Ok means acknowledged: answer 2xx.
    pub async fn deliver(&self, inbound: Inbound) -> Result<(), PushRefused> {
        if !self.ingest.is_up() {
            return Err(PushRefused::Unavailable);
        }
        let (durable, done) = oneshot::channel();
        self.queue
            .try_send(Pending { inbound, durable })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => PushRefused::Busy,
                mpsc::error::TrySendError::Closed(_) => PushRefused::ShuttingDown,
            })?;
        match tokio::time::timeout(self.answer_within, done).await {
            Ok(Ok(())) => Ok(()),
            // The worker dropped it unacked (shutdown deadline): it was not acknowledged.
            Ok(Err(_)) => Err(PushRefused::ShuttingDown),
            Err(_) => Err(PushRefused::TimedOut),
        }
    }
}

/// The worker's side of a push channel.
#[derive(Debug)]
pub struct PushChannel {
    kind: ChannelKind,
    name: String,
    queue: mpsc::Receiver<Pending>,
    /// Handed out and not acked yet, in receive order.
    inflight: VecDeque<(Receipt, oneshot::Sender<()>)>,
    next_receipt: u64,
    /// Always `Connected`: a push channel is ready as soon as its route is served, not only
    /// after its first message (else /readyz would keep a fresh replica out of rotation, and
    /// so without traffic forever).
    status: tokio::sync::watch::Sender<crate::ChannelStatus>,
}

/// A push channel and the sender its handlers use.
pub fn push_channel(
    kind: ChannelKind,
    name: &str,
    ingest: IngestState,
    limits: PushLimits,
) -> (PushChannel, PushSender) {
    let (tx, rx) = mpsc::channel(limits.queue.max(1));
    let channel = PushChannel {
        kind,
        name: name.to_string(),
        queue: rx,
        inflight: VecDeque::new(),
        next_receipt: 0,
        status: tokio::sync::watch::Sender::new(crate::ChannelStatus::Connected),
    };
    let sender = PushSender {
        queue: tx,
        ingest,
        answer_within: limits.answer_within,
    };
    (channel, sender)
}

impl PushChannel {
    fn hand_out(&mut self, pending: Pending, batch: &mut Vec<Inbound>) {
        // A handler that gave up (timed out) still gets its message appended: its retry then
        // finds the entry by idempotency key.
        self.next_receipt += 1;
        let receipt = Receipt(self.next_receipt);
        let Pending {
            mut inbound,
            durable,
        } = pending;
        inbound.receipt = receipt;
        self.inflight.push_back((receipt, durable));
        batch.push(inbound);
    }

    fn take_ready(&mut self, max: usize, batch: &mut Vec<Inbound>) {
        while batch.len() < max {
            match self.queue.try_recv() {
                Ok(pending) => self.hand_out(pending, batch),
                Err(_) => break,
            }
        }
    }
}

impl Channel for PushChannel {
    fn kind(&self) -> ChannelKind {
        self.kind
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn receive(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        let Some(first) = self.queue.recv().await else {
            return Err(ChannelError::Shutdown);
        };
        let mut batch = Vec::new();
        self.hand_out(first, &mut batch);
        self.take_ready(max, &mut batch);
        Ok(batch)
    }

    fn status(&self) -> Option<tokio::sync::watch::Receiver<crate::ChannelStatus>> {
        Some(self.status.subscribe())
    }

    async fn receive_ready(&mut self, max: usize) -> Result<Vec<Inbound>, ChannelError> {
        Ok(self.take_buffered(max))
    }

    fn take_buffered(&mut self, max: usize) -> Vec<Inbound> {
        let mut batch = Vec::new();
        self.take_ready(max, &mut batch);
        batch
    }

    async fn ack(&mut self, receipts: Vec<Receipt>) -> Result<(), ChannelError> {
        for receipt in receipts {
            // Receipts come in receive order, a prefix of what is in flight.
            while let Some((held, durable)) = self.inflight.pop_front() {
                if held == receipt {
                    // The handler may have given up waiting; the entry is durable anyway.
                    let _ = durable.send(());
                    break;
                }
                // Not acked (never happens with a prefix): dropping it refuses that delivery.
            }
        }
        Ok(())
    }
}
