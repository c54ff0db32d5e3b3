//! Start-up checks of a config that only the gateway's own parts can make: whether the Redis
//! client accepts the URL, whether the language detector knows each configured language,
//! whether the subject tags compile as the normalizer compiles them, whether the blob
//! directory can be a directory at all.
//!
//! `intake config check`, `run` and `check` hand [`check`] to config loading (so these problems
//! are reported with the others, by key path), and [`crate::Gateway::start`] runs it first, so
//! whatever `run` would refuse at start-up, `config check` refuses too. What only the moment
//! of starting can tell (a port taken, a blob directory not creatable for lack of permission)
//! stays with `run`.

use std::path::Path;

use intake_config::{Config, ConfigError};
use intake_normalizer::email::SubjectTag;
use intake_normalizer::language::LanguageDetector;

/// Every problem found, each at its key path; empty when the gateway can start on `config`.
/// Pure apart from looking at the blob directory's path; never touches the network.
pub fn check(config: &Config) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    let mut problem = |path: String, message: String| problems.push(ConfigError { path, message });
    // The client parses the URL (port range, database number, query); the error names what is
    // wrong without echoing the URL, which may carry a password.
    if let Err(e) = redis::Client::open(config.redis.url.expose()) {
        problem(
            "redis.url".into(),
            format!("the Redis client does not accept it: {e}"),
        );
    }
    for (i, code) in config.conversations.languages.iter().flatten().enumerate() {
        if LanguageDetector::only(std::slice::from_ref(code)).is_err() {
            problem(
                format!("conversations.languages[{i}]"),
                format!("{code:?} is not a language the detector knows"),
            );
        }
    }
    for (i, tag) in config
        .conversations
        .subject_tags
        .iter()
        .flatten()
        .enumerate()
    {
        if let Err(e) = SubjectTag::new(&tag.name, &tag.pattern) {
            problem(
                format!("conversations.subject_tags[{i}].pattern"),
                format!("invalid regular expression: {e}"),
            );
        }
    }
    if let Some(message) = blob_dir_problem(&config.blobs.dir) {
        problem("blobs.dir".into(), message);
    }
    problems
}

/// The blob directory is created at start-up when missing, which fails when it, or the
/// nearest part of its path that exists, is not a directory.
fn blob_dir_problem(dir: &Path) -> Option<String> {
    let existing = dir.ancestors().find(|p| p.exists())?;
    if existing.is_dir() {
        return None;
    }
    Some(if existing == dir {
        format!("{} exists and is not a directory", dir.display())
    } else {
        format!(
            "{} cannot be created: {} is not a directory",
            dir.display(),
            existing.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_dir_under_a_file_is_refused() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("file");
        std::fs::write(&file, "x")?;
        assert!(blob_dir_problem(dir.path()).is_none());
        assert!(blob_dir_problem(&dir.path().join("new/blobs")).is_none());
        let message = blob_dir_problem(&file).unwrap_or_default();
        assert!(message.contains("is not a directory"), "{message}");
        let message = blob_dir_problem(&file.join("blobs")).unwrap_or_default();
        assert!(message.contains("cannot be created"), "{message}");
        Ok(())
    }
}
