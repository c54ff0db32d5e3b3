//! A fake Discord on loopback (port 0) that serenity's real client talks to: REST
//! ([`rest`]: `/gateway`, `/gateway/bot`, `/users/@me`, channels, history with `after`
//! pagination, attachment downloads, 429 with `retry_after`) and a WebSocket gateway
//! ([`gateway`]: HELLO, IDENTIFY checking token and intents (close 4004 / 4014), READY,
//! HEARTBEAT -> ACK, sequence numbers with a replay buffer for RESUME / RESUMED, op 7, op 9).
//!
//! Messages are shaped like the Discord API documentation's example message. Tests post them
//! and inject faults: drop the connection (events are buffered for RESUME), ask for a
//! reconnect (op 7), invalidate the session (op 9; events until the next READY are lost, as on
//! Discord), refuse intents, answer history with 429s.

mod gateway;
mod rest;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The bot's own user id.
pub const BOT_ID: u64 = 900_000_000_000_000_001;
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// A message author.
#[derive(Debug, Clone)]
pub struct Author {
    pub id: u64,
    pub username: String,
    pub global_name: Option<String>,
    pub bot: bool,
}

impl Author {
    pub fn person(id: u64, username: &str) -> Author {
        Author {
            id,
            username: username.to_string(),
            global_name: Some(format!("{username} (display)")),
            bot: false,
        }
    }
}

/// What a test attaches to a message: a name and the bytes served for it.
#[derive(Debug, Clone)]
pub struct FileSpec {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A frame for the current gateway connection.
#[derive(Debug)]
pub(crate) enum Out {
    Text(String),
    Close(u16),
    /// Drop the TCP connection without a close frame.
    Drop,
}

#[derive(Debug, Default)]
struct Chan {
    kind: u8,
    guild: Option<u64>,
    parent: Option<u64>,
    messages: BTreeMap<u64, Value>,
}

#[derive(Debug)]
struct Session {
    id: String,
    seq: u64,
    /// Every dispatch of the session, for RESUME replay.
    buffer: Vec<(u64, String)>,
    valid: bool,
}

#[derive(Debug, Default)]
struct State {
    token: String,
    refuse_intents: bool,
    last_id: u64,
    channels: BTreeMap<u64, Chan>,
    hidden: HashSet<u64>,
    files: HashMap<u64, (String, Vec<u8>)>,
    session: Option<Session>,
    /// The connection that receives dispatches: (its number, its sender).
    conn: Option<(u64, mpsc::UnboundedSender<Out>)>,
    conn_counter: u64,
    identifies: usize,
    resumes: usize,
    history_calls: usize,
    rate_limit_next: usize,
    rate_limited: usize,
    base_url: String,
}

/// The running fake. Clones share it.
#[derive(Debug, Clone)]
pub struct FakeDiscord {
    state: Arc<Mutex<State>>,
    pub api_url: String,
    pub gateway_url: String,
    tasks: Arc<Vec<JoinHandle<()>>>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        if Arc::strong_count(&self.tasks) == 1 {
            for task in self.tasks.iter() {
                task.abort();
            }
        }
    }
}

