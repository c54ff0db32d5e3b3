//! The WhatsApp webhook's HTTP side: Meta's GET verification handshake, and POSTed
//! notifications, verified, split into one delivery per message (media fetched first) and
//! answered 200 only once every one is durable.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use intake_config::Secret;
use intake_normalizer::case::Source;

use super::keys::message_key;
use super::payload::{Located, Notification};
use super::verify::{SIGNATURE_HEADER, verify};
use crate::media::{Auth, MediaClient, MediaError, omitted};
use crate::push::PushSender;
use crate::push_support::deliver_all;
use crate::webhook::{
    Delivery, WebhookError, constant_time_eq, json_problem, now_rfc3339, require_content_type,
};
use crate::{FetchedFile, Inbound, Payload, Receipt, Wire};

/// What the handlers of one WhatsApp channel hold.
#[derive(Debug)]
pub(crate) struct Hook {
    pub name: String,
    pub app_secret: Secret,
    pub verify_token: Secret,
    pub access_token: Secret,
    pub api_url: String,
    pub media: MediaClient,
    pub sender: PushSender,
}

/// `GET /` (the handshake) and `POST /` (notifications), to mount at `/webhooks/<name>`.
pub(crate) fn routes(hook: Hook) -> Router {
    Router::new()
        .route("/", get(handshake).post(notification))
        .with_state(Arc::new(hook))
}

/// `?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`: answer the challenge when the
/// token is ours (403 otherwise), so Meta enables the subscription.
async fn handshake(State(hook): State<Arc<Hook>>, uri: Uri) -> Response {
    let query = uri.query().unwrap_or("");
    let param = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    if param("hub.mode").as_deref() != Some("subscribe") {
        let detail = "expected hub.mode=subscribe".to_string();
        return WebhookError::BadRequest { detail }.respond(&hook.name);
    }
    let token = param("hub.verify_token").unwrap_or_default();
    if !constant_time_eq(token.as_bytes(), hook.verify_token.expose().as_bytes()) {
        return WebhookError::Forbidden {
            reason: "verify_token",
        }
        .respond(&hook.name);
    }
    let challenge = param("hub.challenge").unwrap_or_default();
    tracing::info!(channel = %hook.name, "whatsapp webhook verified");
    (StatusCode::OK, challenge).into_response()
}

async fn notification(
    State(hook): State<Arc<Hook>>,
    Delivery { headers, body }: Delivery,
) -> Response {
    match accept(&hook, &headers, body).await {
        Ok(count) => {
            tracing::debug!(channel = %hook.name, messages = count, "whatsapp notification acknowledged");
            (StatusCode::OK, "ok\n").into_response()
        }
        Err(e) => e.respond(&hook.name),
    }
}

/// Verifies, parses and delivers one notification; the number of messages made durable.
async fn accept(hook: &Hook, headers: &HeaderMap, body: Bytes) -> Result<usize, WebhookError> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    verify(hook.app_secret.expose().as_bytes(), signature, &body)?;
    require_content_type(headers, "application/json")?;
    let notification: Notification =
        serde_json::from_slice(&body).map_err(|e| WebhookError::BadRequest {
            detail: json_problem(&e),
        })?;
    if notification.object.as_deref() != Some("whatsapp_business_account") {
        return Err(WebhookError::BadRequest {
            detail: "not a whatsapp_business_account notification".into(),
        });
    }
    let sha256 = intake_normalizer::sha256_hex(&body);
    let received_at = now_rfc3339();
    let mut inbounds = Vec::new();
    for located in notification.messages() {
        let files = fetch_media(hook, &located).await;
        inbounds.push(Inbound {
            idempotency_keys: vec![message_key(
                &located.metadata.phone_number_id,
                &located.message.id,
            )],
            lookup_keys: 1,
            received_at: received_at.clone(),
            // Every message of the notification carries the whole signed body: the raw blob is
            // exactly what Meta sent, and the normalizer picks its message by id.
            payload: Payload::Wire(Wire {
                bytes: body.to_vec(),
                sha256: Some(sha256.clone()),
                source: Source {
                    message_id: Some(located.message.id.clone()),
                    ..Source::default()
                },
                files,
            }),
            receipt: Receipt(0),
        });
    }
    let count = inbounds.len();
    deliver_all(&hook.sender, inbounds).await?;
    Ok(count)
}

/// The message's media through the Graph API: `GET /<media id>` names a URL, which is then
/// downloaded with the same token.
async fn fetch_media(hook: &Hook, located: &Located<'_>) -> Vec<FetchedFile> {
    let Some(media) = located.message.media() else {
        return Vec::new();
    };
    let auth = Auth::Bearer(hook.access_token.expose());
    let lookup = format!("{}/{}", hook.api_url, media.id);
    let content = match hook.media.get_json::<MediaObject>(&lookup, auth).await {
        Ok(MediaObject { url: Some(url) }) => hook.media.download(&url, auth).await,
        Ok(MediaObject { url: None }) => omitted(&MediaError::Unreadable),
        Err(e) => omitted(&e),
    };
    if let crate::FileContent::Omitted { reason } = &content {
        tracing::warn!(channel = %hook.name, media = %media.id, %reason, "whatsapp media not fetched; the case keeps its metadata");
    }
    vec![FetchedFile {
        id: media.id.clone(),
        content,
    }]
}

/// The Graph API's answer to `GET /<media id>`.
#[derive(Debug, serde::Deserialize)]
struct MediaObject {
    url: Option<String>,
}
