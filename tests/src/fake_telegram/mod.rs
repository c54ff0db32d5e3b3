//! A fake Telegram Bot API on a loopback port, with the real API's semantics where Intake relies
//! on them:
//!
//! - `POST|GET /bot<token>/<method>`, method names case-insensitive, parameters from the query
//!   string or a JSON, form or multipart body; a wrong token answers 401 `Unauthorized`.
//! - getUpdates: returns updates from `offset` on (at most `limit`), and `offset` confirms, i.e.
//!   forgets, every update below it; with `timeout` it long-polls for new ones. A second
//!   concurrent poller ends the first with 409 ("terminated by other getUpdates request"), and
//!   while a webhook is set getUpdates answers 409.
//! - getMe, getFile and the download route `/file/bot<token>/<file_path>`, setWebhook /
//!   deleteWebhook / getWebhookInfo.
//! - Error injection per method ([`FakeTelegram::fail_next`]), and call counts.

mod params;
mod server;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use params::Params;

/// The bot the fake plays.
pub const BOT_ID: i64 = 123_456_789;
pub const BOT_USERNAME: &str = "IntakeTestBot";
/// A token of the real shape for [`BOT_ID`].
pub const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

/// An error the next calls of one method answer with.
#[derive(Debug, Clone)]
pub struct Injected {
    pub status: u16,
    pub description: String,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Updates not confirmed yet, ascending by id.
    updates: VecDeque<Value>,
    next_update_id: i64,
    /// The highest offset a getUpdates call sent: everything below it is confirmed.
    confirmed: i64,
    webhook: Option<(String, Option<String>)>,
    /// The generation of the newest getUpdates call; older ones waiting end with 409.
    poll_generation: u64,
    files: HashMap<String, Vec<u8>>,
    refused_files: HashMap<String, String>,
    failures: HashMap<String, VecDeque<Injected>>,
    calls: HashMap<String, u64>,
    pub(crate) conflicts: u64,
}

/// The running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeTelegram {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
    stop: CancellationToken,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl FakeTelegram {
    /// Starts the fake on a free loopback port.
    pub async fn start() -> anyhow::Result<FakeTelegram> {
        let state = Arc::new(Mutex::new(State {
            next_update_id: 700_000_000,
            ..State::default()
        }));
        let arrived = Arc::new(Notify::new());
        let stop = CancellationToken::new();
        let addr = server::serve(state.clone(), arrived.clone(), stop.clone()).await?;
        Ok(FakeTelegram {
            addr,
            state,
            arrived,
            stop,
        })
    }

    /// The `api_url` to configure: `http://127.0.0.1:<port>`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `update` (its `update_id` replaced by the next id) and returns the id.
    pub fn push(&self, mut update: Value) -> i64 {
        let id = {
            let mut state = self.state();
            let id = state.next_update_id;
            state.next_update_id += 1;
            update["update_id"] = json!(id);
            state.updates.push_back(update);
            id
        };
        self.arrived.notify_waiters();
        id
    }

    /// A private text message from user `user` with `text`.
    pub fn push_text(&self, user: i64, text: &str) -> i64 {
        self.push(private_text(user, text))
    }

    /// Makes `file_id` downloadable with `bytes`.
    pub fn add_file(&self, file_id: &str, bytes: Vec<u8>) {
        self.state().files.insert(file_id.to_string(), bytes);
    }

    /// getFile of `file_id` answers 400 with `description` (e.g. "Bad Request: file is too big").
    pub fn refuse_file(&self, file_id: &str, description: &str) {
        self.state()
            .refused_files
            .insert(file_id.to_string(), description.to_string());
    }

    /// The next `times` calls of `method` answer `status` with `description`.
    pub fn fail_next(&self, method: &str, status: u16, description: &str, times: usize) {
        let injected = Injected {
            status,
            description: description.to_string(),
        };
        self.state()
            .failures
            .entry(method.to_ascii_lowercase())
            .or_default()
            .extend(std::iter::repeat_n(injected, times));
    }

    /// Sets a webhook as if another program had called setWebhook.
    pub fn set_webhook(&self, url: &str) {
        self.state().webhook = Some((url.to_string(), None));
    }

    /// The webhook set, with its secret token.
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.state().webhook.clone()
    }

    /// The highest offset confirmed by a getUpdates call.
    pub fn confirmed(&self) -> i64 {
        self.state().confirmed
    }

    /// Updates not yet confirmed.
    pub fn unconfirmed(&self) -> usize {
        self.state().updates.len()
    }

    /// How often `method` was called (case-insensitive).
    pub fn calls(&self, method: &str) -> u64 {
        self.state()
            .calls
            .get(&method.to_ascii_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// How many getUpdates calls were answered 409.
    pub fn conflicts(&self) -> u64 {
        self.state().conflicts
    }
}

/// A private chat text message shaped like the Bot API's `Update` (its id set by [`FakeTelegram::push`]).
pub fn private_text(user: i64, text: &str) -> Value {
    json!({
        "update_id": 0,
        "message": {
            "message_id": user % 1000 + 1,
            "from": {"id": user, "is_bot": false, "first_name": "Customer", "last_name": format!("{user}"), "language_code": "en"},
            "chat": {"id": user, "first_name": "Customer", "type": "private"},
            "date": 1_764_500_000,
            "text": text,
        }
    })
}

/// A fixture from `tests/fixtures/telegram/`.
pub fn fixture(name: &str) -> anyhow::Result<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/telegram")
        .join(name);
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}
