//! `intake`: the gateway's command line.
//!
//! - `intake config check FILE`: validate a config without touching the network (exit 2 on errors)
//! - `intake check --config FILE`: try Redis and every channel, ingest nothing
//! - `intake run --config FILE`: run the gateway until SIGTERM/SIGINT
//! - `intake tail --config FILE`: print stream entries as they land
//! - `intake blob get --config FILE sha256:<hex>`: write a stored blob to stdout
//! - `intake telegram set-webhook|delete-webhook|webhook-info --config FILE --channel NAME`
//! - `intake ingest --config FILE --channel NAME`: one message on stdin through a pipe channel
//!
//! Exit status: 0 done, 1 failed (or a blob not stored), 2 invalid config or arguments; `ingest`
//! answers an MTA: 0 once durable, 75 (EX_TEMPFAIL) for every failure. A fatal error is
//! reported once (see `logging::fatal`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use cli_config::Needs;

mod cli_blob;
mod cli_check;
mod cli_config;
mod cli_ingest;
mod cli_tail;
mod cli_telegram;
mod logging;
mod malloc;

#[derive(Debug, Parser)]
#[command(
    name = "intake",
    version,
    about = "Omnichannel intake gateway: channels -> Redis stream"
)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = logging::Format::Text, env = "INTAKE_LOG_FORMAT")]
    log_format: logging::Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Config file commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Connect to Redis and every channel and report what works, without ingesting.
    Check {
        #[arg(long, short, env = "INTAKE_CONFIG")]
        config: PathBuf,
    },
    /// Run the gateway.
    Run {
        #[arg(long, short, env = "INTAKE_CONFIG")]
        config: PathBuf,
        /// How long a shutdown waits for batches in flight before abandoning them unacked.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        shutdown_deadline: Duration,
    },
    /// Print stream entries (cases and dead letters) as they land, one line each.
    Tail {
        #[arg(long, short, env = "INTAKE_CONFIG")]
        config: PathBuf,
        /// Only entries appended from now on.
        #[arg(long)]
        new: bool,
        /// Stop after this long (e.g. "20s"); follow forever when absent.
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Option<Duration>,
        /// Print each entry whole, as one JSON line: its stream, id and every field, the case
        /// or dead-letter document embedded as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Read one RFC 5322 message on stdin and ingest it through a `type = "pipe"` channel
    /// (for MTA pipe transports). Exit 0 once its case is durable, 75 (EX_TEMPFAIL) otherwise,
    /// so the MTA keeps the message and retries.
    Ingest {
        #[arg(long, short, env = "INTAKE_CONFIG")]
        config: PathBuf,
        /// The pipe channel's `name`.
        #[arg(long)]
        channel: String,
    },
    /// Blob store commands.
    Blob {
        #[command(subcommand)]
        command: BlobCommand,
    },
    /// Telegram bot commands: register, remove or show a channel's webhook.
    Telegram {
        #[command(subcommand)]
        command: TelegramCommand,
        #[arg(long, short, env = "INTAKE_CONFIG", global = true)]
        config: Option<PathBuf>,
        /// The `[[channels]] name` of the telegram channel.
        #[arg(long, global = true)]
        channel: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
enum TelegramCommand {
    /// setWebhook with the channel's webhook_url and secret token (mode = "webhook").
    SetWebhook,
    /// deleteWebhook (pending updates are kept for getUpdates).
    DeleteWebhook,
    /// getWebhookInfo: the URL set, pending updates, the last delivery error.
    WebhookInfo,
}

#[derive(Debug, Subcommand)]
enum BlobCommand {
    /// Write a stored raw message or attachment to stdout, by its reference in a case
    /// (`raw_ref`, an attachment's `ref`). Exit 1 when it is not stored, 2 when the blob
    /// directory does not exist.
    Get {
        #[arg(long, short, env = "INTAKE_CONFIG", required_unless_present = "dir")]
        config: Option<PathBuf>,
        /// The blob directory itself, instead of `[blobs] dir` of a config; wins over --config.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// `sha256:<hex>` or the bare hex digest.
        #[arg(value_parser = cli_blob::parse_reference)]
        reference: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a config file offline and print every error with its key path.
    Check { file: PathBuf },
}

fn main() -> ExitCode {
    malloc::limit_arenas();
    let cli = Cli::parse();
    logging::init(cli.log_format);
    match cli.command {
        Command::Config {
            command: ConfigCommand::Check { file },
        } => cli_config::check_file(&file),
        Command::Check { config } => with_config(&config, Needs::Everything, |config| {
            runtime()?.block_on(cli_check::run(config))
        }),
        Command::Tail {
            config,
            new,
            duration,
            json,
        } => with_config(&config, Needs::Redis, |config| {
            runtime()?.block_on(cli_tail::run(config, new, duration, json))
        }),
        Command::Run {
            config,
            shutdown_deadline,
        } => with_config(&config, Needs::Everything, |config| {
            serving_runtime(config.runtime)?.block_on(run(config, shutdown_deadline))
        }),
        Command::Ingest { config, channel } => cli_ingest::run(&config, &channel),
        Command::Blob {
            command:
                BlobCommand::Get {
                    config,
                    dir,
                    reference,
                },
        } => match (dir, config) {
            (Some(dir), _) => report(cli_blob::get(&dir, &reference)),
            (None, Some(config)) => with_config(&config, Needs::Nothing, |config| {
                cli_blob::get(&config.blobs.dir, &reference)
            }),
            // clap already requires one of the two.
            (None, None) => {
                eprintln!("error: give --config or --dir");
                ExitCode::from(cli_config::EXIT_BAD_CONFIG)
            }
        },
        Command::Telegram {
            command,
            config,
            channel,
        } => {
            let (Some(config), Some(channel)) = (config, channel) else {
                eprintln!("error: give --config FILE and --channel NAME");
                return ExitCode::from(cli_config::EXIT_BAD_CONFIG);
            };
            let command = match command {
                TelegramCommand::SetWebhook => intake_channels::telegram::WebhookCommand::Set,
                TelegramCommand::DeleteWebhook => intake_channels::telegram::WebhookCommand::Delete,
                TelegramCommand::WebhookInfo => intake_channels::telegram::WebhookCommand::Info,
            };
            report(cli_telegram::run(&config, &channel, command))
        }
    }
}

fn with_config(
    path: &std::path::Path,
    needs: Needs,
    f: impl FnOnce(intake_config::Config) -> anyhow::Result<ExitCode>,
) -> ExitCode {
    match cli_config::load(path, needs) {
        Ok(config) => report(f(config)),
        Err(code) => code,
    }
}

/// The exit status of a command, reporting its error (once) if it failed.
fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        logging::fatal(&format!("{e:#}"));
        ExitCode::FAILURE
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The runtime of `intake run`, with `[runtime] worker_threads` (tokio's default, one per core,
/// when unset; tokio's own TOKIO_WORKER_THREADS is not read, so a bad value cannot panic).
fn serving_runtime(
    config: intake_config::RuntimeConfig,
) -> anyhow::Result<tokio::runtime::Runtime> {
    let threads = config
        .worker_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    tracing::info!(worker_threads = threads, "starting the runtime");
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?)
}

async fn run(config: intake_config::Config, deadline: Duration) -> anyhow::Result<ExitCode> {
    let mut gateway = intake_gateway::Gateway::start(config).await?;
    let failure = tokio::select! {
        signal = wait_for_signal() => { signal?; None }
        failure = gateway.worker_failed() => Some(failure),
    };
    if let Some(failure) = failure {
        tracing::error!(error = %failure, "stopping; unacked messages will be redelivered on restart");
        gateway.shutdown(deadline).await;
        return Ok(ExitCode::FAILURE);
    }
    // A second signal during the drain abandons the batch in flight at once.
    let forced = tokio::spawn(async {
        let _ = wait_for_signal().await;
        tracing::warn!("second signal: exiting without waiting for batches in flight");
        std::process::exit(1);
    });
    gateway.shutdown(deadline).await;
    forced.abort();
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("received SIGTERM"),
        _ = int.recv() => tracing::info!("received SIGINT"),
    }
    Ok(())
}
