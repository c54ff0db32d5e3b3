//! Command-line options of the `bench` binary, and the defaults each mode implies.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Intake against its peers and the limits, on loopback Redis and Dovecot started here.
#[derive(Debug, Parser)]
#[command(name = "bench", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub options: Options,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Internal: runs PROGRAM as this process's only child and reports its pid, then its exit
    /// status and rusage (CPU, peak RSS), each as one line on stdout.
    #[command(hide = true)]
    ExecMeasured {
        /// Where the child's stdout goes.
        #[arg(long)]
        stdout: PathBuf,
        /// Where the child's stderr goes.
        #[arg(long)]
        stderr: PathBuf,
        #[arg(required = true, trailing_var_arg = true)]
        program: Vec<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct Options {
    /// CI mode: 1,000 messages, 1 run, no limits; checks completeness only.
    #[arg(long)]
    pub short: bool,
    /// Messages per mailbox (default 10,000; 1,000 with --short).
    #[arg(long)]
    pub messages: Option<usize>,
    /// Runs per mailbox and side (default 3; 1 with --short).
    #[arg(long)]
    pub runs: Option<usize>,
    /// Seed of the corpus draw.
    #[arg(long, default_value_t = 4)]
    pub seed: u64,
    /// Intake's `batch_size` and the peer's `--batch`.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Mailbox sizes for the peak-RSS comparison (full mix, one Intake run each), e.g.
    /// `10000,50000`; sizes other than --messages load an extra mailbox.
    #[arg(long, value_delimiter = ',')]
    pub sizes: Vec<usize>,
    /// Skip the Python peer (Intake only).
    #[arg(long)]
    pub no_peer: bool,
    /// Skip the limits (raw fetch, normalizer alone, sink alone).
    #[arg(long)]
    pub no_limits: bool,
    /// Only the stream append path alone (starts redis-server only, no Dovecot, no email
    /// runs): `--runs` times per batch size (--batch and 2,000), plus Redis without the script.
    #[arg(long, conflicts_with_all = ["short", "no_limits", "sizes"])]
    pub sink_only: bool,
    /// Only the push scenario (starts redis-server only): Intake's api channel and the Python
    /// webhook peer under the same HTTP load, then the stream append alone.
    #[arg(long, conflicts_with_all = ["sink_only", "sizes"])]
    pub push: bool,
    /// Requests per push run (default 20,000; 2,000 with --short).
    #[arg(long)]
    pub requests: Option<usize>,
    /// Concurrent keep-alive connections of the push load generator.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// The push peer (default ../shared/peers/python_webhook_to_redis.py beside the workspace).
    #[arg(long)]
    pub webhook_peer_script: Option<PathBuf>,
    /// The `intake` binary (default: next to this binary, i.e. target/release/intake).
    #[arg(long)]
    pub intake: Option<PathBuf>,
    /// The email corpus (default ../shared/corpus/email beside the workspace).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// The peer script (default ../shared/peers/python_imap_to_redis.py beside the workspace).
    #[arg(long)]
    pub peer_script: Option<PathBuf>,
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Messages for the stream-append-alone measurement.
    #[arg(long, default_value_t = 100_000)]
    pub sink_cases: usize,
    /// Only the scenarios whose label starts with this, e.g. `telegram` or `email/full`.
    #[arg(long)]
    pub only: Option<String>,
}

/// The options with every default resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub short: bool,
    pub messages: usize,
    pub runs: usize,
    pub seed: u64,
    pub batch: usize,
    pub sizes: Vec<usize>,
    pub peer: bool,
    pub limits: bool,
    pub sink_only: bool,
    pub push: bool,
    pub requests: usize,
    pub connections: usize,
    pub webhook_peer_script: PathBuf,
    pub intake: PathBuf,
    pub corpus: PathBuf,
    pub peer_script: PathBuf,
    pub python: String,
    pub sink_cases: usize,
    pub only: Option<String>,
}

impl Options {
    pub fn resolve(self) -> anyhow::Result<Settings> {
        let intake = match self.intake {
            Some(path) => path,
            None => std::env::current_exe()?
                .parent()
                .map(|dir| dir.join("intake"))
                .ok_or_else(|| anyhow::anyhow!("bench binary has no parent dir"))?,
        };
        // The sink alone runs in this process: no intake binary needed.
        anyhow::ensure!(
            self.sink_only || intake.is_file(),
            "no intake binary at {} (cargo build --release -p intake-gateway --bin intake)",
            intake.display()
        );
        let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
        let messages = self
            .messages
            .unwrap_or(if self.short { 1_000 } else { 10_000 });
        anyhow::ensure!(messages > 0, "--messages must be positive");
        Ok(Settings {
            short: self.short,
            messages,
            runs: self.runs.unwrap_or(if self.short { 1 } else { 3 }).max(1),
            seed: self.seed,
            batch: self.batch.max(1),
            sizes: self.sizes,
            peer: !self.no_peer,
            limits: !self.no_limits && !self.short,
            sink_only: self.sink_only,
            push: self.push,
            requests: self
                .requests
                .unwrap_or(if self.short { 2_000 } else { 20_000 })
                .max(1),
            connections: self.connections.max(1),
            webhook_peer_script: self
                .webhook_peer_script
                .unwrap_or_else(|| shared.join("peers/python_webhook_to_redis.py")),
            intake,
            corpus: self.corpus.unwrap_or_else(intake_tests::corpus_dir),
            peer_script: self
                .peer_script
                .unwrap_or_else(|| shared.join("peers/python_imap_to_redis.py")),
            python: self.python,
            sink_cases: self.sink_cases,
            only: self.only,
        })
    }
}
