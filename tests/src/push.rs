//! Helpers for push-channel tests: an in-process gateway with push channels on the harness's
//! Redis, and requests signed the way each provider signs them.

use std::net::SocketAddr;
use std::path::Path;

use intake_config::{ApiConfig, ChannelConfig, Config, Secret, SlackConfig};
use intake_gateway::runtime::Gateway;

use crate::redis::RedisServer;
use crate::setup::config;

/// A Standard Webhooks secret for tests (`whsec_` + base64 of 32 bytes).
pub const API_SECRET: &str = "whsec_dGVzdC1zZWNyZXQtb2YtdGhlLWFwaS1jaGFubmVsLTMyYg==";
/// The bearer token of [`api_channel`].
pub const API_TOKEN: &str = "test-bearer-token";
/// The Slack signing secret of [`slack_channel`].
pub const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// An api channel with both a signing secret and a bearer token.
pub fn api_channel(name: &str) -> ChannelConfig {
    ChannelConfig::Api(ApiConfig {
        name: name.into(),
        secret: Some(Secret::new(API_SECRET)),
        token: Some(Secret::new(API_TOKEN)),
        store_raw: false,
    })
}

/// A slack channel watching `channels`, fetching files from `api_url` with `bot_token`.
pub fn slack_channel(
    name: &str,
    channels: &[&str],
    api_url: &str,
    bot_token: Option<&str>,
) -> ChannelConfig {
    ChannelConfig::Slack(SlackConfig {
        name: name.into(),
        signing_secret: Secret::new(SLACK_SECRET),
        bot_token: bot_token.map(Secret::new),
        channels: channels.iter().map(|c| c.to_string()).collect(),
        api_url: api_url.into(),
        max_file_bytes: 1024 * 1024,
    })
}

/// A config with `channels` only, on `redis`, blobs in `blobs`, HTTP on a free port.
pub fn push_config(redis: &RedisServer, blobs: &Path, channels: Vec<ChannelConfig>) -> Config {
    let mut config = config(redis, blobs, Vec::new());
    config.channels = channels;
    config
}

/// Starts the gateway and waits until it can make messages durable.
pub async fn start(config: Config) -> anyhow::Result<(Gateway, SocketAddr)> {
    let gateway = Gateway::start(config).await?;
    let addr = gateway.http_addr();
    let health = gateway.health().clone();
    crate::wait::wait_until(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(20),
        || async { health.ingest().is_up() },
    )
    .await?;
    Ok((gateway, addr))
}

/// Now as Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Standard Webhooks headers for `body` as delivery `id`, signed at `timestamp`.
pub fn api_headers(id: &str, timestamp: i64, body: &[u8]) -> Vec<(String, String)> {
    let key = intake_config::signing_key(API_SECRET).unwrap_or_default();
    vec![
        ("content-type".into(), "application/json".into()),
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), timestamp.to_string()),
        (
            "webhook-signature".into(),
            intake_channels::api::verify::sign(&key, id, timestamp, body),
        ),
    ]
}

/// Slack's signature headers for `body` at `timestamp`.
pub fn slack_headers(timestamp: i64, body: &[u8]) -> Vec<(String, String)> {
    vec![
        ("content-type".into(), "application/json".into()),
        ("x-slack-request-timestamp".into(), timestamp.to_string()),
        (
            "x-slack-signature".into(),
            intake_channels::slack::verify::sign(SLACK_SECRET.as_bytes(), timestamp, body),
        ),
    ]
}

/// `headers` as the `&[(&str, &str)]` that [`crate::setup::http_post`] takes.
pub fn borrowed(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}
