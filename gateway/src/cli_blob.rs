//! `intake blob get`: writes one stored blob (a raw message or an attachment) to stdout, found
//! by the `sha256:<hex>` reference a case or dead letter carries. How an operator or a
//! downstream tool fetches a message's bytes now that blobs live in pack files.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use intake_gateway::blobs::BlobStore;

/// Parses the reference for clap, so a malformed one is a usage error (exit 2).
pub fn parse_reference(reference: &str) -> Result<String, String> {
    intake_gateway::blobs::parse_reference(reference).map_err(|e| e.to_string())
}

/// Exit status when the blob directory does not exist: a wrong argument or config, not a
/// blob that is missing from a store.
const EXIT_NO_DIR: u8 = 2;

/// Copies the blob named `sha256` under `dir` to stdout; exit 1 when it is absent or damaged,
/// 2 when `dir` is not a directory.
pub fn get(dir: &Path, sha256: &str) -> anyhow::Result<ExitCode> {
    // An empty store and a mistyped folder would otherwise both say "not found".
    if !dir.is_dir() {
        let what = if dir.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        eprintln!("error: blob directory {} {what}", dir.display());
        return Ok(ExitCode::from(EXIT_NO_DIR));
    }
    match BlobStore::new(dir).get(sha256)? {
        Some(bytes) => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("blob sha256:{sha256} not found in {}", dir.display());
            Ok(ExitCode::FAILURE)
        }
    }
}
