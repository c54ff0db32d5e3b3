//! Scenarios: one input (a channel and a load) that Intake and a peer each process in turn.
//!
//! Adding a channel means adding a variant here and a module beside `email/`: a pull channel
//! loads its source (a mailbox) and times Intake against it; a push channel (webhooks) would
//! start Intake and `../shared/peers/python_webhook_to_redis.py` in turn and drive both with
//! the same HTTP load generator. Everything downstream (table, medians, ratios) is shared.

use crate::email::EmailScenario;
use crate::env::Env;
use crate::telegram::TelegramScenario;

/// Who processed the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Intake,
    Peer,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Intake => "intake",
            Side::Peer => "peer",
        }
    }
}

/// One measured run.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub scenario: String,
    pub run: usize,
    pub side: Side,
    pub msgs: u64,
    pub bytes: u64,
    /// Wall time from spawn until all messages are in Redis.
    pub secs: f64,
    pub cpu_secs: f64,
    pub max_rss_kib: u64,
    /// Spawn until the first entry is in Redis (Intake only).
    pub first_entry_ms: Option<f64>,
}

impl RunResult {
    pub fn msgs_per_sec(&self) -> f64 {
        self.msgs as f64 / self.secs
    }

    pub fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.secs
    }

    pub fn rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }
}

/// A channel-specific input with its Intake run and its peer run.
#[derive(Debug)]
pub enum Scenario {
    Email(EmailScenario),
    /// Updates queued in the fake Bot API.
    Telegram(TelegramScenario),
}

impl Scenario {
    /// Short label, e.g. `email/full`.
    pub fn label(&self) -> String {
        match self {
            Scenario::Email(s) => format!("email/{}", s.mailbox()),
            Scenario::Telegram(s) => s.label(),
        }
    }

    /// Loads the input (e.g. delivers the mailbox); called once before the runs.
    pub async fn prepare(&mut self, env: &Env) -> anyhow::Result<()> {
        match self {
            Scenario::Email(s) => s.prepare(env).await,
            // Each run starts its own fake with the updates queued.
            Scenario::Telegram(_) => Ok(()),
        }
    }

    /// One run of `side` over the whole input from a clean state; fails when the output is
    /// incomplete (missing or duplicate entries), never on timing.
    pub async fn run(&self, env: &Env, side: Side, run: usize) -> anyhow::Result<RunResult> {
        match self {
            Scenario::Email(s) => match side {
                Side::Intake => s.run_intake(env, run).await,
                Side::Peer => s.run_peer(env, run).await,
            },
            Scenario::Telegram(s) => match side {
                Side::Intake => s.run_intake(env, run).await,
                Side::Peer => s.run_peer(env, run).await,
            },
        }
    }
}
