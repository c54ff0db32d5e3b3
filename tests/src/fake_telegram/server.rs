//! The fake's HTTP side: method dispatch and the answers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{BOT_ID, BOT_USERNAME, Params, State, TOKEN};

#[derive(Clone)]
struct Shared {
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(super) async fn serve(
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
    stop: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    let shared = Shared { state, arrived };
    let app = Router::new()
        .route("/{bot}/{method}", any(method))
        .route("/file/{bot}/{*path}", get(download))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
    });
    Ok(addr)
}

fn reply(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(result: Value) -> Response {
    reply(200, json!({"ok": true, "result": result}))
}

fn error(status: u16, description: &str) -> Response {
    reply(
        status,
        json!({"ok": false, "error_code": status, "description": description}),
    )
}

fn token_ok(bot: &str) -> bool {
    bot.strip_prefix("bot") == Some(TOKEN)
}

async fn method(
    Extract(shared): Extract<Shared>,
    Path((bot, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !token_ok(&bot) {
        return error(401, "Unauthorized");
    }
    let method = method.to_ascii_lowercase();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = Params::parse(query.as_deref(), content_type, &body);
    let injected = {
        let mut state = shared.state();
        *state.calls.entry(method.clone()).or_default() += 1;
        state.failures.get_mut(&method).and_then(|q| q.pop_front())
    };
    if let Some(injected) = injected {
        return error(injected.status, &injected.description);
    }
    match method.as_str() {
        "getme" => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "Intake Test", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "has_main_web_app": false,
        })),
        "getupdates" => get_updates(&shared, &params).await,
        "getfile" => get_file(&shared, &params),
        "setwebhook" => {
            let Some(url) = params.string("url") else {
                return error(400, "Bad Request: bad webhook: URL must be provided");
            };
            shared.state().webhook = Some((url, params.string("secret_token")));
            ok(json!(true))
        }
        "deletewebhook" => {
            shared.state().webhook = None;
            ok(json!(true))
        }
        "getwebhookinfo" => {
            let state = shared.state();
            let url = state.webhook.as_ref().map_or("", |(url, _)| url.as_str());
            ok(json!({
                "url": url, "has_custom_certificate": false,
                "pending_update_count": state.updates.len(),
            }))
        }
        _ => error(404, "Not Found: method not found"),
    }
}

async fn get_updates(shared: &Shared, params: &Params) -> Response {
    let offset = params.int("offset").unwrap_or(0);
    let limit = usize::try_from(params.int("limit").unwrap_or(100).clamp(1, 100)).unwrap_or(100);
    let timeout =
        Duration::from_secs(u64::try_from(params.int("timeout").unwrap_or(0)).unwrap_or(0));
    let generation = {
        let mut state = shared.state();
        if state.webhook.is_some() {
            state.conflicts += 1;
            return error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            );
        }
        state.poll_generation += 1;
        if offset > 0 {
            state
                .updates
                .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            state.confirmed = state.confirmed.max(offset);
        }
        state.poll_generation
    };
    // A poller still waiting is the one this call terminates.
    shared.arrived.notify_waiters();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        // Registered before looking, so an update pushed in between still wakes us.
        let arrived = shared.arrived.notified();
        {
            let mut state = shared.state();
            if state.poll_generation != generation {
                state.conflicts += 1;
                return error(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                );
            }
            let batch: Vec<Value> = state
                .updates
                .iter()
                .filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset)
                .take(limit)
                .cloned()
                .collect();
            if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
                return ok(Value::Array(batch));
            }
        }
        if tokio::time::timeout_at(deadline, arrived).await.is_err() {
            continue;
        }
    }
}

fn get_file(shared: &Shared, params: &Params) -> Response {
    let Some(file_id) = params.string("file_id") else {
        return error(400, "Bad Request: file_id is empty");
    };
    let state = shared.state();
    if let Some(description) = state.refused_files.get(&file_id) {
        return error(400, description);
    }
    match state.files.get(&file_id) {
        Some(bytes) => ok(json!({
            "file_id": file_id,
            "file_unique_id": format!("u{}", file_id.len()),
            "file_size": bytes.len(),
            "file_path": format!("documents/{file_id}.bin"),
        })),
        None => error(400, "Bad Request: invalid file_id"),
    }
}

async fn download(
    Extract(shared): Extract<Shared>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    if !token_ok(&bot) {
        return error(401, "Unauthorized");
    }
    let id = path
        .strip_prefix("documents/")
        .and_then(|p| p.strip_suffix(".bin"))
        .unwrap_or_default();
    let bytes = shared.state().files.get(id).cloned();
    match bytes {
        Some(bytes) => (StatusCode::OK, bytes).into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
