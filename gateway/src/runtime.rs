//! The runtime: one worker task per channel, the Redis watcher and the HTTP server, started
//! together and stopped together.
//!
//! Shutdown is two-phase: `stop` ends taking new work (workers finish their batch in flight),
//! then after the deadline `abort` abandons whatever is still unacked. Unacked messages are
//! redelivered by their channel on the next start, so neither phase loses anything.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use intake_channels::{BuildContext, SharedPolicy};
use intake_config::{Config, ConversationsConfig};
use intake_normalizer::email::SubjectTag;
use intake_normalizer::language::LanguageDetector;
use tokio::task::JoinSet;

use crate::blobs::BlobStore;
use crate::checkpoint::RedisCheckpoints;
use crate::conversation::ConversationStore;
use crate::error::GatewayError;
use crate::health::{APPENDS_PART, BLOBS_PART, Health};
use crate::redis_conn::{self, REDIS_PART};
use crate::registry::{self, Launcher};
use crate::sink::{SinkError, StreamSink};
use crate::worker::Shutdown;

/// A started gateway.
#[derive(Debug)]
pub struct Gateway {
    http_addr: SocketAddr,
    health: Health,
    shutdown: Shutdown,
    workers: JoinSet<()>,
    background: JoinSet<()>,
}

impl Gateway {
    /// Starts every configured channel. Fails only on what retrying cannot fix (bad Redis URL,
    /// unusable blob directory, taken HTTP port); Redis or a mailbox being down is retried.
    pub async fn start(config: Config) -> Result<Gateway, GatewayError> {
        // The same checks `intake config check` makes, so the two cannot disagree.
        let problems = crate::preflight::check(&config);
        if !problems.is_empty() {
            let errors: intake_config::ConfigErrors = problems.into_iter().collect();
            return Err(GatewayError::Config {
                detail: errors.to_string(),
            });
        }
        let blobs = BlobStore::new(&config.blobs.dir);
        blobs.ensure_root().map_err(|e| GatewayError::Blobs {
            dir: config.blobs.dir.display().to_string(),
            detail: e.to_string(),
        })?;
        let conn = redis_conn::connect(&config.redis)?;
        let health = Health::new();
        health.register(REDIS_PART);
        // Up until a write or an append fails: an idle gateway is ready.
        for part in [BLOBS_PART, APPENDS_PART] {
            health.register(part);
            health.up(part);
        }
        let shutdown = Shutdown::default();

        let policy = Arc::new(SharedPolicy {
            subject_tags: compile_subject_tags(&config.conversations)?,
            languages: language_detector(&config.conversations)?,
        });
        let ctx = BuildContext {
            checkpoints: RedisCheckpoints::new(conn.clone(), &config.redis.key_prefix()),
            stop: shutdown.stop.clone(),
            policy,
            ingest: health.ingest(),
        };
        let sink = StreamSink::new(conn.clone(), &config.redis);
        check_redis_setup(sink.clone()).await?;
        let mut launcher = Launcher {
            redis: config.redis.clone(),
            sink,
            conversations: ConversationStore::new(
                conn.clone(),
                &config.redis.key_prefix(),
                &config.conversations,
            ),
            blobs,
            health: health.clone(),
            shutdown: shutdown.clone(),
            workers: JoinSet::new(),
            routes: Vec::new(),
        };
        for channel in config.channels {
            registry::launch(channel, &ctx, &mut launcher);
        }
        let Launcher {
            workers, routes, ..
        } = launcher;

        // Bound after the channels are built (their routes are mounted), before any is served.
        let (http_addr, http_task) =
            crate::http::serve(&config.http, health.clone(), routes, shutdown.abort.clone())
                .await?;
        let mut background = JoinSet::new();
        background.spawn(async move {
            let _ = http_task.await;
        });
        background.spawn(redis_conn::watch(
            conn,
            health.clone(),
            Duration::from_secs(2),
            shutdown.abort.clone(),
        ));
        tracing::info!(%http_addr, "gateway started");
        Ok(Gateway {
            http_addr,
            health,
            shutdown,
            workers,
            background,
        })
    }

