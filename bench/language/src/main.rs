//! Language detectors side by side on the labelled sentences of `tests/data/language`:
//! accuracy, wrong answers and nulls on the messages of at least 40 letters (and on the short
//! ones), µs per message and the memory each detector adds.
//!
//! `cargo run --release` (in `bench/language/`) runs every candidate in a child process of its
//! own (`--candidate NAME`), so each one's peak RSS is its own, and prints a Markdown table.

mod candidates;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use candidates::Candidate;

/// The languages of the labelled set, as ISO 639-1.
const LANGUAGES: [&str; 12] = [
    "en", "de", "sv", "fr", "es", "nl", "it", "pt", "da", "nb", "fi", "pl",
];

/// Timed passes over every sentence after the warm-up pass.
const PASSES: usize = 5;

/// One labelled message.
struct Labelled {
    code: &'static str,
    text: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/language");
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, name] if flag == "--candidate" => run_child(&data, name),
        [] => run_all(),
        _ => Err("usage: intake-language-bench [--candidate NAME]".into()),
    }
}

/// Runs every candidate in its own process and prints the table.
fn run_all() -> Result<(), Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    println!(
        "| detector | languages | correct | wrong | null | short: correct / wrong / null | µs per message | memory MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for candidate in Candidate::ALL {
        let out = Command::new(&exe)
            .args(["--candidate", candidate.name()])
            .output()?;
        if !out.status.success() {
            eprintln!(
                "{}: failed: {}",
                candidate.name(),
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Measures one candidate and prints its table row (and its misses on stderr).
fn run_child(data: &Path, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let candidate = Candidate::ALL
        .into_iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| format!("unknown candidate {name}"))?;
    let (long, short) = load(data)?;
    let rss_before = rss_kib()?;
    let detector = candidate.build();

    let mut tally = Tally::default();
    for message in &long {
        let answer = detector.detect(&message.text);
        if tally.add(message.code, answer) {
            eprintln!(
                "{name}: {} -> {answer:?}: {}",
                message.code,
                cut(&message.text)
            );
        }
    }
    let mut short_tally = Tally::default();
    for message in &short {
        short_tally.add(message.code, detector.detect(&message.text));
    }

    let started = Instant::now();
    let mut seen = 0usize;
    for _ in 0..PASSES {
        for message in long.iter().chain(&short) {
            seen += usize::from(std::hint::black_box(detector.detect(&message.text)).is_some());
        }
    }
    std::hint::black_box(seen);
    let micros =
        started.elapsed().as_secs_f64() * 1e6 / (PASSES * (long.len() + short.len())) as f64;
    let peak = peak_rss_kib()?;
    println!(
        "| {name} | {} | {} | {} | {} | {} / {} / {} | {micros:.1} | {:.1} |",
        candidate.languages(),
        tally.percent(tally.correct),
        tally.percent(tally.wrong),
        tally.percent(tally.null),
        short_tally.correct,
        short_tally.wrong,
        short_tally.null,
        peak.saturating_sub(rss_before) as f64 / 1024.0,
    );
    Ok(())
}

#[derive(Default)]
struct Tally {
    correct: usize,
    wrong: usize,
    null: usize,
}

impl Tally {
    /// Counts one answer; true when it was wrong (not null).
    fn add(&mut self, expected: &str, answer: Option<&str>) -> bool {
        match answer {
            None => self.null += 1,
            Some(code) if code == expected => self.correct += 1,
            Some(_) => {
                self.wrong += 1;
                return true;
            }
        }
        false
    }

    fn percent(&self, count: usize) -> String {
        let total = self.correct + self.wrong + self.null;
        format!(
            "{:.1} % ({count}/{total})",
            100.0 * count as f64 / total.max(1) as f64
        )
    }
}

/// The long (`<code>.txt`) and short (`short.tsv`) labelled messages.
fn load(dir: &Path) -> Result<(Vec<Labelled>, Vec<Labelled>), Box<dyn std::error::Error>> {
    let mut long = Vec::new();
    for code in LANGUAGES {
        let text = std::fs::read_to_string(dir.join(format!("{code}.txt")))?;
        long.extend(lines(&text).map(|line| Labelled {
            code,
            text: line.to_owned(),
        }));
    }
    let mut short = Vec::new();
    for line in lines(&std::fs::read_to_string(dir.join("short.tsv"))?) {
        let (code, text) = line.split_once('\t').ok_or("short.tsv: no tab")?;
        let code = LANGUAGES
            .into_iter()
            .find(|c| *c == code)
            .ok_or("short.tsv: unknown code")?;
        short.push(Labelled {
            code,
            text: text.to_owned(),
        });
    }
    Ok((long, short))
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn cut(text: &str) -> String {
    text.chars().take(70).collect()
}

/// Resident set size now, from /proc/self/statm.
fn rss_kib() -> Result<u64, Box<dyn std::error::Error>> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm.split_whitespace().nth(1).ok_or("statm")?.parse()?;
    Ok(pages * 4)
}

/// Peak resident set size of this process.
fn peak_rss_kib() -> Result<u64, Box<dyn std::error::Error>> {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)?;
    Ok(u64::try_from(usage.max_rss()).unwrap_or(0))
}
