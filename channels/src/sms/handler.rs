//! The SMS webhook's HTTP side: Twilio POSTs each inbound SMS / MMS as a form; it is verified,
//! its media fetched with the account's credentials, and answered with an empty TwiML
//! `<Response/>` (no reply message) once the case is durable.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use intake_config::Secret;
use intake_normalizer::case::Source;

use super::form::Form;
use super::keys::message_key;
use super::verify::{SIGNATURE_HEADER, verify};
use crate::media::{Auth, MediaClient};
use crate::push::PushSender;
use crate::webhook::{Delivery, WebhookError, now_rfc3339, require_content_type};
use crate::{FetchedFile, FileContent, Inbound, Payload, Receipt, Wire};

/// The empty TwiML answer: acknowledged, nothing to send back.
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/// What the handler of one SMS channel holds.
#[derive(Debug)]
pub(crate) struct Hook {
    pub name: String,
    pub public_url: String,
    pub account_sid: String,
    pub auth_token: Secret,
    pub media: MediaClient,
    pub sender: PushSender,
}

/// `POST /`, to mount at `/webhooks/<name>`.
pub(crate) fn routes(hook: Hook) -> Router {
    Router::new()
        .route("/", post(inbound_message))
        .with_state(Arc::new(hook))
}

async fn inbound_message(
    State(hook): State<Arc<Hook>>,
    Delivery { headers, body }: Delivery,
) -> Response {
    match accept(&hook, &headers, body).await {
        Ok(()) => {
            let mut response = (StatusCode::OK, EMPTY_TWIML).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
            response
        }
        Err(e) => e.respond(&hook.name),
    }
}

async fn accept(hook: &Hook, headers: &HeaderMap, body: Bytes) -> Result<(), WebhookError> {
    // The signature covers the decoded parameters, so the form must be read first; nothing
    // else is looked at before it is verified.
    require_content_type(headers, "application/x-www-form-urlencoded")?;
    let form = Form::parse(&body);
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    verify(
        hook.auth_token.expose().as_bytes(),
        signature,
        &hook.public_url,
        &form.0,
    )?;
    if form.is_status_callback() {
        tracing::debug!(channel = %hook.name, "status callback acknowledged; not a case");
        return Ok(());
    }
    let Some(sid) = form.message_sid() else {
        return Err(WebhookError::BadRequest {
            detail: "no MessageSid parameter".into(),
        });
    };
    if form.get("From").is_none_or(|from| from.trim().is_empty()) {
        return Err(WebhookError::BadRequest {
            detail: "no From parameter".into(),
        });
    }
    let inbound = Inbound {
        idempotency_keys: vec![message_key(&hook.account_sid, sid)],
        lookup_keys: 1,
        received_at: now_rfc3339(),
        payload: Payload::Wire(Wire {
            sha256: Some(intake_normalizer::sha256_hex(&body)),
            source: Source {
                message_id: Some(sid.to_string()),
                ..Source::default()
            },
            files: fetch_media(hook, &form).await,
            bytes: body.to_vec(),
        }),
        receipt: Receipt(0),
    };
    hook.sender.deliver(inbound).await?;
    Ok(())
}

/// MMS media, fetched with the account SID and auth token (Twilio's media URLs may require
/// them); the file's id is its URL, as in the form.
async fn fetch_media(hook: &Hook, form: &Form) -> Vec<FetchedFile> {
    let auth = Auth::Basic {
        user: &hook.account_sid,
        password: hook.auth_token.expose(),
    };
    let mut files = Vec::new();
    for (index, item) in form.media().into_iter().enumerate() {
        let content = hook.media.download(item.url, auth).await;
        if let FileContent::Omitted { reason } = &content {
            tracing::warn!(channel = %hook.name, media = index, %reason, "mms media not fetched; the case keeps its metadata");
        }
        files.push(FetchedFile {
            id: item.url.to_string(),
            content,
        });
    }
    files
}
