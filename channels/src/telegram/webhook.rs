//! Webhook mode: Telegram POSTs each update to `/webhooks/<channel name>`, and our answer is the
//! ack (the core's push model): 200 only once the case is durable, 503 with Retry-After while
//! it cannot be (Telegram then redelivers), 401 without the right secret token.
//!
//! - The `X-Telegram-Bot-Api-Secret-Token` header is compared in constant time with the
//!   configured secret; nothing is read, fetched or appended for a caller without it.
//! - A body that is not an update (no readable `update_id`) but came with the secret is Telegram
//!   talking: it is appended as a dead letter with its bytes kept (keyed by their SHA-256, so
//!   a redelivery lands once) and answered 200 once durable. Answering 400 would make Telegram
//!   retry it forever and hold up the updates behind it.
//! - Updates the chat policy skips are answered 200 at once: nothing to append.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use intake_config::Secret;
use tokio::sync::OnceCell;
use tracing::{debug, warn};

use super::api::{Api, bot_id};
use super::filter::{BotIdentity, ChatPolicy, Verdict};
use super::wire::Update;
use super::{inbound, keys};
use crate::push::{PushRefused, PushSender};
use crate::webhook::{WebhookError, constant_time_eq};
use crate::{FetchedFile, IngestState, Receipt};

const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// What the webhook handler needs.
#[derive(Debug)]
pub struct Hook {
    pub channel: String,
    pub sender: PushSender,
    pub ingest: IngestState,
    pub secret: Secret,
    pub api: Api,
    pub token: Secret,
    pub policy: ChatPolicy,
    pub max_file_bytes: u64,
    /// getMe, asked once on the first update that needs it (groups).
    pub me: OnceCell<BotIdentity>,
}

/// The routes to mount at `/webhooks/<channel name>`.
pub fn routes(hook: Hook) -> Router {
    Router::new()
        .route("/", post(handle))
        .with_state(Arc::new(hook))
}

async fn handle(State(hook): State<Arc<Hook>>, headers: HeaderMap, body: Bytes) -> Response {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !constant_time_eq(given, hook.secret.expose().as_bytes()) {
        return WebhookError::Unauthorized {
            reason: "secret_token",
        }
        .respond(&hook.channel);
    }
    if !hook.ingest.is_up() {
        return WebhookError::Refused(PushRefused::Unavailable).respond(&hook.channel);
    }
    let bot = bot_id(hook.token.expose());
    let update = serde_json::from_slice::<Update>(&body);
    let update_id = match &update {
        Ok(update) => Some(update.update_id),
        Err(_) => serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("update_id").and_then(serde_json::Value::as_i64)),
    };
    let mut files = Vec::new();
    if let Ok(update) = &update {
        match judge(&hook, update).await {
            Ok(Verdict::Ingest) => {}
            Ok(Verdict::Skip(reason)) => {
                debug!(channel = %hook.channel, update_id = update.update_id, reason, "update skipped");
                return (StatusCode::OK, "skipped\n").into_response();
            }
            Err(response) => return response,
        }
        match fetch_files(&hook, update).await {
            Ok(fetched) => files = fetched,
            Err(e) => {
                warn!(channel = %hook.channel, update_id = update.update_id, error = %e, "file download failed; telegram will redeliver");
                return WebhookError::Refused(PushRefused::Unavailable).respond(&hook.channel);
            }
        }
    }
    let mut item = inbound(
        bot,
        update_id.unwrap_or_default(),
        body.to_vec(),
        files,
        Receipt(0),
    );
    if update_id.is_none() {
        // Not an update at all: dead-lettered by the normalizer, keyed by its bytes.
        let sha = intake_normalizer::sha256_hex(&body);
        item.idempotency_keys = vec![keys::content_key(bot, &sha)];
    }
    match hook.sender.deliver(item).await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(refused) => WebhookError::Refused(refused).respond(&hook.channel),
    }
}

/// The chat policy's verdict; groups need getMe (asked once), which may fail: 503.
async fn judge(hook: &Hook, update: &Update) -> Result<Verdict, Response> {
    let is_private = update.message().1.is_some_and(|m| m.chat.kind == "private");
    if is_private {
        // Private chats are always ingested: no need to know the bot.
        let me = BotIdentity {
            id: 0,
            username: None,
        };
        return Ok(hook.policy.judge(update, &me));
    }
    let me = hook
        .me
        .get_or_try_init(|| hook.api.me())
        .await
        .map_err(|e| {
            warn!(channel = %hook.channel, error = %e, "getMe failed; telegram will redeliver");
            WebhookError::Refused(PushRefused::Unavailable).respond(&hook.channel)
        })?;
    Ok(hook.policy.judge(update, me))
}

async fn fetch_files(
    hook: &Hook,
    update: &Update,
) -> Result<Vec<FetchedFile>, crate::ChannelError> {
    let Some(message) = update.message().1 else {
        return Ok(Vec::new());
    };
    let mut fetched = Vec::new();
    for file in message.files() {
        let content = hook
            .api
            .fetch_file(file.file_id, file.file_size, hook.max_file_bytes)
            .await?;
        fetched.push(FetchedFile {
            id: file.file_id.to_owned(),
            content,
        });
    }
    Ok(fetched)
}
