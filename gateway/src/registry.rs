//! The channel registry: the one place that maps a `[[channels]]` entry to its kind's builder
//! (and to its connection check, for `intake check`). Adding a kind adds a line to each match
//! here; everything after `build` (worker, sink, blob store, conversations, HTTP routes) is the
//! same for every kind.

use intake_channels::{BuildContext, Built, Channel, ChannelError};
use intake_config::{ChannelConfig, RedisConfig};
use tokio::task::JoinSet;

use crate::blobs::BlobStore;
use crate::checkpoint::RedisCheckpoints;
use crate::conversation::ConversationStore;
use crate::health::Health;
use crate::sink::StreamSink;
use crate::worker::{ChannelWorker, PrepareContext, Shutdown, channel_ref, spawn_on_own_thread};

/// Builds the channel of `config` and hands it to `launcher`.
pub fn launch(
    config: ChannelConfig,
    ctx: &BuildContext<RedisCheckpoints>,
    launcher: &mut Launcher,
) {
    match config {
        ChannelConfig::Email(c) => launcher.launch(intake_channels::email::build(c, ctx)),
        ChannelConfig::Api(c) => launcher.launch(intake_channels::api::build(c, ctx)),
        ChannelConfig::Slack(c) => launcher.launch(intake_channels::slack::build(c, ctx)),
        ChannelConfig::Telegram(c) => launcher.launch(intake_channels::telegram::build(c, ctx)),
        ChannelConfig::Whatsapp(c) => launcher.launch(intake_channels::whatsapp::build(c, ctx)),
        ChannelConfig::Sms(c) => launcher.launch(intake_channels::sms::build(c, ctx)),
        // Fed by `intake ingest` (one message per process), never by `run`.
        ChannelConfig::Pipe(c) => {
            tracing::debug!(channel = %c.name, "pipe channel: served by intake ingest");
        }
        ChannelConfig::Discord(c) => match intake_channels::discord::build(c, ctx) {
            Ok(built) => launcher.launch(built),
            Err(e) => launcher
                .shutdown
                .fatal
                .raise(&format!("cannot start channel: {e}")),
        },
    }
}

/// What `intake check` says of the channel of `config`: what its connection test found, or,
/// for a channel nothing connects to, how it is fed.
pub async fn check(config: &ChannelConfig) -> Result<String, ChannelError> {
    match config {
        ChannelConfig::Email(c) => Ok(intake_channels::email::check(c).await?.to_string()),
        ChannelConfig::Telegram(c) => Ok(intake_channels::telegram::check(c).await?.to_string()),
        ChannelConfig::Discord(c) => intake_channels::discord::check(c).await,
        // Push channels connect to nothing: the provider calls us.
        ChannelConfig::Api(_)
        | ChannelConfig::Slack(_)
        | ChannelConfig::Whatsapp(_)
        | ChannelConfig::Sms(_) => Ok(format!(
            "push channel, served at POST /webhooks/{}",
            config.name()
        )),
        ChannelConfig::Pipe(_) => Ok("fed by intake ingest".to_string()),
    }
}

/// Starts one worker per built channel, each on a thread and a Redis connection of its own
/// (`worker/thread.rs`), and collects the channels' HTTP routes.
#[derive(Debug)]
pub struct Launcher {
    /// Each worker connects with it.
    pub redis: RedisConfig,
    pub sink: StreamSink,
    pub conversations: ConversationStore,
    pub blobs: BlobStore,
    pub health: Health,
    pub shutdown: Shutdown,
    pub workers: JoinSet<()>,
    /// `(channel name, routes)` to mount at `/webhooks/<channel name>`.
    pub routes: Vec<(String, axum::Router)>,
}

impl Launcher {
    /// Spawns the worker that drives `built.channel`. A worker that cannot start (the OS
    /// refused a thread) raises the fatal signal: the process stops rather than run without it.
    pub fn launch<C: Channel>(&mut self, built: Built<C>) {
        let name = built.channel.name().to_string();
        let prepare = PrepareContext {
            channel: channel_ref(built.channel.kind(), &name),
            blobs: self.blobs.clone(),
            normalizer: built.normalizer,
        };
        if let Some(routes) = built.routes {
            self.routes.push((name.clone(), routes));
        }
        // Connected lazily, from the worker's thread: its replies are read there.
        let conn = match crate::redis_conn::connect(&self.redis) {
            Ok(conn) => conn,
            Err(e) => return self.cannot_start(&name, &e.to_string()),
        };
        let worker = ChannelWorker::new(
            built.channel,
            self.sink.with_connection(conn.clone()),
            self.conversations.with_connection(conn),
            prepare,
            self.health.clone(),
            self.shutdown.clone(),
            built.batch_max,
        )
        .with_poison_after(built.poison_after);
        if let Err(e) = spawn_on_own_thread(&mut self.workers, &name, worker.run()) {
            self.cannot_start(&name, &e.to_string());
        }
    }

    fn cannot_start(&self, channel: &str, detail: &str) {
        self.shutdown.fatal.raise(&format!(
            "cannot start the worker of channel {channel}: {detail}"
        ));
    }
}
