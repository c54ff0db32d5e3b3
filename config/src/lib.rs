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
mod raw;
mod types;
mod validate;

use std::path::Path;

pub use error::{ConfigError, ConfigErrors};
pub use types::*;

/// Reads and validates the config file at `path`, taking secrets from the process environment
/// and from files relative to the current directory.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors::single(
            "",
            format!("cannot read config file {}: {e}", path.display()),
        )
    })?;
    parse_str(&text, &|name| std::env::var(name).ok())
}

/// Parses and validates a config; `env` looks up the variables named by `password_env` keys.
/// Returns every problem found, each with its key path.
pub fn parse_str(toml: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
    let table =
        toml::from_str::<toml::Table>(toml).map_err(|e| ConfigErrors::from_toml(toml, &e))?;
    let mut errors = ConfigErrors::default();
    let raw = raw::RawConfig::from_table(table, &mut errors);
    let config = validate::validate(raw, env, &mut errors);
    errors.into_result(config)
}
