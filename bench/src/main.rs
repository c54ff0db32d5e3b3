//! `bench`: Intake against its peers and the physical limits, on loopback servers it starts
//! itself (the test harness's redis-server and Dovecot). See BENCHMARKS.md.
//!
//! For each scenario (today: email, full mix and ≤ 8 KB mix) it alternates cold-start Intake
//! runs and peer runs, checks each run's output for completeness (exactly N entries, distinct
//! idempotency keys), then measures the limits and prints a Markdown report with the targets.
//! Only an incomplete run fails it; timing never does.

mod cli;
mod email;
mod env;
mod limits;
mod machine;
mod measured;
mod push;
mod report;
mod scenario;
mod targets;
mod telegram;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;

use crate::cli::{Cli, Command, Settings};
use crate::email::{EmailScenario, Mix};
use crate::env::Env;
use crate::report::Report;
use crate::scenario::{Scenario, Side};
use crate::telegram::TelegramScenario;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::ExecMeasured {
            stdout,
            stderr,
            program,
        }) => measured::exec_measured(&stdout, &stderr, &program),
        None => run(cli.options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: FAILED: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: cli::Options) -> anyhow::Result<()> {
    let settings = options.resolve()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?
        .block_on(bench(settings))
}

async fn bench(settings: Settings) -> anyhow::Result<()> {
    let extra_sizes: Vec<usize> = settings
        .sizes
        .iter()
        .copied()
        .filter(|&size| size != settings.messages)
        .collect();
    let mut users = vec!["full".to_string(), "small".to_string()];
    users.extend(extra_sizes.iter().map(|size| format!("full{size}")));
    println!("{}", machine::describe(&settings));
    if settings.sink_only {
        return bench_sink_only(&settings).await;
    }
    if settings.push {
        return push::bench_push(&settings).await;
    }
    progress("starting redis-server and dovecot");
    let env = Env::start(settings.clone(), &users).await?;
    let result = bench_in(&env, &settings, &extra_sizes).await;
    if result.is_err() {
        progress(&format!(
            "logs and configs kept in {}",
            env.keep_work_dir().display()
        ));
    }
    result
}

async fn bench_in(env: &Env, settings: &Settings, extra_sizes: &[usize]) -> anyhow::Result<()> {
    let mut scenarios = vec![
        Scenario::Email(EmailScenario::new(
            "full",
            Mix::Full,
            settings.messages,
            settings.seed,
        )),
        Scenario::Email(EmailScenario::new(
            "small",
            Mix::Small,
            settings.messages,
            settings.seed,
        )),
        Scenario::Telegram(TelegramScenario::new(settings.messages)),
    ];
    if let Some(only) = &settings.only {
        scenarios.retain(|s| s.label().starts_with(only.as_str()));
        anyhow::ensure!(
            !scenarios.is_empty(),
            "no scenario label starts with {only:?}"
        );
    }
    for scenario in &mut scenarios {
        progress(&format!("loading {}", scenario.label()));
        scenario.prepare(env).await?;
    }
    let mut report = Report::default();
    let sides: &[Side] = if settings.peer {
        &[Side::Intake, Side::Peer]
    } else {
        &[Side::Intake]
    };
    for run in 1..=settings.runs {
        for scenario in &scenarios {
            for &side in sides {
                let result = scenario.run(env, side, run).await.with_context(|| {
                    format!("{} run {run} ({})", scenario.label(), side.as_str())
                })?;
                progress(&format!(
                    "{} run {run} {}: {} msgs in {:.2} s = {:.0} msgs/s, peak RSS {:.1} MiB, CPU {:.2} s: complete",
                    result.scenario,
                    side.as_str(),
                    result.msgs,
                    result.secs,
                    result.msgs_per_sec(),
                    result.rss_mib(),
                    result.cpu_secs
                ));
                report.runs.push(result);
            }
        }
    }
    if settings.limits {
        measure_limits(env, &scenarios, &mut report).await?;
    }
    measure_sizes(env, settings, &scenarios, extra_sizes, &mut report).await?;
    println!("{}", report.render());
    if !settings.short {
        println!("{}", targets::render(&report));
    }
    println!(
        "bench: complete: every run wrote exactly its {} entries per mailbox with distinct idempotency keys",
        settings.messages
    );
    Ok(())
}

