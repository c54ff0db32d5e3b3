//! What the corpus examples share: where the corpus is, its messages in file-name order, and
//! the one clock-free context every message is normalized with.

use std::path::PathBuf;

use intake_normalizer::email::EmailContext;

/// The corpus directory from the first argument, else `../shared/corpus/email`.
pub fn dir(arg: Option<String>) -> String {
    arg.unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/email").to_owned()
    })
}

/// The `.eml` files of `dir`, in file-name order.
pub fn messages(dir: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "eml") {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// The same context for every message: nothing in a case then depends on the clock.
pub fn context() -> EmailContext<'static> {
    EmailContext {
        channel_name: "bench",
        case_id: "0190b6a0-0000-7000-8000-000000000001",
        idempotency_key: "email:bench:INBOX:1:1",
        received_at: "2024-07-01T12:00:00Z",
        imap: None,
        raw_sha256: None,
    }
}
