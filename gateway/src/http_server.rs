//! The HTTP server under the endpoints: a hyper accept loop (instead of `axum::serve`, which
//! has no header read timeout) and the limits every channel's routes share.
//!
//! - The request head must arrive within `[http] header_timeout`, or hyper closes the
//!   connection (what a client that sends its headers a byte a minute gets; no handler ran).
//! - A webhook body larger than `[http] max_body_bytes` gets 413 (at once when its
//!   `Content-Length` says so), one not received within `[http] body_timeout` gets 408, both
//!   before the handler runs, so nothing is verified, parsed or appended and no handler waits
//!   on a slow client. Both are counted in `intake_webhook_rejections_total`.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use intake_config::HttpConfig;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The body limits of the webhook routes (`/webhooks/<channel>`), and the channels served.
#[derive(Debug)]
pub struct BodyLimits {
    channels: HashSet<String>,
    max_bytes: u64,
    within: Duration,
}

impl BodyLimits {
    /// `http`'s limits for the routes of `channels`.
    pub fn new(http: &HttpConfig, channels: impl IntoIterator<Item = String>) -> Self {
        BodyLimits {
            channels: channels.into_iter().collect(),
            max_bytes: http.max_body_bytes,
            within: http.body_timeout,
        }
    }

    /// The channel whose route `path` is under, if it is one of ours (a label for metrics
    /// must never come from the request itself).
    fn channel_of(&self, path: &str) -> Option<&str> {
        let rest = path.strip_prefix("/webhooks/")?;
        let name = rest.split('/').next()?;
        self.channels.get(name).map(String::as_str)
    }
}

/// `routes` of a channel, whose handlers' body extractors may take up to `http`'s limit (they
/// would otherwise stop at axum's default of 2 MB); the limits themselves are enforced before
/// the router is called ([`run`]).
pub fn limit_routes(routes: Router, http: &HttpConfig) -> Router {
    let max = usize::try_from(http.max_body_bytes).unwrap_or(usize::MAX);
    routes.layer(DefaultBodyLimit::max(max))
}

/// Answers one request: a channel's webhook body is read whole within the limits first, then
/// the router is called. A plain function per connection rather than an axum middleware,
/// which boxed a future and cloned the inner route on every request.
async fn serve_request(mut app: Router, limits: &BodyLimits, request: Request) -> Response {
    let request = match limits.channel_of(request.uri().path()) {
        Some(channel) => match read_body(channel, limits, request).await {
            Ok(request) => request,
            Err(refused) => return refused,
        },
        None => request,
    };
    match tower_service::Service::call(&mut app, request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The request with its whole body read within the limits, or the refusal to answer with.
async fn read_body(
    channel: &str,
    limits: &BodyLimits,
    request: Request,
) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limits.max_bytes) {
        return Err(too_large(channel, limits));
    }
    let max = usize::try_from(limits.max_bytes).unwrap_or(usize::MAX);
    let bytes = match tokio::time::timeout(limits.within, axum::body::to_bytes(body, max)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) if is_length_limit(&e) => return Err(too_large(channel, limits)),
        Ok(Err(_)) => {
            intake_channels::webhook::record(
                channel,
                "body_unreadable",
                "the request body could not be read",
            );
            return Err((
                StatusCode::BAD_REQUEST,
                "the request body could not be read\n",
            )
                .into_response());
        }
        Err(_) => {
            let detail = format!(
                "the body did not arrive within {}",
                humantime::format_duration(limits.within)
            );
            intake_channels::webhook::record(channel, "body_timeout", &detail);
            let mut response = (StatusCode::REQUEST_TIMEOUT, format!("{detail}\n")).into_response();
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            return Err(response);
        }
    };
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn too_large(channel: &str, limits: &BodyLimits) -> Response {
    let detail = format!("the body exceeds {} bytes", limits.max_bytes);
    intake_channels::webhook::record(channel, "too_large", &detail);
    let mut response = (StatusCode::PAYLOAD_TOO_LARGE, format!("{detail}\n")).into_response();
    // The rest of the body is not read: the connection cannot carry another request.
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Serves `app` on `listener` until `stop` is cancelled; then stops accepting, lets each
/// connection finish its request in flight and waits for them.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: BodyLimits,
    header_timeout: Duration,
    stop: CancellationToken,
) {
    let limits = Arc::new(limits);
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait a little instead of spinning.
                tracing::warn!(error = %e, "http accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Answers are small and awaited by the client: do not hold them back for Nagle.
        let _ = stream.set_nodelay(true);
        let (app, limits) = (app.clone(), limits.clone());
        let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
            let app = app.clone();
            let limits = limits.clone();
            async move {
                let request = request.map(Body::new);
                Ok::<_, Infallible>(serve_request(app, &limits, request).await)
            }
        });
        let stop = stop.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let served = tokio::select! {
                served = connection.as_mut() => served,
                () = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = served
                && !e.is_timeout()
                && !e.is_incomplete_message()
            {
                tracing::debug!(error = %e, "http connection ended with an error");
            }
        });
    }
    while connections.join_next().await.is_some() {}
}
