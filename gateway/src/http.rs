//! The HTTP endpoints: `/healthz` (the process is alive), `/readyz` (Redis and every channel are
//! up; 503 with the failing parts otherwise), `/metrics` (Prometheus text format), and each push
//! channel's routes under `/webhooks/<channel name>`.

use std::net::SocketAddr;

use intake_config::HttpConfig;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::error::GatewayError;
use crate::health::Health;

#[derive(Clone)]
struct AppState {
    health: Health,
    metrics: PrometheusHandle,
}

/// Installs the process-wide Prometheus recorder once (tests start several gateways in one
/// process) and returns its handle.
pub fn metrics_handle() -> Result<PrometheusHandle, GatewayError> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle =
        PrometheusBuilder::new()
            .install_recorder()
            .map_err(|e| GatewayError::Metrics {
                detail: e.to_string(),
            })?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Binds `http.listen` now (so a taken port fails start-up) and serves until `stop` is
/// cancelled, with `http`'s limits on every channel's routes (`crate::http_server`).
pub async fn serve(
    http: &HttpConfig,
    health: Health,
    channel_routes: Vec<(String, Router)>,
    stop: CancellationToken,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), GatewayError> {
    let addr = http.listen;
    let listen_error = |e: std::io::Error| GatewayError::Listen {
        addr: addr.to_string(),
        detail: e.to_string(),
    };
    let listener = TcpListener::bind(addr).await.map_err(listen_error)?;
    let bound = listener.local_addr().map_err(listen_error)?;
    let state = AppState {
        health,
        metrics: metrics_handle()?,
    };
    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    let limits = crate::http_server::BodyLimits::new(
        http,
        channel_routes.iter().map(|(name, _)| name.clone()),
    );
    for (name, routes) in channel_routes {
        let routes = crate::http_server::limit_routes(routes, http);
        app = app.nest(&format!("/webhooks/{name}"), routes);
    }
    let task = tokio::spawn(crate::http_server::run(
        listener,
        app,
        limits,
        http.header_timeout,
        stop,
    ));
    Ok((bound, task))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let parts = state.health.snapshot();
    let status = if state.health.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({ "ready": status == StatusCode::OK, "parts": parts })),
    )
        .into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
