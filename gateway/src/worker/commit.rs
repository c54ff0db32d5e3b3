//! The commit stage: makes a prepared batch durable in the streams, and reports which messages
//! may be acked. Redis being unavailable back-pressures (nothing is acked, everything is kept);
//! one message Redis keeps refusing is dead-lettered so it never stalls its channel.
//!
//! How a poison entry is told from an outage: after a failed append the stage asks Redis for a
//! PING. No answer, or a failure that says nothing about the entry (OOM, READONLY, LOADING,
//! a key of the wrong type) is an outage: back off and retry the same entries. An answer after
//! an error the entry may cause (a refused command, a connection Redis closed on reading it)
//! narrows the send by halves until the failing entry is sent alone; failing alone
//! `poison_after` times in a row, the same way, it is replaced by a dead letter that keeps its
//! raw reference, and the batch goes on.

use std::time::{Duration, Instant};

use intake_channels::Receipt;
use intake_normalizer::case::ChannelRef;
use intake_normalizer::dead_letter::DEAD_LETTER_EVENT;
use intake_normalizer::{Case, DeadLetter};

use super::Shutdown;
use super::resolve::{Recording, ResolvedBatch};
use crate::backoff::Backoff;
use crate::health::{APPENDS_PART, Health};
use crate::sink::{AppendOutcome, Entry, SinkError, StreamSink, Target};

/// Makes prepared batches durable in the streams.
#[derive(Debug)]
pub struct CommitStage {
    pub sink: StreamSink,
    pub health: Health,
    pub shutdown: Shutdown,
    pub channel: ChannelRef,
    pub poison_after: u32,
}

/// What became of a batch's entries, for the per-batch log line.
#[derive(Debug, Default)]
struct Tally {
    appended: usize,
    duplicates: usize,
    dead_letters: usize,
}

/// Consecutive failures of the entry at one position, sent alone.
#[derive(Debug, Default)]
struct Strikes {
    at: usize,
    count: u32,
    kind: &'static str,
}

impl CommitStage {
    /// Makes every entry of `batch` durable in the streams, retrying while Redis fails, and
    /// waits for `recording` (its conversation records, written meanwhile). Returns the
    /// receipts to ack, in receive order; None when the shutdown deadline abandoned the batch
    /// (nothing is acked: the channel redelivers it).
    pub async fn run(
        &mut self,
        batch: ResolvedBatch,
        recording: Recording,
    ) -> Option<Vec<Receipt>> {
        let ResolvedBatch {
            entries,
            receipts,
            started,
            ..
        } = batch;
        let appended = self.append_all(entries, started).await;
        // Dropped unsent: the step was aborted, so not written.
        let recorded = recording.await.unwrap_or(false);
        if appended && !recorded {
            tracing::warn!(channel = %self.channel.name, unacked = receipts.len(), "shutdown deadline reached before the conversations were recorded; unacked messages will be redelivered");
        }
        (appended && recorded).then_some(receipts)
    }

    /// Appends `entries`, narrowing to and dead-lettering an entry Redis keeps refusing. False
    /// when the shutdown deadline abandoned the batch.
    async fn append_all(&mut self, mut entries: Vec<Entry>, started: Instant) -> bool {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let mut tally = Tally::default();
        let mut strikes = Strikes::default();
        let mut committed = 0;
        let mut window = entries.len();
        loop {
            let start = committed;
            let end = (start + window).min(entries.len());
            // Only the entries not yet committed are sent again; the script dedupes anyway.
            let (now, error) = match self.sink.append(&entries[start..end]).await {
                Ok(results) => self.count(&results, &entries[start..end], &mut tally),
                Err(e) => (0, Some(e)),
            };
            committed += now;
            if committed == entries.len() {
                self.finished(&tally, started);
                return true;
            }
            if now > 0 {
                backoff.reset();
            }
            let Some(error) = error else {
                // The window ended cleanly: widen it again.
                window = window.saturating_mul(2);
                continue;
            };
            if error.may_be_the_entry() && self.sink.ping().await {
                if end - start > 1 || now > 0 {
                    // Narrow down to the failing entry; Redis answers, so no need to wait.
                    window = ((end - committed) / 2).max(1);
                    continue;
                }
                if strikes.strike(committed, &error) >= self.poison_after.max(1) {
                    entries[committed] = self.poisoned(&entries[committed], &error);
                    strikes = Strikes::default();
                    continue;
                }
            } else {
                self.health.down(APPENDS_PART, &error.to_string());
            }
            if !super::sleep(backoff.next_delay(), &self.shutdown.abort).await {
                tracing::warn!(channel = %self.channel.name, unacked = entries.len(), "shutdown deadline reached; unacked messages will be redelivered");
                return false;
            }
        }
    }

