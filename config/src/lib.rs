//! Intake's configuration: TOML -> raw serde structs -> `validate()` -> typed [`Config`].
//!
//! Validation is pure apart from reading the environment and secret files: it never touches the
//! network, and it collects every error with its key path (`channels[1].password_env: ...`)
//! instead of stopping at the first.

mod types;

pub use types::*;
