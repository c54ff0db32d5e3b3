//! `POST /webhooks/<name>` of a slack channel: verify, answer the URL challenge, drop what is
//! not a case with 200, fetch a message's files, then queue it and answer once it is durable.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use intake_normalizer::case::Source;

use super::events::{Envelope, skip_reason};
use super::files::FileFetcher;
use super::keys::message_key;
use super::verify::verify;
use crate::push::PushSender;
use crate::webhook::{
    Delivery, WebhookError, now_rfc3339, parse_json, require_content_type, unix_now,
};
use crate::{Inbound, Payload, Receipt, Wire};

#[derive(Debug)]
pub(super) struct SlackState {
    pub name: String,
    pub signing_secret: Vec<u8>,
    pub channels: Vec<String>,
    pub files: FileFetcher,
    pub sender: PushSender,
}

pub(super) async fn receive(
    State(state): State<Arc<SlackState>>,
    Delivery { headers, body }: Delivery,
) -> Response {
    match accept(&state, &headers, body).await {
        Ok(response) => response,
        Err(refused) => refused.respond(&state.name),
    }
}

async fn accept(
    state: &SlackState,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    verify(&state.signing_secret, headers, &body, unix_now())?;
    require_content_type(headers, "application/json")?;
    let envelope: Envelope = parse_json(&body)?;
    match envelope.kind.as_str() {
        "url_verification" => {
            let challenge = envelope.challenge.ok_or_else(|| WebhookError::BadRequest {
                detail: "url_verification without a challenge".into(),
            })?;
            return Ok(([(header::CONTENT_TYPE, "text/plain")], challenge).into_response());
        }
        "event_callback" => {}
        // app_rate_limited and whatever Slack adds later: nothing to ingest.
        _ => return Ok(ignored("not an event callback")),
    }
    let Some(event) = &envelope.event else {
        return Err(WebhookError::BadRequest {
            detail: "event_callback without an event".into(),
        });
    };
    if let Some(reason) = skip_reason(&envelope, event, &state.channels) {
        return Ok(ignored(reason));
    }
    let team = envelope.team_id.as_deref().unwrap_or("-");
    let (Some(channel), Some(ts)) = (event.channel.as_deref(), event.ts.as_deref()) else {
        return Ok(ignored("no channel or ts"));
    };
    let files = state.files.fetch_all(&event.files).await;
    let inbound = Inbound {
        idempotency_keys: vec![message_key(team, channel, ts)],
        lookup_keys: 1,
        received_at: now_rfc3339(),
        payload: Payload::Wire(Wire {
            bytes: body.into(),
            sha256: None,
            source: Source {
                message_id: Some(format!("{channel}:{ts}")),
                ..Source::default()
            },
            files,
        }),
        receipt: Receipt(0),
    };
    state.sender.deliver(inbound).await?;
    Ok("ok\n".into_response())
}

/// 200 for a verified event that is not a case, so Slack does not retry it.
fn ignored(reason: &'static str) -> Response {
    tracing::debug!(reason, "slack event acknowledged without a case");
    "ignored\n".into_response()
}
