//! The live feed: serenity's gateway client (HELLO, IDENTIFY, heartbeats, RESUME with replay)
//! with a raw event handler that forwards message events, READYs and the client's end.
//!
//! serenity hands each raw event to its own spawned task; on the client's own current-thread
//! runtime those run in spawn order, so events reach the queue in the order they were sent.
//! The source still re-sorts what arrives close together and treats anything out of order as
//! a loss (reconnect and backfill) that it logs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serenity::all::{
    ClientBuilder, Context, Event, GatewayError, GatewayIntents, HttpBuilder, RawEventHandler,
    ShardManager,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info};

use crate::ChannelError;

/// Events queued beyond this mean we fell behind: reported as a loss, then backfilled.
const QUEUE: usize = 10_000;

/// What the feed saw.
#[derive(Debug)]
pub(super) enum FeedEvent {
    /// A message created (`edit: false`) or edited: its JSON, and where it was posted.
    Message {
        json: Vec<u8>,
        id: u64,
        channel: u64,
        guild: Option<u64>,
        author: u64,
        bot: bool,
        /// For an edit: its time in milliseconds since the Unix epoch.
        edited_ms: Option<i64>,
    },
    /// A new session (the first, or after an invalid session): the bot's user id.
    Ready { user: u64 },
    /// The client stopped: the token or intents were refused, or it ended otherwise.
    Ended(Result<(), ChannelError>),
    /// The queue overflowed: events were dropped.
    Overflowed,
}

/// A running gateway client.
pub(super) struct Feed {
    events: mpsc::Receiver<FeedEvent>,
    overflowed: Arc<AtomicBool>,
    manager: Arc<ShardManager>,
}

impl Feed {
    /// The next event; [`FeedEvent::Overflowed`] once the queue is drained after an overflow.
    /// Cancel-safe. None when the client is gone.
    pub(super) async fn recv(&mut self) -> Option<FeedEvent> {
        if self.overflowed.load(Ordering::Relaxed) && self.events.is_empty() {
            return Some(FeedEvent::Overflowed);
        }
        self.events.recv().await
    }
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed").finish_non_exhaustive()
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        let manager = self.manager.clone();
        // Closes the websocket; the client's task then ends.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { manager.shutdown_all().await });
        }
    }
}

struct Forward {
    tx: mpsc::Sender<FeedEvent>,
    overflowed: Arc<AtomicBool>,
}

impl Forward {
    fn send(&self, event: FeedEvent) {
        if self.overflowed.load(Ordering::Relaxed) {
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(event) {
            self.overflowed.store(true, Ordering::Relaxed);
        }
    }
}

#[serenity::async_trait]
impl RawEventHandler for Forward {
    async fn raw_event(&self, _ctx: Context, event: Event) {
        let forwarded = match event {
            Event::Ready(ready) => Some(FeedEvent::Ready {
                user: ready.ready.user.id.get(),
            }),
            Event::MessageCreate(created) => {
                let m = created.message;
                serde_json::to_vec(&m).ok().map(|json| FeedEvent::Message {
                    json,
                    id: m.id.get(),
                    channel: m.channel_id.get(),
                    guild: m.guild_id.map(|g| g.get()),
                    author: m.author.id.get(),
                    bot: m.author.bot || m.author.system,
                    edited_ms: None,
                })
            }
            Event::MessageUpdate(update) => edit(&update),
            _ => None,
        };
        if let Some(event) = forwarded {
            self.send(event);
        }
    }
}

/// An edit with its author and time (Discord sends the whole message); others (an embed
/// resolved later) are not edits by a person and are skipped.
fn edit(update: &serenity::all::MessageUpdateEvent) -> Option<FeedEvent> {
    let author = update.author.as_ref()?;
    let edited = update.edited_timestamp?;
    let value = serde_json::to_value(update).ok()?;
    // Absent fields come out as null; the message object has them absent.
    let value = match value {
        serde_json::Value::Object(map) => {
            serde_json::Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    };
    Some(FeedEvent::Message {
        json: serde_json::to_vec(&value).ok()?,
        id: update.id.get(),
        channel: update.channel_id.get(),
        guild: update.guild_id.map(|g| g.get()),
        author: author.id.get(),
        bot: author.bot || author.system,
        edited_ms: Some(edited.unix_timestamp() * 1000),
    })
}

/// Starts the client: gateway URL from `GET /gateway` (or `gateway_url`), IDENTIFY with the
/// intents the channel needs. Returns once the client is built; the READY (or the refusal)
/// arrives as an event.
///
/// The client runs on its own thread with a current-thread runtime: serenity spawns one task
/// per raw event, and a current-thread runtime runs tasks in spawn order (the multi-thread
/// one runs the newest first and lets others steal), so events reach the queue in the order
/// the gateway sent them.
pub(super) async fn start(
    token: &str,
    api_url: Option<&str>,
    gateway_url: Option<&str>,
) -> Result<Feed, ChannelError> {
    let endpoint = gateway_url
        .or(api_url)
        .unwrap_or("discord gateway")
        .to_string();
    let mut http = HttpBuilder::new(token);
    if let Some(api) = api_url {
        // serenity's own rate limiter ignores a proxy base; our REST calls keep the limits.
        http = http.proxy(api).ratelimiter_disabled(true);
    }
    let (tx, events) = mpsc::channel(QUEUE);
    let overflowed = Arc::new(AtomicBool::new(false));
    let forward = Forward {
        tx: tx.clone(),
        overflowed: overflowed.clone(),
    };
    let (built_tx, built) = oneshot::channel();
    let gateway_url = gateway_url.map(str::to_string);
    let failed = |detail: String| ChannelError::Connect {
        endpoint: endpoint.clone(),
        detail,
    };
    let thread_endpoint = endpoint.clone();
    std::thread::Builder::new()
        .name("discord-gateway".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(_) => {
                    let _ = built_tx.send(Err("no runtime for the gateway client".to_string()));
                    return;
                }
            };
            runtime.block_on(run(
                http,
                forward,
                gateway_url,
                built_tx,
                tx,
                thread_endpoint,
            ));
        })
        .map_err(|_| failed("cannot start the gateway thread".into()))?;
    let manager = match built.await {
        Ok(Ok(manager)) => manager,
        Ok(Err(detail)) => return Err(failed(detail)),
        Err(_) => return Err(failed("the gateway thread ended".into())),
    };
    Ok(Feed {
        events,
        overflowed,
        manager,
    })
}