    /// The committed prefix of `results` (for `sent`) and the error that ended it, if any.
    fn count(
        &self,
        results: &[Result<AppendOutcome, SinkError>],
        sent: &[Entry],
        tally: &mut Tally,
    ) -> (usize, Option<SinkError>) {
        let mut now = Tally::default();
        let mut error = None;
        for (result, entry) in results.iter().zip(sent) {
            match result {
                Ok(AppendOutcome::Appended(_)) if entry.target == Target::DeadLetters => {
                    now.dead_letters += 1;
                }
                Ok(AppendOutcome::Appended(_)) => now.appended += 1,
                Ok(AppendOutcome::Duplicate(_)) => now.duplicates += 1,
                Err(e) => {
                    error = Some(e.clone());
                    break;
                }
            }
        }
        // Counted once per outcome and batch, not per entry: a labelled counter lookup per
        // entry showed in the push bench's profile.
        let appended = (now.appended + now.dead_letters) as u64;
        for (outcome, n) in [("appended", appended), ("duplicate", now.duplicates as u64)] {
            if n > 0 {
                metrics::counter!("intake_appends_total", "channel" => self.channel.name.clone(), "outcome" => outcome).increment(n);
            }
        }
        let committed = now.appended + now.dead_letters + now.duplicates;
        if committed > 0 {
            self.health.up(APPENDS_PART);
        }
        tally.appended += now.appended;
        tally.duplicates += now.duplicates;
        tally.dead_letters += now.dead_letters;
        (committed, error)
    }

    fn finished(&self, tally: &Tally, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        metrics::histogram!("intake_batch_seconds", "channel" => self.channel.name.clone())
            .record(seconds);
        tracing::info!(
            channel = %self.channel.name,
            appended = tally.appended,
            duplicates = tally.duplicates,
            dead_letters = tally.dead_letters,
            seconds,
            "batch committed"
        );
    }

    /// The dead letter that replaces `entry` once Redis has refused it `poison_after` times.
    /// Same idempotency keys, so a redelivery finds it; the raw reference of the case is kept.
    fn poisoned(&self, entry: &Entry, error: &SinkError) -> Entry {
        tracing::warn!(channel = %self.channel.name, case_id = %entry.case_id, error = %error, "redis keeps refusing this message; dead-lettered");
        metrics::counter!("intake_dead_letters_total", "channel" => self.channel.name.clone(), "reason" => "append_failed").increment(1);
        // Parsed back only on this rare path, so the common one serializes each case once.
        let case = serde_json::from_str::<Case>(&entry.document).ok();
        let letter = DeadLetter {
            schema_version: intake_normalizer::SCHEMA_VERSION,
            event: DEAD_LETTER_EVENT.to_string(),
            case_id: entry.case_id.clone(),
            idempotency_key: entry.idempotency_keys.first().cloned().unwrap_or_default(),
            channel: self.channel.clone(),
            source: case.as_ref().map(|c| c.source.clone()).unwrap_or_default(),
            reason: "append_failed".to_string(),
            error: format!("{} failed appends in a row: {error}", self.poison_after),
            headers: Default::default(),
            size: Some(entry.document.len() as u64),
            raw_ref: case.as_ref().and_then(|c| c.raw_ref.clone()),
            received_at: case.map(|c| c.received_at).unwrap_or_default(),
        };
        Entry {
            target: Target::DeadLetters,
            event: DEAD_LETTER_EVENT,
            document: serde_json::to_string(&letter)
                .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string()),
            ..entry.clone()
        }
    }
}

impl Strikes {
    /// Counts a failure of the entry at `at`; a different position or a different way of
    /// failing starts over. Returns the count.
    fn strike(&mut self, at: usize, error: &SinkError) -> u32 {
        let kind = match error {
            SinkError::Dropped { .. } => "dropped",
            SinkError::Rejected { .. } => "rejected",
            SinkError::Unavailable { .. } => "unavailable",
            SinkError::Misconfigured { .. } => "misconfigured",
            SinkError::SetupRefused { .. } => "setup_refused",
        };
        if self.count == 0 || self.at != at || self.kind != kind {
            *self = Strikes { at, count: 0, kind };
        }
        self.count += 1;
        self.count
    }
}
