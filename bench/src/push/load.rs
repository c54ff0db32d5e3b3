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
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;

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

/// One request as sent: its headers parsed and its body shared, so a retry or the send itself
/// copies nothing.
struct Ready {
    path: String,
    headers: hyper::HeaderMap,
    body: Bytes,
}

impl Ready {
    fn of(prepared: Prepared, addr: SocketAddr) -> anyhow::Result<Ready> {
        let mut headers = hyper::HeaderMap::new();
        headers.insert(header::HOST, addr.to_string().parse()?);
        headers.insert(header::CONTENT_LENGTH, prepared.body.len().into());
        for (name, value) in &prepared.headers {
            headers.insert(
                header::HeaderName::from_bytes(name.as_bytes())?,
                value.parse()?,
            );
        }
        Ok(Ready {
            path: prepared.path,
            headers,
            body: Bytes::from(prepared.body),
        })
    }
}

/// Sends `requests` requests made by `make(i)` to `addr` over `connections` connections.
/// Every request is made (and signed) before the clock starts, as wrk or oha would send
/// prebuilt requests: the generator shares the machine with the server measured, so what it
/// spends per request is taken from that server.
pub async fn run<F>(
    addr: SocketAddr,
    connections: usize,
    requests: usize,
    make: F,
) -> anyhow::Result<LoadResult>
where
    F: Fn(usize) -> Prepared,
{
    let ready: Vec<Ready> = (0..requests)
        .map(|i| Ready::of(make(i), addr))
        .collect::<anyhow::Result<_>>()?;
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

async fn connection(
    addr: SocketAddr,
    ready: &[Ready],
    next: &AtomicUsize,
    refused: &AtomicU64,
) -> anyhow::Result<Vec<Duration>> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect {addr}"))?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut latencies = Vec::new();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(one) = ready.get(i) else {
            return Ok(latencies);
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut request = Request::post(one.path.as_str()).body(Full::new(one.body.clone()))?;
            *request.headers_mut() = one.headers.clone();
            let sent = Instant::now();
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            response.into_body().collect().await?;
            match status {
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
