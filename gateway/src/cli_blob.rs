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

/// Copies the blob named `sha256` under `dir` to stdout; exit 1 when it is absent or damaged.
pub fn get(dir: &Path, sha256: &str) -> anyhow::Result<ExitCode> {
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
