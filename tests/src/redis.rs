//! A real `redis-server` on a free loopback port, with the faults end-to-end tests inject: kill,
//! restart on the same port, pause (SIGSTOP) and resume.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use nix::sys::signal::Signal;
use redis::AsyncCommands as _;
use redis::aio::MultiplexedConnection;
use redis::streams::StreamRangeReply;
use tempfile::TempDir;
use tokio::time::Instant;

use crate::net::free_port;
use crate::process::ServerProcess;
use crate::skip::find_binary;

/// One stream entry as read back: its id and its fields, values decoded as UTF-8.
pub type StreamEntry = (String, HashMap<String, String>);

/// How long a fresh redis-server gets to answer PING.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `restart` keeps retrying while the old socket still holds the port.
const RESTART_RETRY: Duration = Duration::from_secs(10);
/// XRANGE page size: large enough to be quick, small enough not to build huge replies.
const XRANGE_CHUNK: usize = 1000;

/// A running `redis-server`, killed on drop. Methods take `&self` so a test can share it (e.g.
/// in an `Arc`) with a task that injects faults while the gateway runs.
#[derive(Debug)]
pub struct RedisServer {
    // Declared first so it drops (SIGKILL) before the data dir is removed.
    process: Mutex<Option<ServerProcess>>,
    binary: PathBuf,
    dir: TempDir,
    port: u16,
    persistent: bool,
    /// Further `--name value` config arguments, kept for restarts.
    extra_args: Vec<String>,
}

