//! A small HTTP load generator: `connections` keep-alive HTTP/1.1 connections, each sending
//! one request at a time from a shared counter until `requests` have been answered 200. A
//! request refused with 503 is sent again (the push contract: retry until acknowledged), so
//! the rate counted is that of durable requests. Built in rather than oha or wrk, because each
//! request needs its own delivery id and, for Intake, its own signature, which neither varies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One request to send: path, headers, body.
pub struct Prepared {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a load run measured.
#[derive(Debug, Clone)]
pub struct LoadResult {
    pub requests: u64,
    pub secs: f64,
    /// Latency of each acknowledged request (its last attempt), sorted.
    pub latencies: Vec<Duration>,
    /// 503 answers that were retried.
    pub refused: u64,
}

impl LoadResult {
    pub fn per_sec(&self) -> f64 {
        self.requests as f64 / self.secs
    }

    /// The `q` quantile (0..=1) of the latencies, in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[index].as_secs_f64() * 1e3
    }
}

/// Sends `requests` requests made by `make(i)` to `addr` over `connections` connections.
/// Every request is made (signed and written out as HTTP/1.1 bytes) before the clock starts,
/// and the connections run on one thread of their own with a single-threaded runtime, as wrk
/// sends prebuilt requests from an event loop per thread: the generator shares the machine
/// with the server measured, so what it spends per request is taken from that server.
pub async fn run<F>(
    addr: SocketAddr,
    connections: usize,
    requests: usize,
    make: F,
) -> anyhow::Result<LoadResult>
where
    F: Fn(usize) -> Prepared,
{
    let ready: Vec<Vec<u8>> = (0..requests)
        .map(|i| encode(&make(i), addr))
        .collect::<anyhow::Result<_>>()?;
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("load".into())
        .spawn(move || {
            let generated = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("load runtime")
                .and_then(|runtime| runtime.block_on(drive(addr, connections, ready)));
            let _ = done.send(generated);
        })
        .context("load thread")?;
    result.await.context("load thread ended")?
}

/// The generator's event loop: every connection sends the next unsent request until none is
/// left.
async fn drive(
    addr: SocketAddr,
    connections: usize,
    ready: Vec<Vec<u8>>,
) -> anyhow::Result<LoadResult> {
    let requests = ready.len();
    let ready = Arc::new(ready);
    let next = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (ready, next, refused) = (ready.clone(), next.clone(), refused.clone());
        tasks.spawn(async move { connection(addr, &ready, &next, &refused).await });
    }
    let mut latencies = Vec::with_capacity(requests);
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined.context("load task")??);
    }
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        latencies.len() == requests,
        "{} of {requests} requests acknowledged",
        latencies.len()
    );
    latencies.sort();
    Ok(LoadResult {
        requests: requests as u64,
        secs,
        latencies,
        refused: refused.load(Ordering::Relaxed),
    })
}

/// `prepared` as the bytes of one HTTP/1.1 request on a keep-alive connection.
fn encode(prepared: &Prepared, addr: SocketAddr) -> anyhow::Result<Vec<u8>> {
    let mut head = format!(
        "POST {} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n",
        prepared.path,
        prepared.body.len()
    );
    for (name, value) in &prepared.headers {
        anyhow::ensure!(
            !name.contains(['\r', '\n']) && !value.contains(['\r', '\n']),
            "header {name} holds a line break"
        );
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&prepared.body);
    Ok(bytes)
}

async fn connection(
    addr: SocketAddr,
    ready: &[Vec<u8>],
    next: &AtomicUsize,
    refused: &AtomicU64,
) -> anyhow::Result<Vec<Duration>> {
    let mut stream = connect(addr).await?;
    let mut buffer = Vec::with_capacity(4096);
    let mut latencies = Vec::new();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(one) = ready.get(i) else {
            return Ok(latencies);
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let sent = Instant::now();
            stream.write_all(one).await?;
            let answer = read_response(&mut stream, &mut buffer).await?;
            if answer.close {
                stream = connect(addr).await?;
            }
            match answer.status {
                200 => {
                    latencies.push(sent.elapsed());
                    break;
                }
                503 if Instant::now() < deadline => {
                    refused.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => anyhow::bail!("request {i} answered {other}"),
            }
        }
    }
}

async fn connect(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect {addr}"))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// What the generator needs of a response.
struct Answer {
    status: u16,
    /// The server closes the connection after this response.
    close: bool,
}

/// Reads one response (head, then a `content-length` body) from `stream`. `buffer` keeps
/// nothing between calls: the client sends its next request only after the answer.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<Answer> {
    buffer.clear();
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head) = response.parse(buffer)? {
            let status = response.code.context("response without a status")?;
            let mut length = 0usize;
            let mut close = false;
            for h in response.headers.iter() {
                if h.name.eq_ignore_ascii_case("content-length") {
                    length = std::str::from_utf8(h.value)?.trim().parse()?;
                } else if h.name.eq_ignore_ascii_case("connection") {
                    close = h.value.eq_ignore_ascii_case(b"close");
                }
            }
            while buffer.len() < head + length {
                read_more(stream, buffer).await?;
            }
            return Ok(Answer { status, close });
        }
        read_more(stream, buffer).await?;
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<()> {
    buffer.reserve(4096);
    let read = stream.read_buf(buffer).await?;
    anyhow::ensure!(read > 0, "the server closed the connection mid-response");
    Ok(())
}
