//! Random mutations of corpus messages (a fixed seed, so a failure reproduces): truncation, byte
//! flips, duplicated and spliced header lines, inserted CR/LF/NUL and boundary lines. The
//! normalizer must never panic, and every case it returns keeps reply_text within text.
//!
//! `MUTATION_ROUNDS` (default 3 per corpus file) and `MUTATION_SEED` scale it up for a soak.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use intake_normalizer::email::{normalize_email_with, read_headers};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One random edit of `raw`.
fn mutate(rng: &mut StdRng, raw: &[u8]) -> Vec<u8> {
    let mut out = raw.to_vec();
    if out.is_empty() {
        return out;
    }
    let at = rng.random_range(0..out.len());
    match rng.random_range(0..7) {
        0 => out.truncate(at),
        1 => {
            for _ in 0..rng.random_range(1..16) {
                let i = rng.random_range(0..out.len());
                out[i] = rng.random();
            }
        }
        2 => {
            // Duplicate a header line (or any line) somewhere near the top.
            let start = out[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let end = out[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(out.len(), |p| at + p + 1);
            let line = out[start..end].to_vec();
            let to = rng.random_range(0..=start.min(2048));
            out.splice(to..to, line);
        }
        3 => {
            let junk: &[u8] = [
                &b"\r\n"[..],
                b"\0",
                b"\r",
                b"\n\n",
                b"=?utf-8?q?=00=0D=0A?=",
            ][rng.random_range(0..5)];
            out.splice(at..at, junk.iter().copied());
        }
        4 => {
            let line: &[u8] = [
                &b"\r\n--boundary\r\n"[..],
                b"\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n",
                b"\r\n> quoted\r\n",
                b"\r\nOn Mon, 1 Jul 2024 X <x@y> wrote:\r\n",
                b"\r\nFrom: a\r\nSent: b\r\nTo: c\r\n",
                b"\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
            ][rng.random_range(0..6)];
            out.splice(at..at, line.iter().copied());
        }
        5 => {
            // Repeat a slice: deep nesting and long lines.
            let len = rng.random_range(1..256).min(out.len() - at);
            let piece = out[at..at + len].repeat(rng.random_range(2..64));
            out.splice(at..at, piece);
        }
        _ => {
            let cut = rng.random_range(0..out.len());
            out.drain(at.min(cut)..at.max(cut));
        }
    }
    out
}

#[test]
fn mutated_corpus_messages_never_panic() {
    let seed = env_number("MUTATION_SEED", 0x1ea7_c0de);
    let rounds = env_number("MUTATION_ROUNDS", 3);
    let mut rng = StdRng::seed_from_u64(seed);
    let (ctx, options) = (common::ctx(), common::options());
    let mut executed = 0u64;
    let mut failures = Vec::new();
    for path in common::corpus_files(500) {
        let raw = std::fs::read(&path).expect("read corpus file");
        for round in 0..rounds {
            let mut input = mutate(&mut rng, &raw);
            if round % 2 == 1 {
                input = mutate(&mut rng, &input);
            }
            executed += 1;
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let result = normalize_email_with(&input, &ctx, &options);
                let _ = read_headers(&input);
                result
            }));
            match outcome {
                Err(_) => failures.push(format!("{} round {round}: panicked", path.display())),
                Ok(Ok(n)) => {
                    let body = &n.case.body;
                    if body
                        .reply_text
                        .as_ref()
                        .is_some_and(|r| r.len() > body.text.len())
                    {
                        failures.push(format!("{} round {round}: reply too long", path.display()));
                    }
                    serde_json::to_string(&n.case).expect("case serializes");
                }
                Ok(Err(_)) => {}
            }
        }
    }
    println!(
        "mutations: seed {seed:#x}, {executed} inputs, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
