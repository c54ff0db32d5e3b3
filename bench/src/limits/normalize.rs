//! Intake's normalizer alone on the delivered messages: `normalize_email` + the case JSON, as
//! the gateway's prepare step does (without blob writes), on one thread and on every core.

use std::time::Instant;

use intake_normalizer::case::ImapSource;
use intake_normalizer::email::{EmailContext, normalize_email};

/// Messages per second through parse + case JSON.
#[derive(Debug, Clone, Copy)]
pub struct NormalizeRate {
    pub threads: usize,
    pub msgs: u64,
    pub ok: u64,
    pub secs: f64,
}

impl NormalizeRate {
    pub fn msgs_per_sec(&self) -> f64 {
        self.msgs as f64 / self.secs
    }
}

/// Normalizes every message of `messages` on `threads` threads (contiguous chunks).
pub fn normalize_rate(messages: &[Vec<u8>], threads: usize) -> NormalizeRate {
    let threads = threads.max(1);
    let chunk = messages.len().div_ceil(threads).max(1);
    let started = Instant::now();
    let ok: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = messages
            .chunks(chunk)
            .enumerate()
            .map(|(i, part)| scope.spawn(move || normalize_all(part, i * chunk)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    NormalizeRate {
        threads,
        msgs: messages.len() as u64,
        ok,
        secs: started.elapsed().as_secs_f64(),
    }
}

/// Returns how many became cases (the rest would be dead letters, also counted in the rate).
fn normalize_all(messages: &[Vec<u8>], first_uid: usize) -> u64 {
    let mut ok = 0;
    for (i, raw) in messages.iter().enumerate() {
        let uid = u32::try_from(first_uid + i + 1).unwrap_or(u32::MAX);
        let key = format!("email:bench@127.0.0.1:INBOX:1:{uid}");
        let ctx = EmailContext {
            channel_name: "bench",
            case_id: "0190b6a0-0000-7000-8000-000000000001",
            idempotency_key: &key,
            received_at: "2025-01-01T12:00:00Z",
            imap: Some(ImapSource {
                mailbox: "INBOX".into(),
                uidvalidity: 1,
                uid,
            }),
            raw_sha256: None,
        };
        if let Ok(normalized) = normalize_email(raw, &ctx)
            && let Ok(json) = serde_json::to_string(&normalized.case)
        {
            ok += 1;
            std::hint::black_box(json);
        }
    }
    ok
}