impl FakeDiscord {
    /// Starts REST and gateway on free loopback ports; the bot's token is `token`.
    pub async fn start(token: &str) -> anyhow::Result<FakeDiscord> {
        let state = Arc::new(Mutex::new(State {
            token: token.to_string(),
            ..State::default()
        }));
        let rest_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let ws_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let api_url = format!("http://{}", rest_listener.local_addr()?);
        let gateway_url = format!("ws://{}", ws_listener.local_addr()?);
        {
            let mut s = lock(&state);
            s.base_url = api_url.clone();
        }
        let rest_task = tokio::spawn(rest::serve(
            rest_listener,
            state.clone(),
            gateway_url.clone(),
        ));
        let ws_task = tokio::spawn(gateway::serve(ws_listener, state.clone()));
        Ok(FakeDiscord {
            state,
            api_url,
            gateway_url,
            tasks: Arc::new(vec![rest_task, ws_task]),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// A guild text channel (type 0).
    pub fn add_channel(&self, id: u64, guild: u64) {
        self.lock().channels.insert(
            id,
            Chan {
                kind: 0,
                guild: Some(guild),
                ..Chan::default()
            },
        );
    }

    /// A public thread (type 11) of `parent`.
    pub fn add_thread(&self, id: u64, guild: u64, parent: u64) {
        let chan = Chan {
            kind: 11,
            guild: Some(guild),
            parent: Some(parent),
            ..Chan::default()
        };
        self.lock().channels.insert(id, chan);
    }

    /// A DM channel (type 1).
    pub fn add_dm(&self, id: u64) {
        self.lock().channels.insert(
            id,
            Chan {
                kind: 1,
                ..Chan::default()
            },
        );
    }

    /// Makes `channel` answer 403 to the bot.
    pub fn hide(&self, channel: u64) {
        self.lock().hidden.insert(channel);
    }

    /// IDENTIFY with MESSAGE_CONTENT is closed with 4014 (privileged intent not enabled).
    pub fn refuse_intents(&self, refuse: bool) {
        self.lock().refuse_intents = refuse;
    }

    /// The next `n` history requests answer 429.
    pub fn rate_limit_history(&self, n: usize) {
        self.lock().rate_limit_next = n;
    }

    /// Posts a message (and dispatches MESSAGE_CREATE to a live session); returns its id.
    pub fn post(&self, channel: u64, author: &Author, content: &str) -> u64 {
        self.post_full(channel, author, content, &[], None)
    }

    /// Posts with attachments and an optional reply to `reply_to`.
    pub fn post_full(
        &self,
        channel: u64,
        author: &Author,
        content: &str,
        files: &[FileSpec],
        reply_to: Option<u64>,
    ) -> u64 {
        let mut s = self.lock();
        let id = s.next_id();
        let mut attachments = Vec::new();
        for file in files {
            let file_id = s.next_id();
            let url = format!("{}/attachments/{file_id}/{}", s.base_url, file.filename);
            attachments.push(json!({
                "id": file_id.to_string(), "filename": file.filename, "size": file.bytes.len(),
                "url": url, "proxy_url": url, "content_type": file.content_type,
            }));
            s.files
                .insert(file_id, (file.content_type.clone(), file.bytes.clone()));
        }
        let mut message = example_message(id, channel, author, content, attachments);
        if let Some(parent) = reply_to {
            message["type"] = json!(19);
            message["message_reference"] =
                json!({ "message_id": parent.to_string(), "channel_id": channel.to_string() });
        }
        let guild = s.channels.get(&channel).and_then(|c| c.guild);
        s.channels
            .entry(channel)
            .or_default()
            .messages
            .insert(id, message.clone());
        if let Some(guild) = guild {
            message["guild_id"] = json!(guild.to_string());
        }
        s.dispatch("MESSAGE_CREATE", message);
        id
    }

    /// Edits a message's content and dispatches MESSAGE_UPDATE.
    pub fn edit(&self, channel: u64, id: u64, content: &str) {
        let mut s = self.lock();
        let stamp = timestamp_now();
        let Some(message) = s
            .channels
            .get_mut(&channel)
            .and_then(|c| c.messages.get_mut(&id))
        else {
            return;
        };
        message["content"] = json!(content);
        message["edited_timestamp"] = json!(stamp);
        let message = message.clone();
        s.dispatch("MESSAGE_UPDATE", message);
    }

    /// Drops the gateway connection without a close frame; the session stays resumable and
    /// buffers events for the RESUME.
    pub fn drop_connection(&self) {
        if let Some((_, conn)) = self.lock().conn.take() {
            let _ = conn.send(Out::Drop);
        }
    }

    /// Sends op 7 (reconnect and resume).
    pub fn request_reconnect(&self) {
        let mut s = self.lock();
        if let Some((_, conn)) = s.conn.take() {
            let _ = conn.send(Out::Text(json!({"op": 7, "d": null}).to_string()));
        }
    }

    /// Sends op 9 (not resumable): events until the next IDENTIFY are lost.
    pub fn invalidate_session(&self) {
        let mut s = self.lock();
        if let Some(session) = s.session.as_mut() {
            session.valid = false;
        }
        if let Some((_, conn)) = s.conn.take() {
            let _ = conn.send(Out::Text(json!({"op": 9, "d": false}).to_string()));
        }
    }

    /// Whether a session is live on a connection (READY or RESUMED sent).
    pub fn is_live(&self) -> bool {
        let s = self.lock();
        s.conn.is_some() && s.session.as_ref().is_some_and(|x| x.valid)
    }

    pub fn identifies(&self) -> usize {
        self.lock().identifies
    }

    pub fn resumes(&self) -> usize {
        self.lock().resumes
    }

    pub fn history_calls(&self) -> usize {
        self.lock().history_calls
    }

    pub fn rate_limited(&self) -> usize {
        self.lock().rate_limited
    }
}

impl State {
    /// Snowflakes from the clock, strictly increasing.
    fn next_id(&mut self) -> u64 {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let id = ((ms - DISCORD_EPOCH_MS) << 22).max(self.last_id + 1);
        self.last_id = id;
        id
    }

    /// Sends a dispatch to the live session (buffered for RESUME); lost without a valid one.
    fn dispatch(&mut self, event: &str, data: Value) {
        let Some(session) = self.session.as_mut().filter(|s| s.valid) else {
            return;
        };
        session.seq += 1;
        let frame = json!({"op": 0, "t": event, "s": session.seq, "d": data}).to_string();
        session.buffer.push((session.seq, frame.clone()));
        if let Some((_, conn)) = &self.conn {
            let _ = conn.send(Out::Text(frame));
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn timestamp_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A message shaped like the Discord API documentation's example message object.
fn example_message(
    id: u64,
    channel: u64,
    author: &Author,
    content: &str,
    attachments: Vec<Value>,
) -> Value {
    json!({
        "reactions": [],
        "attachments": attachments,
        "tts": false,
        "embeds": [],
        "timestamp": timestamp_now(),
        "mention_everyone": false,
        "id": id.to_string(),
        "pinned": false,
        "edited_timestamp": null,
        "author": {
            "username": author.username,
            "discriminator": "0",
            "global_name": author.global_name,
            "id": author.id.to_string(),
            "avatar": "a_bab14f271d565501444b2ca3be944b25",
            "public_flags": 131141,
            "bot": author.bot,
        },
        "mention_roles": [],
        "content": content,
        "channel_id": channel.to_string(),
        "mentions": [],
        "type": 0,
    })
}
