//! Golden tests in the style of mail-parser's: each `fixtures/email/NAME.eml` sits next to
//! `NAME.json`, the expected case plus the sha256 of every blob. On a mismatch the actual output
//! is written to `NAME.failed` for diffing. `UPDATE_GOLDEN=1` rewrites the `.json` files (review
//! every change by eye before committing: the goldens must be right, not merely current).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use intake_normalizer::email::normalize_email_with;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/email")
}

/// What a golden file holds: the case exactly as serialized, and the blob hashes in order.
fn actual_output(raw: &[u8]) -> serde_json::Value {
    match normalize_email_with(raw, &common::ctx(), &common::options()) {
        Ok(normalized) => serde_json::json!({
            "case": normalized.case,
            "blobs": normalized.blobs.iter().map(|b| b.sha256.as_str()).collect::<Vec<_>>(),
        }),
        Err(error) => {
            serde_json::json!({ "error": error.to_string(), "reason": error.reason_code() })
        }
    }
}

#[test]
fn golden_email_fixtures() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut emls: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixture folder exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    emls.sort();
    assert!(
        !emls.is_empty(),
        "no .eml fixtures in {}",
        fixtures().display()
    );

    let schema = common::schema_validator("case.schema.json");
    let mut failed = Vec::new();
    for eml in &emls {
        let raw = std::fs::read(eml).expect("read fixture");
        let actual = actual_output(&raw);
        if let Some(case) = actual.get("case") {
            let problems = common::violations(&schema, case);
            assert!(
                problems.is_empty(),
                "{}: schema violations:\n{problems}",
                eml.display()
            );
        }
        let pretty = serde_json::to_string_pretty(&actual).expect("serialize") + "\n";
        let expected_path = eml.with_extension("json");
        let failed_path = eml.with_extension("failed");
        if update {
            std::fs::write(&expected_path, &pretty).expect("write golden");
            continue;
        }
        if expected(&expected_path).as_ref() == Some(&actual) {
            let _ = std::fs::remove_file(&failed_path);
        } else {
            std::fs::write(&failed_path, &pretty).expect("write .failed");
            failed.push(failed_path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "golden mismatches, actual output written to:\n{}",
        failed.join("\n")
    );
}

fn expected(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}
