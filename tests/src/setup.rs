//! Wiring the gateway to the harness's servers: typed configs for in-process gateways, TOML
//! files and the `intake` binary for child-process tests, and schema validation of entries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use intake_config::{
    AfterIngest, BlobsConfig, ChannelConfig, Config, ConversationsConfig, Durability, EmailConfig,
    GroupMessages, HttpConfig, RedisConfig, RuntimeConfig, Secret, TelegramChats, TelegramConfig,
    TelegramMode, TlsMode,
};

use crate::dovecot::Dovecot;
use crate::redis::RedisServer;

/// Default stream names used by the tests.
pub const CASES: &str = "intake:cases";
pub const DEAD: &str = "intake:dead";

/// An email channel on the harness's Dovecot, with test-friendly defaults.
pub fn email_channel(dovecot: &Dovecot, name: &str, mailbox: &str) -> EmailConfig {
    EmailConfig {
        tls_ca_file: None,
        authserv_id: None,
        name: name.to_string(),
        host: "127.0.0.1".into(),
        port: dovecot.port(),
        tls: TlsMode::None,
        allow_insecure: false,
        username: dovecot.user().to_string(),
        password: Secret::new(dovecot.password()),
        mailbox: mailbox.to_string(),
        after_ingest: AfterIngest::Seen,
        idle: true,
        poll_interval: Duration::from_secs(1),
        batch_size: 100,
        max_message_bytes: 25 * 1024 * 1024,
        poison_after: 5,
    }
}

/// A whole config: the harness's Redis, HTTP on a free port, blobs in `blob_dir`.
pub fn config(redis: &RedisServer, blob_dir: &Path, channels: Vec<EmailConfig>) -> Config {
    let channels = channels.into_iter().map(ChannelConfig::Email).collect();
    config_with(redis, blob_dir, channels)
}

/// [`config`] with channels of any kind.
pub fn config_with(redis: &RedisServer, blob_dir: &Path, channels: Vec<ChannelConfig>) -> Config {
    Config {
        redis: RedisConfig {
            url: Secret::new(redis.url()),
            stream: CASES.into(),
            dead_letter_stream: DEAD.into(),
            dedupe_ttl: Duration::from_secs(86_400),
            durability: Durability::Append,
        },
        http: HttpConfig::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        blobs: BlobsConfig {
            dir: blob_dir.to_path_buf(),
        },
        conversations: ConversationsConfig::default(),
        runtime: RuntimeConfig::default(),
        channels,
    }
}

/// The same config as TOML for the `intake` binary; the password is read from `IMAP_PASSWORD`.
pub fn config_toml(config: &Config, http_port: u16) -> String {
    let mut out = format!(
        "[redis]\nurl = {:?}\nstream = {:?}\ndead_letter_stream = {:?}\n\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n\n[blobs]\ndir = {:?}\n",
        config.redis.url.expose(),
        config.redis.stream,
        config.redis.dead_letter_stream,
        config.blobs.dir.display().to_string(),
    );
    match config.redis.durability {
        Durability::Append => {}
        Durability::Replicas { replicas, timeout } | Durability::Aof { replicas, timeout } => {
            let word = config.redis.durability.word();
            let ms = timeout.as_millis();
            let redis_keys = format!(
                "durability = \"{word}\"\nreplicas = {replicas}\nwait_timeout = \"{ms}ms\"\n"
            );
            // Into the [redis] table, which the first lines hold.
            out = out.replacen("\n\n[http]", &format!("\n{redis_keys}\n[http]"), 1);
        }
    }
    for channel in &config.channels {
        let e = match channel {
            ChannelConfig::Email(e) => e,
            ChannelConfig::Telegram(t) => {
                out.push_str(&telegram_toml(t));
                continue;
            }
            // Other kinds' tests write their channels' TOML themselves.
            _ => continue,
        };
        let tls = match e.tls {
            TlsMode::Implicit => "implicit",
            TlsMode::Starttls => "starttls",
            TlsMode::None => "none",
        };
        let ca = e
            .tls_ca_file
            .as_ref()
            .map(|f| format!("tls_ca_file = {:?}\n", f.display().to_string()))
            .unwrap_or_default();
        let after = match &e.after_ingest {
            AfterIngest::Seen => "\"seen\"".to_string(),
            AfterIngest::Delete => "\"delete\"".to_string(),
            AfterIngest::MoveTo(f) => format!("{{ move_to = {f:?} }}"),
        };
        out.push_str(&format!(
            "\n[[channels]]\ntype = \"email\"\nname = {:?}\nhost = {:?}\nport = {}\ntls = \"{tls}\"\n{ca}username = {:?}\npassword_env = \"IMAP_PASSWORD\"\nmailbox = {:?}\nafter_ingest = {after}\nidle = {}\npoll_interval = \"{}ms\"\nbatch_size = {}\n",
            e.name,
            e.host,
            e.port,
            e.username,
            e.mailbox,
            e.idle,
            e.poll_interval.as_millis(),
            e.batch_size,
        ));
    }
    out
}

