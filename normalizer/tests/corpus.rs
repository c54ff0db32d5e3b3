//! Every message of the shared corpus goes through the normalizer: never a panic, every case
//! valid against docs/case.schema.json and stable through a JSON round trip, reply_text never
//! longer than text, every failure a typed error that still yields a valid dead letter.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use intake_normalizer::case::{ChannelKind, ChannelRef, Source};
use intake_normalizer::email::{normalize_email_with, read_headers};
use intake_normalizer::{Case, DeadLetter, NormalizeError, sha256_hex};

const MIN_CORPUS_FILES: usize = 500;

#[test]
fn every_corpus_message_becomes_a_valid_case_or_a_typed_error() {
    let files = common::corpus_files(MIN_CORPUS_FILES);
    let case_schema = common::schema_validator("case.schema.json");
    let dead_schema = common::schema_validator("dead_letter.schema.json");
    let ctx = common::ctx();
    let options = common::options();
    let (mut ok, mut err, mut failures) = (0usize, 0usize, Vec::new());

    for path in &files {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let raw = std::fs::read(path).expect("read corpus file");
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            normalize_email_with(&raw, &ctx, &options)
        }));
        match outcome {
            Err(_) => failures.push(format!("{name}: normalize_email panicked")),
            Ok(Ok(normalized)) => {
                ok += 1;
                let body = &normalized.case.body;
                if body
                    .reply_text
                    .as_ref()
                    .is_some_and(|r| r.len() > body.text.len())
                {
                    failures.push(format!("{name}: reply_text is longer than text"));
                }
                let json = serde_json::to_value(&normalized.case).expect("case serializes");
                let problems = common::violations(&case_schema, &json);
                if !problems.is_empty() {
                    failures.push(format!("{name}: schema violations:\n{problems}"));
                }
                let back: Case = serde_json::from_value(json).expect("case deserializes");
                if back != normalized.case {
                    failures.push(format!("{name}: case changed through a JSON round trip"));
                }
                if normalized.blobs.first().map(|b| b.bytes.as_ref()) != Some(raw.as_slice()) {
                    failures.push(format!("{name}: the raw message is not the first blob"));
                }
                for blob in &normalized.blobs {
                    if sha256_hex(&blob.bytes) != blob.sha256 {
                        failures.push(format!("{name}: blob {} has the wrong hash", blob.sha256));
                    }
                }
            }
            Ok(Err(error)) => {
                err += 1;
                println!("err  {name}: {error}");
                check_dead_letter(&name, &raw, &error, &dead_schema, &mut failures);
            }
        }
    }
    println!("corpus: {} files, {ok} ok, {err} err", files.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A failed message must still make a dead letter that matches its schema.
fn check_dead_letter(
    name: &str,
    raw: &[u8],
    error: &NormalizeError,
    schema: &jsonschema::Validator,
    failures: &mut Vec<String>,
) {
    let headers = catch_unwind(|| read_headers(raw));
    let Ok(headers) = headers else {
        failures.push(format!("{name}: read_headers panicked"));
        return;
    };
    let dead = DeadLetter {
        schema_version: 1,
        event: intake_normalizer::dead_letter::DEAD_LETTER_EVENT.to_owned(),
        case_id: common::CASE_ID.to_owned(),
        idempotency_key: common::IDEMPOTENCY_KEY.to_owned(),
        channel: ChannelRef {
            kind: ChannelKind::Email,
            name: "support-inbox".to_owned(),
        },
        source: Source::default(),
        reason: error.reason_code().to_owned(),
        error: error.to_string(),
        headers,
        size: Some(raw.len() as u64),
        raw_ref: Some(format!("sha256:{}", sha256_hex(raw))),
        received_at: common::RECEIVED_AT.to_owned(),
    };
    let json = serde_json::to_value(&dead).expect("dead letter serializes");
    let problems = common::violations(schema, &json);
    if !problems.is_empty() {
        failures.push(format!(
            "{name}: dead letter schema violations:\n{problems}"
        ));
    }
}
