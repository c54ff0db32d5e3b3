//! Tracing set-up: text or JSON lines on stderr, filtered by RUST_LOG (default `info`); colour
//! only when stderr is a terminal and `NO_COLOR` is unset or empty (https://no-color.org), so
//! files, pipes and journald get plain text.
//!
//! Only `tracing` events are collected: the `log` crate is deliberately not bridged, because
//! async-imap logs every raw IMAP command (LOGIN with its password included) at trace level
//! through it. The directives below also pin those targets down in case a bridge appears.

use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Targets that may log secrets or message bodies at debug/trace level.
/// reqwest and hyper quote request URLs, and every Bot API URL holds the bot token.
const MUTED: &[&str] = &[
    "async_imap=warn",
    "imap_proto=warn",
    "redis=warn",
    "teloxide_core=off",
    "reqwest=off",
    "hyper=off",
    "hyper_util=off",
];

/// The format chosen at start-up, for [`fatal`].
static FORMAT: OnceLock<Format> = OnceLock::new();

pub fn init(format: Format) {
    let _ = FORMAT.set(format);
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    for directive in MUTED {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    let ansi = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let result = match format {
        Format::Text => tracing::subscriber::set_global_default(builder.finish()),
        Format::Json => tracing::subscriber::set_global_default(builder.json().finish()),
    };
    if let Err(e) = result {
        eprintln!("warning: logging could not be initialised: {e}");
    }
}

/// Whether log lines get ANSI colour codes.
fn colour(stderr_is_terminal: bool, no_color: Option<OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|value| value.is_empty())
}

/// Reports the error that ends the process, exactly once: as an `error` event when logs are
/// JSON lines (a collector parses stderr line by line), as a plain `error: ...` line otherwise
/// (a person reads it; a log line would only repeat it).
pub fn fatal(message: &str) {
    match FORMAT.get() {
        Some(Format::Json) => tracing::error!(error = %message, "intake failed"),
        _ => eprintln!("error: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(
            colour(true, Some(OsString::new())),
            "empty NO_COLOR is unset"
        );
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None));
    }
}
