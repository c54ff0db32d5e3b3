//! Rough normalize throughput over the shared email corpus, single thread:
//! `cargo run --release -p intake-normalizer --example corpus_throughput [DIR] [ROUNDS] [LANGS]`.
//! LANGS (e.g. `en,de,sv,fr,es`) restricts language detection the way a deployment can.
//! BENCHMARKS.md runs it on the corpus (the full mix) and on a directory of its messages of at
//! most 8 KB (the small mix) for the normalizer-alone figures and the profiles.
//! Files are read into memory first so only normalization (parse, decode, sanitize, hash) is
//! timed; the case is serialized too, because the gateway always does that next.

mod corpus;

use std::time::Instant;

use intake_normalizer::email::{EmailOptions, normalize_email_with};
use intake_normalizer::language::LanguageDetector;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = corpus::dir(args.next());
    let rounds: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(20);
    let languages = match args.next() {
        Some(list) => LanguageDetector::only(&list.split(',').collect::<Vec<_>>())?,
        None => LanguageDetector::all().clone(),
    };
    let options = EmailOptions {
        languages: &languages,
        ..EmailOptions::default()
    };

    let messages = corpus::messages(&dir)?
        .iter()
        .map(std::fs::read)
        .collect::<Result<Vec<_>, _>>()?;
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let ctx = corpus::context();

    let (mut ok, mut json_bytes) = (0usize, 0usize);
    let start = Instant::now();
    for _ in 0..rounds {
        for raw in &messages {
            if let Ok(normalized) = normalize_email_with(raw, &ctx, &options) {
                ok += 1;
                json_bytes += serde_json::to_vec(&normalized.case)?.len();
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let total = messages.len() * rounds;
    println!(
        "{} messages x {rounds} rounds: {ok}/{total} ok, {:.0} msgs/s, {:.1} MB/s in, {:.1} MB JSON out",
        messages.len(),
        total as f64 / elapsed,
        (bytes * rounds) as f64 / elapsed / 1e6,
        json_bytes as f64 / 1e6,
    );
    Ok(())
}
