//! Tracing set-up: text or JSON lines on stderr, filtered by RUST_LOG (default `info`).
//!
//! Only `tracing` events are collected: the `log` crate is deliberately not bridged, because
//! async-imap logs every raw IMAP command (LOGIN with its password included) at trace level
//! through it. The directives below also pin those targets down in case a bridge appears.

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Targets that may log secrets or message bodies at debug/trace level.
const MUTED: &[&str] = &["async_imap=warn", "imap_proto=warn", "redis=warn"];

pub fn init(format: Format) {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    for directive in MUTED {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        Format::Text => tracing::subscriber::set_global_default(builder.finish()),
        Format::Json => tracing::subscriber::set_global_default(builder.json().finish()),
    };
    if let Err(e) = result {
        eprintln!("warning: logging could not be initialised: {e}");
    }
}