impl RedisServer {
    /// Starts an in-memory server (`--save "" --appendonly no`): a kill loses all data.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(false).await
    }

    /// Starts a server with `--appendonly yes --appendfsync always`, so data acknowledged before a
    /// kill is still there after `restart` (for crash tests that must not lose entries).
    pub async fn start_persistent() -> anyhow::Result<Self> {
        Self::start_with(true).await
    }

    /// Starts an in-memory server with further config arguments, e.g.
    /// `["--maxmemory-policy", "allkeys-lru"]`; later ones override the defaults.
    pub async fn start_with_args(args: &[&str]) -> anyhow::Result<Self> {
        Self::start_configured(false, args.iter().map(|a| a.to_string()).collect()).await
    }

    /// Starts an in-memory replica of `primary` (`--replicaof`); see
    /// [`wait_for_replicas`](Self::wait_for_replicas) for when it has caught up.
    pub async fn start_replica_of(primary: &RedisServer) -> anyhow::Result<Self> {
        let port = primary.port.to_string();
        Self::start_with_args(&["--replicaof", "127.0.0.1", &port]).await
    }

    /// Waits until `n` replicas are connected and online (their initial sync done).
    pub async fn wait_for_replicas(&self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let info = self.info("replication").await?;
            let online = info
                .lines()
                .filter(|l| l.starts_with("slave") && l.contains("state=online"))
                .count();
            if online >= n {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{online} of {n} replicas online after {timeout:?}:\n{info}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn start_with(persistent: bool) -> anyhow::Result<Self> {
        Self::start_configured(persistent, Vec::new()).await
    }

    async fn start_configured(persistent: bool, extra_args: Vec<String>) -> anyhow::Result<Self> {
        let binary = find_binary("redis-server", "INTAKE_REDIS_SERVER")?;
        let mut last_error = None;
        // A free port can be taken between our probe and redis' bind: retry on a new one.
        for _ in 0..3 {
            let server = Self {
                process: Mutex::new(None),
                binary: binary.clone(),
                dir: tempfile::Builder::new()
                    .prefix("intake-redis-")
                    .tempdir()
                    .context("create redis temp dir")?,
                port: free_port()?,
                persistent,
                extra_args: extra_args.clone(),
            };
            match server.launch(Duration::ZERO).await {
                Ok(()) => return Ok(server),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("redis-server did not start")))
    }

    /// `redis://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's data dir (AOF files, `redis.log`).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn client(&self) -> anyhow::Result<redis::Client> {
        redis::Client::open(self.url()).context("redis client for test server")
    }

    /// A fresh multiplexed async connection.
    pub async fn connection(&self) -> anyhow::Result<MultiplexedConnection> {
        self.client()?
            .get_multiplexed_async_connection()
            .await
            .with_context(|| format!("connect to test redis on port {}", self.port))
    }

    /// The text of `INFO <section>`.
    pub async fn info(&self, section: &str) -> anyhow::Result<String> {
        let mut conn = self.connection().await?;
        redis::cmd("INFO")
            .arg(section)
            .query_async(&mut conn)
            .await
            .with_context(|| format!("INFO {section}"))
    }

    /// SIGKILL and reap: no shutdown, no final save, like a crash.
    pub fn kill(&self) {
        if let Some(mut process) = self.lock().take() {
            process.kill();
        }
    }

    /// Kills the server if running and starts it again on the same port, retrying while the
    /// port is still held.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.kill();
        self.launch(RESTART_RETRY).await
    }

    /// SIGSTOP: the port stays open but nothing answers, like a hung server.
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGSTOP)
    }

    /// SIGCONT after [`pause`](Self::pause).
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGCONT)
    }

    /// XLEN of `key` (0 when the stream does not exist).
    pub async fn stream_len(&self, key: &str) -> anyhow::Result<u64> {
        let mut conn = self.connection().await?;
        let len: u64 = conn
            .xlen(key)
            .await
            .with_context(|| format!("XLEN {key}"))?;
        Ok(len)
    }

    /// Every entry of stream `key` in id order, read with XRANGE in pages so tens of thousands
    /// of entries never make one giant reply.
    pub async fn read_stream(&self, key: &str) -> anyhow::Result<Vec<StreamEntry>> {
        let mut conn = self.connection().await?;
        let mut entries = Vec::new();
        let mut start = "-".to_owned();
        loop {
            let page: StreamRangeReply = conn
                .xrange_count(key, &start, "+", XRANGE_CHUNK)
                .await
                .with_context(|| format!("XRANGE {key} {start} + COUNT {XRANGE_CHUNK}"))?;
            let page_len = page.ids.len();
            for entry in page.ids {
                let mut fields = HashMap::with_capacity(entry.map.len());
                for (field, value) in entry.map {
                    let value: String = redis::from_redis_value(value)
                        .map_err(|e| anyhow::anyhow!("{key} {} field {field}: {e}", entry.id))?;
                    fields.insert(field, value);
                }
                // Exclusive start ("(id", Redis >= 6.2) so the next page skips this entry.
                start = format!("({}", entry.id);
                entries.push((entry.id, fields));
            }
            if page_len < XRANGE_CHUNK {
                return Ok(entries);
            }
        }
    }

    fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        match self.lock().as_ref() {
            Some(process) => process.signal(signal),
            None => anyhow::bail!("redis-server on port {} is not running", self.port),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<ServerProcess>> {
        // A panic elsewhere while holding the lock leaves the Option intact; keep using it.
        self.process.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Spawns redis-server until it answers PING; respawns for up to `retry_for` if it exits
    /// (e.g. the port is still in use after a kill).
    async fn launch(&self, retry_for: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + retry_for;
        loop {
            let mut process =
                ServerProcess::spawn(self.command(), &self.dir.path().join("redis.stdout"))?;
            match self.await_ready(&mut process).await {
                Ok(()) => {
                    *self.lock() = Some(process);
                    return Ok(());
                }
                Err(error) if Instant::now() >= deadline => {
                    process.kill();
                    let log = std::fs::read_to_string(self.dir.path().join("redis.log"))
                        .unwrap_or_default();
                    return Err(
                        error.context(format!("redis-server on port {}; log:\n{log}", self.port))
                    );
                }
                Err(_) => {
                    process.kill();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    async fn await_ready(&self, process: &mut ServerProcess) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let client = self.client()?;
        loop {
            if let Some(status) = process.exited()? {
                anyhow::bail!("redis-server exited during startup: {status}");
            }
            let ping = async {
                let mut conn = client.get_multiplexed_async_connection().await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await
            };
            if let Ok(Ok(reply)) = tokio::time::timeout(Duration::from_millis(500), ping).await
                && reply == "PONG"
            {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "redis-server did not answer PING within {READY_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn command(&self) -> Command {
        let dir = self.dir.path();
        let mut command = Command::new(&self.binary);
        command
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "no",
            ])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .args(["--save", ""]);
        if self.persistent {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        command.args(&self.extra_args);
        command
    }
}