/// Raw fetch and normalizer-alone per email scenario, then the sink alone.
async fn measure_limits(
    env: &Env,
    scenarios: &[Scenario],
    report: &mut Report,
) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for scenario in scenarios {
        let Scenario::Email(email) = scenario else {
            continue;
        };
        progress(&format!("limits: {}", scenario.label()));
        let mut fetches = Vec::new();
        for _ in 0..env.settings.runs {
            let rate = limits::raw_fetch(env.dovecot.port(), &email.user).await?;
            anyhow::ensure!(
                rate.msgs == email.count as u64,
                "raw fetch got {} of {} messages",
                rate.msgs,
                email.count
            );
            fetches.push(rate);
        }
        report.fetch.push((scenario.label(), fetches));
        let messages = &email.messages;
        let (one, all) = tokio::task::block_in_place(|| {
            (
                limits::normalize_rate(messages, 1),
                limits::normalize_rate(messages, cores),
            )
        });
        report.normalize.push((scenario.label(), one, all));
    }
    let dir = env.fresh_dir("sink")?;
    for batch in [env.settings.batch, 2_000] {
        progress(&format!("limits: sink alone, batch {batch}"));
        report
            .sink
            .push(limits::sink_rate(&env.redis, &dir, env.settings.sink_cases, batch).await?);
    }
    progress("limits: redis without the script");
    report.redis_floor.push(
        limits::redis_floor_rate(
            &env.redis,
            &dir,
            env.settings.sink_cases,
            env.settings.batch,
        )
        .await?,
    );
    Ok(())
}

/// `--sink-only`: the stream append path alone against its own redis-server, `--runs` times
/// per batch size, alternating sizes so drift on a shared machine hits both alike; each run
/// ends with the same commands sent without the script (Redis' own cost).
async fn bench_sink_only(settings: &Settings) -> anyhow::Result<()> {
    progress("starting redis-server");
    let redis = intake_tests::RedisServer::start()
        .await
        .context("start redis-server")?;
    let dir = tempfile::Builder::new()
        .prefix("intake-bench-sink-")
        .tempdir()
        .context("bench work dir")?;
    let mut report = Report::default();
    for run in 1..=settings.runs {
        for batch in [settings.batch, 2_000] {
            let rate = limits::sink_rate(&redis, dir.path(), settings.sink_cases, batch).await?;
            progress(&format!(
                "sink alone run {run}, batch {batch}: {} cases in {:.2} s = {:.0} cases/s, CPU per case: redis-server {:.1} µs, bench {:.1} µs",
                rate.cases,
                rate.secs,
                rate.cases_per_sec(),
                rate.redis_us_per_case(),
                rate.client_us_per_case()
            ));
            report.sink.push(rate);
        }
        let floor =
            limits::redis_floor_rate(&redis, dir.path(), settings.sink_cases, settings.batch)
                .await?;
        progress(&format!(
            "redis without the script run {run}, batch {}: {:.0} cases/s, CPU per case: redis-server {:.1} µs, bench {:.1} µs",
            settings.batch,
            floor.cases_per_sec(),
            floor.redis_us_per_case(),
            floor.client_us_per_case()
        ));
        report.redis_floor.push(floor);
    }
    println!("{}", report.render());
    println!("{}", targets::render(&report));
    Ok(())
}

/// One Intake run per mailbox size on the full mix, for peak RSS.
async fn measure_sizes(
    env: &Env,
    settings: &Settings,
    scenarios: &[Scenario],
    extra_sizes: &[usize],
    report: &mut Report,
) -> anyhow::Result<()> {
    for &size in &settings.sizes {
        progress(&format!("peak RSS at {size} messages"));
        let result = if size == settings.messages {
            match scenarios.first() {
                Some(full) => full.run(env, Side::Intake, 0).await?,
                None => continue,
            }
        } else {
            anyhow::ensure!(extra_sizes.contains(&size), "size {size} has no mailbox");
            let mut email =
                EmailScenario::new(&format!("full{size}"), Mix::Full, size, settings.seed);
            email.prepare(env).await?;
            email.forget_messages();
            Scenario::Email(email).run(env, Side::Intake, 0).await?
        };
        report.sizes.push((size, result));
    }
    report.sizes.sort_by_key(|(size, _)| *size);
    Ok(())
}

/// Progress on stderr, stamped with the seconds since the bench started.
fn progress(message: &str) {
    static START: std::sync::LazyLock<std::time::Instant> =
        std::sync::LazyLock::new(std::time::Instant::now);
    eprintln!("bench [{:7.1}s]: {message}", START.elapsed().as_secs_f64());
}
