//! Wiring the gateway to the harness's servers: typed configs for in-process gateways, TOML
//! files and the `intake` binary for child-process tests, and schema validation of entries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use intake_config::{
    AfterIngest, BlobsConfig, ChannelConfig, Config, ConversationsConfig, Durability, EmailConfig,
    HttpConfig, RedisConfig, Secret, TlsMode,
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
        channels: channels.into_iter().map(ChannelConfig::Email).collect(),
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
        // The typed configs the harness builds hold email channels only; push-channel tests
        // write their TOML themselves.
        let ChannelConfig::Email(e) = channel else {
            continue;
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
