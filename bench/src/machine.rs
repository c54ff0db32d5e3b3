//! The machine and the build a report comes from: cores, CPU model, memory, versions.

use std::fmt::Write as _;

use crate::cli::Settings;

/// A Markdown header describing the machine, the settings and the binaries.
pub fn describe(settings: &Settings) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']))
        })
        .unwrap_or("unknown")
        .to_string();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0 / 1024.0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let version = |program: &str, arg: &str| {
        std::process::Command::new(program)
            .arg(arg)
            .output()
            .ok()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
            .unwrap_or_else(|| "?".into())
    };
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let mut out = String::from("# Intake benchmark\n\n");
    let _ = writeln!(
        out,
        "- machine: {cores} cores, {model}, {mem_gib:.1} GiB RAM"
    );
    let _ = writeln!(
        out,
        "- servers: {}, {}; peer: {}",
        version("redis-server", "--version"),
        format_args!("dovecot {}", version("/usr/sbin/dovecot", "--version")),
        version(&settings.python, "--version")
    );
    let _ = writeln!(
        out,
        "- intake: {} (workspace HEAD {head})",
        settings.intake.display()
    );
    let _ = writeln!(
        out,
        "- settings: {} messages per mailbox, {} run(s) each side, seed {}, batch {}, corpus {}",
        settings.messages,
        settings.runs,
        settings.seed,
        settings.batch,
        settings.corpus.display()
    );
    out
}
