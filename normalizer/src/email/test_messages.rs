//! The messages the email unit tests compare parses on: the normalizer's fixtures and, when it
//! is beside the workspace, the shared corpus (BENCHMARKS.md's full mix).

use std::path::{Path, PathBuf};

/// Every `.eml` of the fixtures, then of the corpus, with its path. Panics without fixtures:
/// a test over none would pass by checking nothing.
pub(crate) fn fixtures_and_corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = eml_files(&root.join("tests/fixtures/email"));
    assert!(!all.is_empty(), "no fixtures");
    all.extend(eml_files(&root.join("../../shared/corpus/email")));
    all
}

fn eml_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "eml"))
        .filter_map(|p| std::fs::read(&p).ok().map(|raw| (p, raw)))
        .collect()
}
