//! Intake's configuration: TOML -> raw serde structs -> `validate()` -> typed [`Config`].
//!
//! Validation is pure apart from reading the environment and secret files: it never touches the
//! network, and it collects every error with its key path (`channels[1].password_env: ...`)
//! instead of stopping at the first.
//!
//! ```
//! let toml = r#"
//!     [[channels]]
//!     type = "email"
//!     name = "support"
//!     host = "imap.example.com"
//!     username = "support@example.com"
//!     password_env = "IMAP_PASSWORD"
//! "#;
//! let env = |name: &str| (name == "IMAP_PASSWORD").then(|| "s3cret".to_string());
//! let config = intake_config::parse_str(toml, &env).map_err(|e| e.to_string())?;
//! assert_eq!(config.channels[0].name(), "support");
//! # Ok::<(), String>(())
//! ```

mod error;
mod push;
mod raw;
mod types;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use error::{ConfigError, ConfigErrors};
pub use push::{PipeConfig, SmsConfig, WhatsappConfig};
pub use types::*;
pub use validate::signing_key;

/// What a secret that cannot be had (`*_env` variable unset or empty, `*_file` unreadable or
/// empty) means. Applies to every secret key alike (IMAP and Redis passwords today).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SecretPolicy {
    /// An error: for commands that use the secrets (`run`, `check`).
    #[default]
    Require,
    /// A warning with the same key path and message, and an empty placeholder in the config:
    /// for commands that never use them (`config check`, `tail`, `blob get`). A malformed secret
    /// key (both `_env` and `_file`, an empty name, an inline password) stays an error.
    Defer,
}

/// Checks a program adds to validation: things only it knows, such as which languages its
/// detector supports or which Redis URLs its client accepts.
pub type ExtraChecks = dyn Fn(&Config) -> Vec<ConfigError>;

/// How to load a config beyond the file itself.
#[derive(Clone, Copy, Default)]
pub struct LoadOptions<'a> {
    pub secrets: SecretPolicy,
    /// Run on the typed config after validation, even when validation found errors (every
    /// problem is reported at once); an extra error at a key path that already has one is
    /// dropped, since it is most likely the same problem seen through a placeholder.
    pub extra_checks: Option<&'a ExtraChecks>,
}

impl fmt::Debug for LoadOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadOptions")
            .field("secrets", &self.secrets)
            .field("extra_checks", &self.extra_checks.is_some())
            .finish()
    }
}

/// A valid config and the warnings found on the way (deferred secrets).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<ConfigError>,
}

impl Loaded {
    /// Turns the warnings at key paths under `prefix` (e.g. `"redis"`) into errors, for a
    /// command that deferred the secrets in general but needs that section's.
    pub fn require_secrets_under(self, prefix: &str) -> Result<Config, ConfigErrors> {
        let needed: Vec<ConfigError> = self
            .warnings
            .into_iter()
            .filter(|w| w.path == prefix || w.path.starts_with(&format!("{prefix}.")))
            .collect();
        if needed.is_empty() {
            Ok(self.config)
        } else {
            Err(needed.into_iter().collect())
        }
    }
}

/// Reads and validates the config file at `path`, taking secrets from the process environment
/// and from files relative to the current directory; every secret is required.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    load_file_with(path, LoadOptions::default()).map(|loaded| loaded.config)
}

/// [`load_file`] with a secret policy and extra checks. A relative `[blobs] dir` is taken from
/// the config file's folder.
pub fn load_file_with(path: &Path, options: LoadOptions<'_>) -> Result<Loaded, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors::single(
            "",
            format!("cannot read config file {}: {e}", path.display()),
        )
    })?;
    parse_str_with(
        &text,
        &|name| std::env::var(name).ok(),
        Some(&folder_of(path)),
        options,
    )
}

/// The folder holding the config file, absolute and without `..`, so a path resolved against
/// it reads unambiguously in logs. The folder itself, not a symlinked file's target folder:
/// that is where the operator put the file.
fn folder_of(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let folder = path.parent().unwrap_or(Path::new("/"));
    std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf())
}

/// Parses and validates a config; `env` looks up the variables named by `password_env` keys.
/// Returns every problem found, each with its key path.
pub fn parse_str(toml: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
    parse_str_with(toml, env, None, LoadOptions::default()).map(|loaded| loaded.config)
}

/// [`parse_str`] with options; `base_dir` anchors relative paths (`[blobs] dir`), None leaves
/// them relative to the current directory.
pub fn parse_str_with(
    toml: &str,
    env: &dyn Fn(&str) -> Option<String>,
    base_dir: Option<&Path>,
    options: LoadOptions<'_>,
) -> Result<Loaded, ConfigErrors> {
    let table =
        toml::from_str::<toml::Table>(toml).map_err(|e| ConfigErrors::from_toml(toml, &e))?;
    let mut errors = ConfigErrors::default();
    let raw = raw::RawConfig::from_table(table, &mut errors);
    let secrets = validate::SecretSource {
        env,
        policy: options.secrets,
    };
    let config = validate::validate(raw, secrets, base_dir, &mut errors);
    if let Some(check) = options.extra_checks {
        for extra in check(&config) {
            if !errors.has_error_at(&extra.path) {
                errors.push(extra.path, extra.message);
            }
        }
    }
    errors
        .into_result_with_warnings(config)
        .map(|(config, warnings)| Loaded { config, warnings })
}
