//! Config errors: every problem found in one pass, each with the key path it belongs to
//! (`redis.url`, `channels[1].password_env`), plus the mapping of TOML syntax errors to a line,
//! a column and a best-effort key path.

use std::collections::HashMap;
use std::fmt;

/// One problem with the config, at `path` (empty when it concerns the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Key path: `redis.url`, `channels[1].password_env`, `channels[0].after_ingest.move_to`.
    pub path: String,
    /// What is wrong and, where it helps, how to fix it. Never contains a secret.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in a config; `Display` prints one `path: message` line per error.
///
/// It also carries the warnings found on the way (secrets that were not set, when the caller
/// deferred them; see [`crate::SecretPolicy`]), which `Display` leaves out: a caller reporting
/// the errors can show them too.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.errors))]
pub struct ConfigErrors {
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
}

fn render(errors: &[ConfigError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

impl ConfigErrors {
    /// A single error, e.g. for a config file that cannot be read.
    pub fn single(path: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = ConfigErrors::default();
        errors.push(path, message);
        errors
    }

    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }

    /// Problems that do not make the config invalid for the caller (deferred secrets).
    pub fn warnings(&self) -> &[ConfigError] {
        &self.warnings
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Always false: a broken config stays broken until someone edits it (or sets the missing
    /// variable), so retrying is pointless.
    pub fn is_transient(&self) -> bool {
        false
    }

    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            path: path.into(),
            message: message.into(),
        });
    }

    pub(crate) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(ConfigError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Whether an error was already recorded at exactly `path`.
    pub(crate) fn has_error_at(&self, path: &str) -> bool {
        self.errors.iter().any(|e| e.path == path)
    }

    /// `Ok(value)` when nothing was collected, otherwise all collected errors.
    /// Errors are grouped by section in file order (redis, http, blobs, channels[0],
    /// channels[1], ...), keeping the order they were found in within each section.
    #[cfg(test)]
    pub(crate) fn into_result<T>(self, value: T) -> Result<T, ConfigErrors> {
        self.into_result_with_warnings(value)
            .map(|(value, _)| value)
    }

    /// Like [`ConfigErrors::into_result`], handing back the warnings on success.
    pub(crate) fn into_result_with_warnings<T>(
        mut self,
        value: T,
    ) -> Result<(T, Vec<ConfigError>), ConfigErrors> {
        self.warnings.sort_by_cached_key(|e| section_rank(&e.path));
        if self.errors.is_empty() {
            return Ok((value, self.warnings));
        }
        self.errors.sort_by_cached_key(|e| section_rank(&e.path));
        Err(self)
    }

    /// A TOML syntax error, located by line and column, at the key path it falls under when
    /// that can be told from the surrounding lines.
    pub(crate) fn from_toml(input: &str, error: &toml::de::Error) -> Self {
        let message = error.message().trim().replace('\n', "; ");
        match error.span() {
            Some(span) => {
                let start = span.start.min(input.len());
                let (line, column) = line_column(input, start);
                let message =
                    format!("TOML syntax error at line {line}, column {column}: {message}");
                ConfigErrors::single(path_at(input, start), message)
            }
            None => ConfigErrors::single("", format!("TOML syntax error: {message}")),
        }
    }
}

/// Errors found outside this crate (a program's own start-up checks), in the same form.
impl FromIterator<ConfigError> for ConfigErrors {
    fn from_iter<I: IntoIterator<Item = ConfigError>>(iter: I) -> Self {
        let mut errors: Vec<ConfigError> = iter.into_iter().collect();
        errors.sort_by_cached_key(|e| section_rank(&e.path));
        ConfigErrors {
            errors,
            warnings: Vec::new(),
        }
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

/// `prefix.key`, or just `key` at the top level.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Sort key of a path's first segment: known sections in file order, channels by index,
/// anything else (unknown top-level keys) last, alphabetically.
fn section_rank(path: &str) -> (usize, usize, String) {
    const SECTIONS: &[&str] = &[
        "",
        "redis",
        "http",
        "blobs",
        "conversations",
        "runtime",
        "channels",
    ];
    let head = path.split('.').next().unwrap_or("");
    let (name, index) = match head.split_once('[') {
        Some((name, rest)) => (name, rest.trim_end_matches(']').parse().unwrap_or(0)),
        None => (head, 0),
    };
    match SECTIONS.iter().position(|s| *s == name) {
        Some(rank) => (rank, index, String::new()),
        None => (SECTIONS.len(), 0, name.to_string()),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(input: &str, offset: usize) -> (usize, usize) {
    let before = input.get(..offset).unwrap_or(input);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Best-effort key path of the byte offset: the last `[table]` / `[[array]]` header above it
/// (array headers counted to get the index) plus the `key =` that starts its line. Good enough
/// for pointing a human at the right place; quoted and dotted keys are taken literally.
fn path_at(input: &str, offset: usize) -> String {
    let before = input.get(..offset).unwrap_or(input);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let mut table = String::new();
    let mut array_counts: HashMap<String, usize> = HashMap::new();
    for line in input[..line_start].lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.split("]]").next()) {
            let name = name.trim().to_string();
            let count = array_counts.entry(name.clone()).or_insert(0);
            *count += 1;
            table = format!("{name}[{}]", *count - 1);
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            let name = name.trim();
            // `[channels.after_ingest]` below `[[channels]]` belongs to the latest element.
            table = match name.split_once('.') {
                Some((head, rest)) if array_counts.contains_key(head) => {
                    format!("{head}[{}].{rest}", array_counts[head] - 1)
                }
                _ => name.to_string(),
            };
        }
    }
    let line = input[line_start..].lines().next().unwrap_or("");
    match line.split_once('=') {
        Some((key, _)) if is_bare_key(key.trim()) => join(&table, key.trim()),
        _ => table,
    }
}

fn is_bare_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_per_error() {
        let mut errors = ConfigErrors::default();
        errors.push("redis.url", "bad");
        errors.push("", "whole file");
        assert_eq!(errors.to_string(), "redis.url: bad\nwhole file");
        assert!(!errors.is_transient());
    }

    #[test]
    fn locates_offsets() {
        let input = "[redis]\nurl = 1\n[[channels]]\nname = 'a'\n[[channels]]\nport = x\n";
        let offset = input.rfind('x').unwrap_or(0);
        assert_eq!(line_column(input, offset), (6, 8));
        assert_eq!(path_at(input, offset), "channels[1].port");
        let offset = input.find('1').unwrap_or(0);
        assert_eq!(path_at(input, offset), "redis.url");
    }

    #[test]
    fn subtable_of_array_element() {
        let input = "[[channels]]\n[[channels]]\n[channels.after_ingest]\nmove_to = ?\n";
        let offset = input.find('?').unwrap_or(0);
        assert_eq!(path_at(input, offset), "channels[1].after_ingest.move_to");
    }
}
