//! `bench --push`: the push model under HTTP load. Intake's `api` channel (signed Standard
//! Webhooks deliveries, distinct ids) and `../shared/peers/python_webhook_to_redis.py` (aiohttp,
//! XADD, 200) each get the same load from the built-in generator (`load.rs`: 64 keep-alive
//! connections by default), alternating, in the same run; then the stream append path alone
//! (`limits::sink_rate`) for the ratio. Each run must end with exactly one entry per request.

mod load;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use intake_tests::RedisServer;
use intake_tests::push::{API_SECRET, api_headers, now};

use crate::cli::Settings;
use crate::measured::{Measured, Usage};
use crate::progress;
use load::{LoadResult, Prepared};

const CASES: &str = "intake:cases";
const PEER_STREAM: &str = "peer:cases";

/// One side's run under load.
#[derive(Debug)]
struct PushRun {
    side: &'static str,
    run: usize,
    load: LoadResult,
    usage: Usage,
}

/// A contact-form message of about 600 bytes, numbered.
fn form(i: usize) -> Vec<u8> {
    serde_json::json!({
        "sender": {"name": format!("Customer {i}"), "address": format!("customer{i}@example.com")},
        "subject": format!("Order {i} has not arrived"),
        "text": format!("Hello, my order {i} has not arrived yet. Could you check where it is? ").repeat(6),
    })
    .to_string()
    .into_bytes()
}

pub async fn bench_push(settings: &Settings) -> anyhow::Result<()> {
    progress("starting redis-server");
    let redis = RedisServer::start().await.context("start redis-server")?;
    let work = tempfile::Builder::new()
        .prefix("intake-bench-push-")
        .tempdir()
        .context("bench work dir")?;
    let mut runs = Vec::new();
    for run in 1..=settings.runs {
        let intake = run_intake(&redis, settings, work.path(), run).await?;
        progress(&describe(&intake));
        runs.push(intake);
        if settings.peer {
            let peer = run_peer(&redis, settings, work.path(), run).await?;
            progress(&describe(&peer));
            runs.push(peer);
        }
    }
    // Twice: in batches of at most `connections` entries, the most a push batch can hold
    // (one request in flight per connection), which is the like-for-like ceiling; and in the
    // email scenario's batches, for reference.
    let mut sink = Vec::new();
    for batch in [settings.connections, settings.batch] {
        progress(&format!("limits: sink alone, batch {batch}"));
        let rate =
            crate::limits::sink_rate(&redis, work.path(), settings.sink_cases, batch).await?;
        sink.push((batch, rate.cases_per_sec()));
    }
    println!("{}", render(&runs, &sink, settings));
    println!(
        "bench: complete: every push run wrote exactly its {} entries, one per request",
        settings.requests
    );
    Ok(())
}

fn describe(r: &PushRun) -> String {
    format!(
        "push run {} {}: {} requests in {:.2} s = {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, peak RSS {:.1} MiB, 503s retried {}: complete",
        r.run,
        r.side,
        r.load.requests,
        r.load.secs,
        r.load.per_sec(),
        r.load.quantile_ms(0.5),
        r.load.quantile_ms(0.99),
        r.usage.max_rss_kib as f64 / 1024.0,
        r.load.refused
    )
}

/// Empties Redis for one side's run and gives it a work dir and a free loopback address.
async fn fresh_side(
    redis: &RedisServer,
    work: &Path,
    side: &str,
    run: usize,
) -> anyhow::Result<(PathBuf, SocketAddr)> {
    let mut conn = redis.connection().await?;
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut conn)
        .await
        .context("FLUSHALL")?;
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async::<()>(&mut conn)
        .await
        .context("CONFIG RESETSTAT")?;
    let dir = work.join(format!("{side}-{run}"));
    std::fs::create_dir_all(&dir)?;
    let port = intake_tests::free_port()?;
    Ok((dir, ([127, 0, 0, 1], port).into()))
}

/// Fails unless `stream` holds exactly one entry per request.
async fn expect_entries(redis: &RedisServer, stream: &str, requests: usize) -> anyhow::Result<()> {
    let xlen = redis.stream_len(stream).await?;
    anyhow::ensure!(
        xlen == requests as u64,
        "{stream} holds {xlen} entries, expected {requests}"
    );
    Ok(())
}

