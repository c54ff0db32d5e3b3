//! Locating server binaries, and the skip-or-fail policy for tests when one is missing.
//!
//! On a developer's machine without `redis-server` or `dovecot` a test skips with a loud message;
//! under CI a missing binary means `.ci/run` failed to install it, so the test must fail instead
//! of silently passing.

use std::fmt;
use std::path::{Path, PathBuf};

/// A server binary the harness needs is not installed; the only error [`require`] may skip on.
#[derive(Debug, Clone)]
pub struct MissingBinary {
    /// The binary's name, e.g. `redis-server`.
    pub name: String,
    /// The env variable that can point at it instead of `PATH`.
    pub env_override: String,
}

impl fmt::Display for MissingBinary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` not found in PATH, /usr/sbin or /usr/local/sbin (set {} to override)",
            self.name, self.env_override
        )
    }
}

impl std::error::Error for MissingBinary {}

/// True when running under CI: env `CI` set to anything but empty, `0` or `false`.
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "FALSE"))
}

/// Finds `name` via the env override, then `PATH`, then the sbin dirs that a non-root `PATH`
/// often lacks (Debian installs dovecot in /usr/sbin).
pub(crate) fn find_binary(name: &str, env_override: &str) -> Result<PathBuf, MissingBinary> {
    if let Some(path) = std::env::var_os(env_override).map(PathBuf::from)
        && path.is_file()
    {
        return Ok(path);
    }
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let fallback_dirs = ["/usr/local/sbin", "/usr/sbin", "/usr/local/bin", "/usr/bin"];
    path_dirs
        .iter()
        .map(PathBuf::as_path)
        .chain(fallback_dirs.iter().map(Path::new))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| MissingBinary {
            name: name.to_owned(),
            env_override: env_override.to_owned(),
        })
}

/// Turns a server constructor's result into `Some(server)`, or `None` (after a loud message) when
/// its binary is missing outside CI.
///
/// # Panics
/// On any other error, and on a missing binary under CI: both mean the test cannot prove anything.
pub fn require<T>(result: anyhow::Result<T>) -> Option<T> {
    require_under(result, is_ci())
}

fn require_under<T>(result: anyhow::Result<T>, ci: bool) -> Option<T> {
    match result {
        Ok(server) => Some(server),
        Err(error) => match error.downcast_ref::<MissingBinary>() {
            Some(missing) if !ci => {
                eprintln!();
                eprintln!("{}", "!".repeat(76));
                eprintln!("!!! SKIPPING TEST: {missing}");
                eprintln!("!!! install it (see .ci/run) to run this test; under CI it would fail");
                eprintln!("{}", "!".repeat(76));
                None
            }
            Some(missing) => panic!("CI is set and a test server is missing: {missing}"),
            None => panic!("failed to start test server: {error:#}"),
        },
    }
}

/// Starts a server or skips the current test: `let redis = require_server!(RedisServer::start().await);`
///
/// Expands to `return` when skipping, so it fits tests returning `()`. Panics under CI when the
/// binary is missing, and always on other start errors (see [`require`]).
#[macro_export]
macro_rules! require_server {
    ($start:expr) => {
        match $crate::require($start) {
            Some(server) => server,
            None => return,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing() -> anyhow::Result<()> {
        Err(MissingBinary {
            name: "redis-server".into(),
            env_override: "INTAKE_REDIS_SERVER".into(),
        }
        .into())
    }

    #[test]
    fn missing_binary_skips_outside_ci() {
        assert!(require_under(missing(), false).is_none());
    }

    #[test]
    #[should_panic(expected = "CI is set")]
    fn missing_binary_fails_under_ci() {
        let _ = require_under(missing(), true);
    }

    #[test]
    #[should_panic(expected = "failed to start test server")]
    fn other_errors_always_fail() {
        let _ = require_under(Err::<(), _>(anyhow::anyhow!("boom")), false);
    }

    #[test]
    fn found_binaries_are_files() {
        if let Ok(sh) = find_binary("sh", "INTAKE_TEST_NO_SUCH_OVERRIDE") {
            assert!(sh.is_file());
        }
        assert!(find_binary("intake-no-such-binary", "INTAKE_TEST_NO_SUCH_OVERRIDE").is_err());
    }
}