/// A telegram channel as TOML; the token is read from `TELEGRAM_TOKEN`, a webhook secret from
/// `TELEGRAM_WEBHOOK_SECRET`.
fn telegram_toml(t: &TelegramConfig) -> String {
    let mode = match &t.mode {
        TelegramMode::Polling {
            timeout,
            delete_webhook,
        } => format!(
            "mode = \"polling\"\npoll_timeout = \"{}s\"\ndelete_webhook = {delete_webhook}\n",
            timeout.as_secs()
        ),
        TelegramMode::Webhook { url, .. } => format!(
            "mode = \"webhook\"\nwebhook_url = {url:?}\nwebhook_secret_env = \"TELEGRAM_WEBHOOK_SECRET\"\n"
        ),
    };
    let chats = match t.chats {
        TelegramChats::Private => "private",
        TelegramChats::All => "all",
    };
    format!(
        "\n[[channels]]\ntype = \"telegram\"\nname = {:?}\ntoken_env = \"TELEGRAM_TOKEN\"\n{mode}api_url = {:?}\nchats = \"{chats}\"\nmax_file_bytes = {}\nbatch_size = {}\n",
        t.name, t.api_url, t.max_file_bytes, t.batch_size,
    )
}

/// A polling telegram channel on `api_url` (the fake's), with test-friendly defaults.
pub fn telegram_channel(name: &str, api_url: &str) -> TelegramConfig {
    TelegramConfig {
        name: name.to_string(),
        token: Secret::new(crate::fake_telegram::TOKEN),
        mode: TelegramMode::Polling {
            timeout: Duration::from_secs(1),
            delete_webhook: false,
        },
        api_url: api_url.to_string(),
        chats: TelegramChats::Private,
        group_messages: GroupMessages::Mentions,
        max_file_bytes: 20 * 1024 * 1024,
        batch_size: 50,
        poison_after: 5,
    }
}

/// Writes [`config_toml`] to `dir/intake.toml` for the `intake` binary; returns its path.
pub fn write_config_toml(dir: &Path, config: &Config, http_port: u16) -> anyhow::Result<PathBuf> {
    let path = dir.join("intake.toml");
    std::fs::write(&path, config_toml(config, http_port))
        .with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}

/// The `intake` binary built next to the test executables (`target/<profile>/intake`); built
/// on demand when a test runs alone.
pub fn intake_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("current test executable")?;
    // target/<profile>/deps/<test> -> target/<profile>/intake
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("test executable is not inside target/<profile>/deps")?;
    let binary = profile_dir.join("intake");
    if !binary.is_file() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "intake-gateway", "--bin", "intake"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .context("cargo build of the intake binary")?;
        anyhow::ensure!(status.success(), "building the intake binary failed");
    }
    anyhow::ensure!(binary.is_file(), "no intake binary at {}", binary.display());
    Ok(binary)
}

/// A compiled JSON Schema from `docs/` (e.g. `case.schema.json`).
pub fn schema(name: &str) -> anyhow::Result<jsonschema::Validator> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let schema: serde_json::Value = serde_json::from_str(&text)?;
    jsonschema::validator_for(&schema).map_err(|e| anyhow::anyhow!("schema {name}: {e}"))
}

/// A plain HTTP/1.1 GET against the gateway's endpoints: `(status, body)`. Enough for tests,
/// without pulling an HTTP client into the workspace.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// A response to [`http_post`]: status, headers (lowercased names) and body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A plain HTTP/1.1 POST of `body` with extra `headers`, read to the end (`Connection: close`).
pub async fn http_post(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<HttpResponse> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").context("no header end")?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(HttpResponse {
        status,
        headers,
        body: body.to_string(),
    })
}