async fn run_intake(
    redis: &RedisServer,
    settings: &Settings,
    work: &Path,
    run: usize,
) -> anyhow::Result<PushRun> {
    let (dir, addr) = fresh_side(redis, work, "intake", run).await?;
    // One runtime thread for the HTTP server (the channel worker has a thread of its own): the
    // two cores are shared with Redis and the load generator. Before the worker had its own
    // thread, one served 16-23 % more requests per second than two; since, the two are within
    // the VM's noise (BENCHMARKS.md), and one keeps the runs comparable with the earlier ones.
    let config = format!(
        "[redis]\nurl = {:?}\n\n[http]\nlisten = \"{addr}\"\n\n[runtime]\nworker_threads = 1\n\n[blobs]\ndir = {:?}\n\n[[channels]]\ntype = \"api\"\nname = \"bench\"\nsecret_env = \"API_SECRET\"\n",
        redis.url(),
        dir.join("blobs").display().to_string(),
    );
    let config_path = dir.join("intake.toml");
    std::fs::write(&config_path, config)?;
    // BENCH_INTAKE_LOG=info keeps Intake's per-batch log lines (copied to the work dir's
    // parent as push-intake-<run>.log) for profiling; the default logs warnings only.
    let log_filter = std::env::var("BENCH_INTAKE_LOG").unwrap_or_else(|_| "warn".into());
    let child = Measured::spawn(
        &settings.intake,
        &[
            "run".into(),
            "--config".into(),
            config_path.display().to_string(),
        ],
        &[("API_SECRET", API_SECRET), ("RUST_LOG", &log_filter)],
        &dir.join("intake.stdout"),
        &dir.join("intake.stderr"),
    )
    .await?;
    wait_ready(addr, "/readyz").await?;
    let requests = settings.requests;
    let load = load::run(addr, settings.connections, requests, |i| {
        let body = form(i);
        let headers = api_headers(&format!("bench-{i}"), now(), &body);
        Prepared {
            path: "/webhooks/bench".into(),
            headers,
            body,
        }
    })
    .await;
    child.terminate()?;
    let (usage, _) = child.finish().await?;
    if std::env::var_os("BENCH_INTAKE_LOG").is_some() {
        let kept = std::env::temp_dir().join(format!("push-intake-{run}.log"));
        std::fs::copy(dir.join("intake.stderr"), &kept).ok();
        progress(&format!("intake log kept in {}", kept.display()));
    }
    let load =
        load.with_context(|| format!("intake log: {}", dir.join("intake.stderr").display()))?;
    expect_entries(redis, CASES, requests).await?;
    report_redis_commands(redis, "intake", run).await?;
    std::fs::remove_dir_all(dir.join("blobs")).ok();
    Ok(PushRun {
        side: "intake",
        run,
        load,
        usage,
    })
}

async fn run_peer(
    redis: &RedisServer,
    settings: &Settings,
    work: &Path,
    run: usize,
) -> anyhow::Result<PushRun> {
    let (dir, addr) = fresh_side(redis, work, "peer", run).await?;
    let args = [
        settings.webhook_peer_script.display().to_string(),
        "--port".into(),
        addr.port().to_string(),
        "--redis-url".into(),
        redis.url(),
        "--stream".into(),
        PEER_STREAM.into(),
    ];
    let child = Measured::spawn(
        Path::new(&settings.python),
        &args,
        &[],
        &dir.join("peer.stdout"),
        &dir.join("peer.stderr"),
    )
    .await?;
    wait_ready(addr, "/").await?;
    let requests = settings.requests;
    let load = load::run(addr, settings.connections, requests, |i| Prepared {
        path: "/intake/bench".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: form(i),
    })
    .await;
    child.terminate()?;
    let (usage, _) = child.finish().await?;
    let load = load.with_context(|| format!("peer log: {}", dir.join("peer.stderr").display()))?;
    expect_entries(redis, PEER_STREAM, requests).await?;
    report_redis_commands(redis, "peer", run).await?;
    Ok(PushRun {
        side: "peer",
        run,
        load,
        usage,
    })
}

/// With `BENCH_REDIS_STATS` set, prints what the side's run cost Redis per command (calls and
/// microseconds, nested script calls included): where Redis' time per request goes.
async fn report_redis_commands(redis: &RedisServer, side: &str, run: usize) -> anyhow::Result<()> {
    if std::env::var_os("BENCH_REDIS_STATS").is_none() {
        return Ok(());
    }
    let stats = redis.info("commandstats").await?;
    progress(&format!("redis commands of {side} run {run}:\n{stats}"));
    Ok(())
}

/// Waits until `addr` answers HTTP on `path` (any status but a refused connection; Intake's
/// /readyz must say 200).
async fn wait_ready(addr: SocketAddr, path: &str) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((status, _)) = intake_tests::setup::http_get(addr, path).await
            && (status == 200 || path != "/readyz")
        {
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "{addr} not ready within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The table of runs and the ratios; `sink` holds (batch, cases/s) of the append-alone runs,
/// the like-for-like one first.
fn render(runs: &[PushRun], sink: &[(usize, f64)], settings: &Settings) -> String {
    let mut out = format!(
        "## Push (api channel) under load: {} requests, {} connections\n\n| side | run | requests/s | p50 ms | p99 ms | peak RSS MiB | CPU s | 503s retried |\n|---|---|---|---|---|---|---|---|\n",
        settings.requests, settings.connections
    );
    for r in runs {
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.2} | {} |\n",
            r.side,
            r.run,
            r.load.per_sec(),
            r.load.quantile_ms(0.5),
            r.load.quantile_ms(0.99),
            r.usage.max_rss_kib as f64 / 1024.0,
            r.usage.cpu_secs,
            r.load.refused
        ));
    }
    let of = |side: &str, f: &dyn Fn(&PushRun) -> f64| {
        median(runs.iter().filter(|r| r.side == side).map(f).collect())
    };
    let intake_rate = of("intake", &|r| r.load.per_sec());
    let intake_p99 = of("intake", &|r| r.load.quantile_ms(0.99));
    out.push_str(&format!(
        "\nMedians: intake {intake_rate:.0} requests/s, p99 {intake_p99:.2} ms (target <= 25 ms).\n"
    ));
    for (i, (batch, rate)) in sink.iter().enumerate() {
        let judged = if i == 0 {
            "like for like: target >= 0.5"
        } else {
            "for reference"
        };
        out.push_str(&format!(
            "Stream append alone, batch {batch}: {rate:.0} cases/s; intake is {:.2}x of it ({judged}).\n",
            intake_rate / rate
        ));
    }
    if runs.iter().any(|r| r.side == "peer") {
        let peer_rate = of("peer", &|r| r.load.per_sec());
        out.push_str(&format!(
            "Peer {peer_rate:.0} requests/s: intake is {:.1}x the peer (target >= 5x).\n",
            intake_rate / peer_rate
        ));
    }
    out
}
