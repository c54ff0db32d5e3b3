//! The shared email corpus (`shared/corpus/email`, real .eml messages) that every parser and
//! end-to-end test can run over.

use std::path::PathBuf;

use anyhow::Context as _;

/// `shared/corpus/email`, beside the repository checkout (CI clones the repo with `shared/` next
/// to it, as on developers' machines: `/work/main` and `/work/shared`).
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/email")
}

/// Every `*.eml` in [`corpus_dir`], sorted by path so test output is stable.
///
/// Errors when the folder is missing or empty: a corpus test over zero messages would pass while
/// proving nothing.
pub fn corpus_messages() -> anyhow::Result<Vec<PathBuf>> {
    let dir = corpus_dir();
    let entries =
        std::fs::read_dir(&dir).with_context(|| format!("read corpus dir {}", dir.display()))?;
    let mut messages = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("list {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "eml") && path.is_file() {
            messages.push(path);
        }
    }
    messages.sort();
    anyhow::ensure!(
        !messages.is_empty(),
        "no *.eml files in corpus dir {}",
        dir.display()
    );
    Ok(messages)
}