/// The gateway thread: builds the client, hands back its shard manager, runs it, and reports
/// how it ended.
async fn run(
    http: HttpBuilder,
    forward: Forward,
    gateway_url: Option<String>,
    built: oneshot::Sender<Result<Arc<ShardManager>, String>>,
    tx: mpsc::Sender<FeedEvent>,
    endpoint: String,
) {
    let intents = GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT;
    let mut client = match ClientBuilder::new_with_http(http.build(), intents)
        .raw_event_handler(forward)
        .await
    {
        Ok(client) => client,
        Err(e) => {
            let _ = built.send(Err(format!("gateway client: {}", kind_of(&e))));
            return;
        }
    };
    if let Some(url) = gateway_url {
        *client.ws_url.lock().await = url;
    }
    if built.send(Ok(client.shard_manager.clone())).is_err() {
        return;
    }
    let result = match client.start().await {
        Ok(()) => Ok(()),
        Err(serenity::Error::Gateway(e)) => Err(refusal(&e, &endpoint)),
        Err(e) => Err(ChannelError::Connect {
            endpoint: endpoint.clone(),
            detail: format!("gateway client stopped: {}", kind_of(&e)),
        }),
    };
    info!(ok = result.is_ok(), "discord gateway client ended");
    // Sent even when full: the end must not be lost behind an overflow.
    if tx.send(FeedEvent::Ended(result)).await.is_err() {
        debug!("discord feed dropped before its client ended");
    }
}

/// A gateway close that only an operator can fix becomes [`ChannelError::Refused`] (the
/// gateway then stops instead of reconnecting forever); others stay transient.
fn refusal(e: &GatewayError, endpoint: &str) -> ChannelError {
    let refused = |detail: &str| ChannelError::Refused {
        endpoint: endpoint.to_string(),
        detail: detail.to_string(),
    };
    match e {
        GatewayError::InvalidAuthentication => {
            refused("the bot token was rejected (close code 4004)")
        }
        GatewayError::DisallowedGatewayIntents => refused(
            "a privileged intent is not enabled for this bot (close code 4014): enable MESSAGE CONTENT in the developer portal",
        ),
        GatewayError::InvalidGatewayIntents => {
            refused("the intents were refused (close code 4013)")
        }
        other => ChannelError::Connect {
            endpoint: endpoint.to_string(),
            detail: format!("gateway: {}", gateway_kind(other)),
        },
    }
}

/// A short name of a serenity error, without any text a server sent.
fn kind_of(e: &serenity::Error) -> &'static str {
    match e {
        serenity::Error::Gateway(_) => "gateway error",
        serenity::Error::Http(_) => "http error",
        serenity::Error::Tungstenite(_) => "websocket error",
        serenity::Error::Json(_) => "malformed json",
        _ => "client error",
    }
}

fn gateway_kind(e: &GatewayError) -> &'static str {
    match e {
        GatewayError::Closed(_) => "connection closed",
        GatewayError::NoAuthentication => "not authenticated",
        GatewayError::OverloadedShard => "sharding required",
        GatewayError::InvalidShardData => "invalid shard data",
        _ => "gateway error",
    }
}
