//! The fake's REST API under `/api/v10`, plus attachment downloads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{BOT_ID, State, lock};

#[derive(Clone)]
struct App {
    state: Arc<Mutex<State>>,
    gateway_url: String,
}

pub(super) async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<Mutex<State>>,
    gateway_url: String,
) {
    let app = Router::new()
        .route("/api/v10/gateway", get(gateway))
        .route("/api/v10/gateway/bot", get(gateway_bot))
        .route("/api/v10/users/@me", get(me))
        .route("/api/v10/channels/{id}", get(channel))
        .route("/api/v10/channels/{id}/messages", get(messages))
        .route("/attachments/{id}/{name}", get(attachment))
        .with_state(App { state, gateway_url });
    let _ = axum::serve(listener, app).await;
}

fn authorized(app: &App, headers: &HeaderMap) -> bool {
    let expected = format!("Bot {}", lock(&app.state).token);
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"message": "401: Unauthorized", "code": 0})),
    )
        .into_response()
}

async fn gateway(Extract(app): Extract<App>) -> Response {
    axum::Json(json!({ "url": app.gateway_url })).into_response()
}

async fn gateway_bot(Extract(app): Extract<App>, headers: HeaderMap) -> Response {
    if !authorized(&app, &headers) {
        return unauthorized();
    }
    axum::Json(json!({
        "url": app.gateway_url, "shards": 1,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}
    }))
    .into_response()
}

async fn me(Extract(app): Extract<App>, headers: HeaderMap) -> Response {
    if !authorized(&app, &headers) {
        return unauthorized();
    }
    axum::Json(json!({
        "id": BOT_ID.to_string(), "username": "intake-bot", "discriminator": "0",
        "global_name": null, "avatar": null, "bot": true
    }))
    .into_response()
}

async fn channel(Extract(app): Extract<App>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    if !authorized(&app, &headers) {
        return unauthorized();
    }
    let s = lock(&app.state);
    if s.hidden.contains(&id) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"message": "Missing Access", "code": 50001})),
        )
            .into_response();
    }
    let Some(chan) = s.channels.get(&id) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Unknown Channel", "code": 10003})),
        )
            .into_response();
    };
    let mut body = json!({ "id": id.to_string(), "type": chan.kind });
    if let Some(guild) = chan.guild {
        body["guild_id"] = json!(guild.to_string());
    }
    if let Some(parent) = chan.parent {
        body["parent_id"] = json!(parent.to_string());
    }
    axum::Json(body).into_response()
}

/// `after` pagination as Discord does it: the `limit` messages right after `after`, sent
/// newest first.
async fn messages(
    Extract(app): Extract<App>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    uri: Uri,
) -> Response {
    if !authorized(&app, &headers) {
        return unauthorized();
    }
    let mut s = lock(&app.state);
    s.history_calls += 1;
    if s.rate_limit_next > 0 {
        s.rate_limit_next -= 1;
        s.rate_limited += 1;
        let body =
            json!({"message": "You are being rate limited.", "retry_after": 0.05, "global": false});
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            axum::Json(body),
        )
            .into_response();
    }
    if s.hidden.contains(&id) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"message": "Missing Access", "code": 50001})),
        )
            .into_response();
    }
    let query: HashMap<&str, &str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let after: u64 = query.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let Some(chan) = s.channels.get(&id) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Unknown Channel", "code": 10003})),
        )
            .into_response();
    };
    let mut page: Vec<serde_json::Value> = chan
        .messages
        .range(after + 1..)
        .take(limit)
        .map(|(_, m)| m.clone())
        .collect();
    page.reverse();
    // Every third call empties the bucket briefly, so the client has to honour the headers.
    let remaining = if s.history_calls.is_multiple_of(3) {
        "0"
    } else {
        "4"
    };
    (
        [
            ("x-ratelimit-limit", "5"),
            ("x-ratelimit-remaining", remaining),
            ("x-ratelimit-reset-after", "0.02"),
        ],
        axum::Json(page),
    )
        .into_response()
}

async fn attachment(
    Extract(app): Extract<App>,
    Path((id, _name)): Path<(u64, String)>,
) -> Response {
    let s = lock(&app.state);
    match s.files.get(&id) {
        Some((content_type, bytes)) => (
            [(header::CONTENT_TYPE, content_type.clone())],
            bytes.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
