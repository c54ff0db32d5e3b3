//! Shared test helpers: a fixed delivery context and the JSON Schemas from docs/.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use intake_normalizer::case::ImapSource;
use intake_normalizer::email::{EmailContext, EmailOptions};

pub const CASE_ID: &str = "0190b6a0-0000-7000-8000-000000000001";
pub const IDEMPOTENCY_KEY: &str = "email:support@example.com:INBOX:1700000000:42";
pub const RECEIVED_AT: &str = "2024-07-01T12:00:00Z";

/// The context every golden and corpus test uses, so outputs are reproducible.
pub fn ctx() -> EmailContext<'static> {
    EmailContext {
        channel_name: "support-inbox",
        case_id: CASE_ID,
        idempotency_key: IDEMPOTENCY_KEY,
        received_at: RECEIVED_AT,
        imap: Some(ImapSource {
            mailbox: "INBOX".into(),
            uidvalidity: 1_700_000_000,
            uid: 42,
        }),
        raw_sha256: None,
    }
}

/// The authserv-id the fixtures' trusted `Authentication-Results` headers name.
pub const AUTHSERV_ID: &str = "mx.support.example.com";

/// The options golden and corpus tests use: default subject tags, all languages, and trust in
/// the fixtures' own receiving server.
pub fn options() -> EmailOptions<'static> {
    EmailOptions {
        authserv_id: Some(AUTHSERV_ID),
        ..EmailOptions::default()
    }
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A compiled validator for `docs/<name>`.
pub fn schema_validator(name: &str) -> jsonschema::Validator {
    let path = workspace_root().join("docs").join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("{name} is not a valid schema: {e}"))
}

/// Every schema violation of `instance`, one per line (empty when valid).
pub fn violations(validator: &jsonschema::Validator, instance: &serde_json::Value) -> String {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The .eml files of the shared corpus (`../shared/corpus/email` beside the workspace), sorted;
/// fails when fewer than `min` are there, so a missing corpus never passes silently.
pub fn corpus_files(min: usize) -> Vec<PathBuf> {
    let dir = workspace_root().join("../shared/corpus/email");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus directory {} is missing: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= min,
        "corpus {} has only {} .eml files, expected at least {min}",
        dir.display(),
        files.len()
    );
    files
}
