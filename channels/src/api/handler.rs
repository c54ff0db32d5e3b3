//! `POST /webhooks/<name>` of an api channel: authenticate the raw bytes, then check the
//! content type and the body, then hand the message to the push model and answer once it is
//! durable. Every refusal appends nothing.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use intake_normalizer::case::Source;

use super::keys::delivery_key;
use super::payload::{ApiMessage, valid_id};
use super::verify::{Authenticated, Credentials};
use crate::push::PushSender;
use crate::webhook::{
    Delivery, WebhookError, now_rfc3339, parse_json, require_content_type, unix_now,
};
use crate::{Inbound, Payload, Receipt, Wire};

/// What every request of one api channel needs.
#[derive(Debug)]
pub(super) struct ApiState {
    pub name: String,
    pub credentials: Credentials,
    pub sender: PushSender,
}

/// The answer to an acknowledged delivery (a struct, not `json!`: no map built per request).
#[derive(serde::Serialize)]
struct Accepted<'a> {
    status: &'static str,
    id: &'a str,
}

pub(super) async fn receive(
    State(state): State<Arc<ApiState>>,
    Delivery { headers, body }: Delivery,
) -> Response {
    match accept(&state, &headers, body).await {
        Ok(id) => Json(Accepted {
            status: "accepted",
            id: &id,
        })
        .into_response(),
        Err(refused) => refused.respond(&state.name),
    }
}

async fn accept(
    state: &ApiState,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<String, WebhookError> {
    let authenticated = state.credentials.authenticate(headers, &body, unix_now())?;
    require_content_type(headers, "application/json")?;
    let message: ApiMessage = parse_json(&body)?;
    message.check()?;
    let id = match authenticated {
        Authenticated::Signed { id } if valid_id(&id) => id,
        Authenticated::Signed { .. } => {
            return Err(WebhookError::BadRequest {
                detail: "webhook-id must be 1 to 200 printable ASCII characters".into(),
            });
        }
        Authenticated::Bearer => message.id.clone().ok_or_else(|| WebhookError::BadRequest {
            detail: "missing field `id` (required with a bearer token)".into(),
        })?,
    };
    let inbound = Inbound {
        idempotency_keys: vec![delivery_key(&state.name, &id)],
        lookup_keys: 1,
        received_at: now_rfc3339(),
        payload: Payload::Wire(Wire {
            bytes: body.into(),
            sha256: None,
            source: Source {
                message_id: Some(id.clone()),
                ..Source::default()
            },
            files: Vec::new(),
        }),
        receipt: Receipt(0),
    };
    state.sender.deliver(inbound).await?;
    Ok(id)
}
