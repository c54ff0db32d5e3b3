//! Loading the config for each command, and `intake config check`.
//!
//! A command loads with the secrets it uses: `run` and `check` need every one, `tail` only
//! Redis's, `blob get` none, so a missing IMAP password stops only what reads a mailbox.
//! `config check` defers every secret (a missing one is a warning naming the variable or
//! file) but runs the gateway's start-up checks ([`intake_gateway::preflight`]), so it
//! rejects everything `run` would.

use std::path::Path;
use std::process::ExitCode;

use intake_config::{Config, ConfigError, ConfigErrors, LoadOptions, SecretPolicy};

/// Exit status for an invalid config or a wrong argument (EX_USAGE-like, as documented).
pub const EXIT_BAD_CONFIG: u8 = 2;

/// Which secrets a command uses.
#[derive(Debug, Clone, Copy)]
pub enum Needs {
    /// Every secret, and the gateway's start-up checks: `run`, `check`.
    Everything,
    /// Only the `[redis]` secrets: `tail`.
    Redis,
    /// No secret: `blob get --config`, which only reads `[blobs] dir`.
    Nothing,
}

/// `intake config check FILE`: exit 0 when valid (warnings for secrets not set), 2 otherwise.
pub fn check_file(file: &Path) -> ExitCode {
    let options = LoadOptions {
        secrets: SecretPolicy::Defer,
        extra_checks: Some(&intake_gateway::preflight::check),
    };
    match intake_config::load_file_with(file, options) {
        Ok(loaded) => {
            println!(
                "{}: ok ({} channel(s))",
                file.display(),
                loaded.config.channels.len()
            );
            print_warnings(&loaded.warnings);
            ExitCode::SUCCESS
        }
        Err(errors) => invalid(file, &errors),
    }
}

/// The config at `path` with the secrets `needs` asks for; on failure the problems are printed
/// and the exit status is returned.
pub fn load(path: &Path, needs: Needs) -> Result<Config, ExitCode> {
    let options = match needs {
        Needs::Everything => LoadOptions {
            secrets: SecretPolicy::Require,
            extra_checks: Some(&intake_gateway::preflight::check),
        },
        Needs::Redis | Needs::Nothing => LoadOptions {
            secrets: SecretPolicy::Defer,
            extra_checks: None,
        },
    };
    let loaded = intake_config::load_file_with(path, options).map_err(|e| invalid(path, &e))?;
    for warning in &loaded.warnings {
        tracing::debug!(key = %warning.path, problem = %warning.message, "secret not set; this command does not use it");
    }
    match needs {
        Needs::Redis => loaded
            .require_secrets_under("redis")
            .map_err(|e| invalid(path, &e)),
        Needs::Everything | Needs::Nothing => Ok(loaded.config),
    }
}

fn invalid(path: &Path, errors: &ConfigErrors) -> ExitCode {
    eprintln!("{}: invalid config", path.display());
    eprintln!("{errors}");
    print_warnings(errors.warnings());
    ExitCode::from(EXIT_BAD_CONFIG)
}

fn print_warnings(warnings: &[ConfigError]) {
    for warning in warnings {
        eprintln!("warning: {warning} (`intake run` and `intake check` need it)");
    }
}
