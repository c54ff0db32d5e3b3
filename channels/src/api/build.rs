//! Building an api channel for the gateway's registry: a push channel and its route.

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use intake_config::ApiConfig;
use intake_normalizer::case::ChannelKind;

use super::ApiNormalizer;
use super::handler::{ApiState, receive};
use super::verify::Credentials;
use crate::push::{PushChannel, PushLimits, push_channel};
use crate::{BuildContext, Built, CheckpointStore, DEFAULT_POISON_AFTER};

/// The api channel of `config`: `POST /` under its mount point.
pub fn build<S: CheckpointStore + Clone>(
    config: ApiConfig,
    ctx: &BuildContext<S>,
) -> Built<PushChannel> {
    tracing::info!(channel = %config.name, signed = config.secret.is_some(), bearer = config.token.is_some(), "starting api channel");
    let (channel, sender) = push_channel(
        ChannelKind::Api,
        &config.name,
        ctx.ingest.clone(),
        PushLimits::default(),
    );
    let credentials = Credentials {
        // Validation refused a secret that does not decode; None then refuses every signature.
        signing_key: config
            .secret
            .as_ref()
            .and_then(|s| intake_config::signing_key(s.expose())),
        token: config.token.as_ref().map(|t| t.expose().to_string()),
    };
    let store_raw = config.store_raw;
    let state = Arc::new(ApiState {
        name: config.name,
        credentials,
        sender,
    });
    Built {
        channel,
        normalizer: Arc::new(ApiNormalizer {
            shared: ctx.policy.clone(),
            store_raw,
        }),
        routes: Some(Router::new().route("/", post(receive)).with_state(state)),
        batch_max: 256,
        poison_after: DEFAULT_POISON_AFTER,
    }
}