    /// Where /healthz, /readyz and /metrics are served (useful with port 0).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Stops taking new work, lets batches in flight finish for up to `deadline`, then
    /// abandons what is left unacked and stops the HTTP server.
    pub async fn shutdown(mut self, deadline: Duration) {
        tracing::info!(deadline_ms = deadline.as_millis() as u64, "shutting down");
        self.shutdown.stop.cancel();
        let drained = tokio::time::timeout(deadline, async {
            while self.workers.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("shutdown deadline reached; abandoning unacked batches");
        }
        self.shutdown.abort.cancel();
        // A worker stuck in a channel call (a dead connection) must not hold the process: the
        // messages it holds are unacked and will be redelivered.
        if tokio::time::timeout(Duration::from_secs(2), self.wait_workers())
            .await
            .is_err()
        {
            self.workers.abort_all();
            self.wait_workers().await;
        }
        while self.background.join_next().await.is_some() {}
        tracing::info!("gateway stopped");
    }

    /// Resolves when a worker ends before shutdown was asked for (a panic inside a channel) or
    /// a fault only a restart cures was raised (the blob store failed to sync). The caller
    /// should exit non-zero so a supervisor restarts the process; nothing is lost, the
    /// channel redelivers whatever was unacked. Pending forever while all workers run.
    pub async fn worker_failed(&mut self) -> String {
        let fatal = self.shutdown.fatal.clone();
        tokio::select! {
            reason = fatal.raised() => reason,
            joined = self.workers.join_next() => match joined {
                Some(Err(e)) if e.is_panic() => format!("a channel worker panicked: {e}"),
                Some(_) => "a channel worker stopped unexpectedly".to_string(),
                None => std::future::pending().await,
            },
        }
    }

    /// Waits until every worker has ended (they end only on shutdown).
    async fn wait_workers(&mut self) {
        while self.workers.join_next().await.is_some() {}
    }
}

/// Judges the Redis server's setup if it answers within a moment: a setup that could lose or
/// duplicate entries stops start-up. A Redis that is down does not: the sink checks before
/// its first append instead (and refuses to append while the setup is refused).
async fn check_redis_setup(mut sink: StreamSink) -> Result<(), GatewayError> {
    match tokio::time::timeout(Duration::from_secs(3), sink.check_setup()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(SinkError::SetupRefused { detail })) => Err(GatewayError::RedisSetup { detail }),
        Ok(Err(e)) => {
            tracing::info!(error = %e, "redis setup not checked yet; checked before the first append");
            Ok(())
        }
        Err(_) => {
            tracing::info!(
                "redis did not answer at start-up; its setup is checked before the first append"
            );
            Ok(())
        }
    }
}

/// The configured subject tags, compiled once (None: the normalizer's built-in set). Config
/// validation already compiled them, so an error here means the two disagree.
pub fn compile_subject_tags(
    config: &ConversationsConfig,
) -> Result<Option<Vec<SubjectTag>>, GatewayError> {
    let Some(tags) = &config.subject_tags else {
        return Ok(None);
    };
    tags.iter()
        .map(|t| {
            SubjectTag::new(&t.name, &t.pattern).map_err(|e| GatewayError::Config {
                detail: format!("subject tag {}: {e}", t.name),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The configured language candidates (None: all the detector knows).
pub fn language_detector(
    config: &ConversationsConfig,
) -> Result<Option<LanguageDetector>, GatewayError> {
    config
        .languages
        .as_ref()
        .map(|codes| {
            LanguageDetector::only(codes).map_err(|e| GatewayError::Config {
                detail: format!("conversations.languages: unknown language {:?}", e.0),
            })
        })
        .transpose()
}
