//! `[[channels]] type = "email"`: an IMAP mailbox. Checks names, TLS policy (plaintext only to
//! loopback unless explicitly allowed), the after-ingest action, limits, and resolves the
//! password.

use std::net::IpAddr;
use std::time::Duration;

use bytesize::ByteSize;
use toml::Value;

use super::secret::SecretSource;
use super::{duration, secret};
use crate::error::{ConfigErrors, join};
use crate::raw::{RawAfterIngest, RawEmail};
use crate::types::{AfterIngest, EmailConfig, Secret, TlsMode};

const DEFAULT_MAILBOX: &str = "INBOX";
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);
const DEFAULT_BATCH_SIZE: usize = 500;
const MAX_BATCH_SIZE: usize = 10_000;
const DEFAULT_MAX_MESSAGE_BYTES: u64 = 25 * 1024 * 1024;
const DEFAULT_POISON_AFTER: u32 = 5;

pub(super) fn validate(
    raw: RawEmail,
    path: &str,
    secrets: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> EmailConfig {
    let at = |key: &str| join(path, key);

    // A required key that is `None` was already reported as missing or mistyped.
    if raw.name.as_deref().is_some_and(|name| !is_valid_name(name)) {
        errors.push(
            at("name"),
            "must be non-empty and use only A-Z a-z 0-9 _ . -",
        );
    }
    if raw
        .host
        .as_deref()
        .is_some_and(|host| host.trim().is_empty())
    {
        errors.push(at("host"), "must not be empty");
    }
    if raw.username.as_deref().is_some_and(str::is_empty) {
        errors.push(at("username"), "must not be empty");
    }
    let name = raw.name.unwrap_or_default();
    let host = raw.host.unwrap_or_default();
    let username = raw.username.unwrap_or_default();

    let tls = tls_mode(raw.tls.as_deref(), &at("tls"), errors);
    let allow_insecure = raw.allow_insecure.unwrap_or(false);
    if tls == TlsMode::None && !allow_insecure && !host.is_empty() && !is_loopback(&host) {
        errors.push(
            at("tls"),
            format!(
                "\"none\" would send the password in cleartext to {host}; it is allowed only \
                 for a loopback host (localhost, 127.0.0.1, ::1) unless allow_insecure = true"
            ),
        );
    }
    let port = port(raw.port, tls, &at("port"), errors);
    let tls_ca_file = raw
        .tls_ca_file
        .and_then(|file| ca_file(&file, tls, &at("tls_ca_file"), errors));

    if raw.inline_password {
        errors.push(at("password"), secret::INLINE_PASSWORD);
    }
    let password = secret::resolve_required(
        path,
        raw.password_env.as_deref(),
        raw.password_file.as_deref(),
        secrets,
        errors,
    );

    let mailbox = raw.mailbox.unwrap_or_else(|| DEFAULT_MAILBOX.into());
    if mailbox.is_empty() {
        errors.push(at("mailbox"), "must not be empty");
    }
    let after_ingest = after_ingest(raw.after_ingest, &mailbox, &at("after_ingest"), errors);

    let poll_interval = duration(
        &at("poll_interval"),
        raw.poll_interval,
        DEFAULT_POLL_INTERVAL,
        Duration::from_millis(1),
        errors,
    );
    let batch_size = batch_size(raw.batch_size, &at("batch_size"), errors);
    let max_message_bytes = size(
        raw.max_message_bytes,
        DEFAULT_MAX_MESSAGE_BYTES,
        &at("max_message_bytes"),
        errors,
    );
    let poison_after = poison_after(raw.poison_after, &at("poison_after"), errors);

    EmailConfig {
        name,
        host,
        port,
        tls,
        allow_insecure,
        tls_ca_file,
        authserv_id: raw.authserv_id.filter(|id| !id.trim().is_empty()),
        username,
        password: password.unwrap_or_else(|| Secret::new("")),
        mailbox,
        after_ingest,
        idle: raw.idle.unwrap_or(true),
        poll_interval,
        batch_size,
        max_message_bytes,
        poison_after,
    }
}

/// The CA file must be readable PEM with at least one certificate, and only makes sense with TLS.
fn ca_file(
    file: &str,
    tls: TlsMode,
    path: &str,
    errors: &mut ConfigErrors,
) -> Option<std::path::PathBuf> {
    if tls == TlsMode::None {
        errors.push(
            path,
            "is set but tls = \"none\"; use \"implicit\" or \"starttls\"",
        );
        return None;
    }
    match std::fs::read_to_string(file) {
        Ok(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => Some(file.into()),
        Ok(_) => {
            errors.push(path, format!("{file} contains no PEM certificate"));
            None
        }
        Err(e) => {
            errors.push(path, format!("cannot read {file}: {e}"));
            None
        }
    }
}

pub(super) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `localhost` or a loopback IP (`127.0.0.0/8`, `::1`, optionally bracketed).
pub(super) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn tls_mode(word: Option<&str>, path: &str, errors: &mut ConfigErrors) -> TlsMode {
    match word {
        None | Some("implicit") => TlsMode::Implicit,
        Some("starttls") => TlsMode::Starttls,
        Some("none") => TlsMode::None,
        Some(other) => {
            let message = format!(
                "{other:?} is not a TLS mode; expected \"implicit\", \"starttls\" or \"none\""
            );
            errors.push(path, message);
            TlsMode::Implicit
        }
    }
}

fn port(port: Option<i64>, tls: TlsMode, path: &str, errors: &mut ConfigErrors) -> u16 {
    let default = if tls == TlsMode::Implicit { 993 } else { 143 };
    let Some(port) = port else {
        return default;
    };
    match u16::try_from(port) {
        Ok(port) if port > 0 => port,
        _ => {
            errors.push(path, format!("{port} is not a port; expected 1..=65535"));
            default
        }
    }
}

fn after_ingest(
    raw: Option<RawAfterIngest>,
    mailbox: &str,
    path: &str,
    errors: &mut ConfigErrors,
) -> AfterIngest {
    match raw {
        None => AfterIngest::Seen,
        Some(RawAfterIngest::Word(word)) => match word.as_str() {
            "seen" => AfterIngest::Seen,
            "delete" => AfterIngest::Delete,
            _ => {
                let message = format!(
                    "{word:?} is not an action; expected \"seen\", \"delete\" or \
                     {{ move_to = \"Folder\" }}"
                );
                errors.push(path, message);
                AfterIngest::Seen
            }
        },
        // Missing or mistyped move_to: already reported.
        Some(RawAfterIngest::MoveTo(None)) => AfterIngest::Seen,
        Some(RawAfterIngest::MoveTo(Some(folder))) => {
            let path = join(path, "move_to");
            if folder.trim().is_empty() {
                errors.push(path, "must name a folder");
            } else if same_mailbox(&folder, mailbox) {
                let message =
                    format!("{folder:?} is the mailbox being read; moving there would re-ingest");
                errors.push(path, message);
            }
            AfterIngest::MoveTo(folder)
        }
    }
}

/// IMAP mailbox names are case-sensitive, except INBOX.
fn same_mailbox(a: &str, b: &str) -> bool {
    a == b || (a.eq_ignore_ascii_case("INBOX") && b.eq_ignore_ascii_case("INBOX"))
}

fn batch_size(value: Option<i64>, path: &str, errors: &mut ConfigErrors) -> usize {
    let Some(value) = value else {
        return DEFAULT_BATCH_SIZE;
    };
    match usize::try_from(value) {
        Ok(size) if (1..=MAX_BATCH_SIZE).contains(&size) => size,
        _ => {
            errors.push(
                path,
                format!("{value} is out of range; expected 1..={MAX_BATCH_SIZE}"),
            );
            DEFAULT_BATCH_SIZE
        }
    }
}

/// Failed fetches of one message before it is dead-lettered: at least 1.
pub(super) fn poison_after(value: Option<i64>, path: &str, errors: &mut ConfigErrors) -> u32 {
    let Some(value) = value else {
        return DEFAULT_POISON_AFTER;
    };
    match u32::try_from(value) {
        Ok(n) if n >= 1 => n,
        _ => {
            errors.push(
                path,
                format!("{value} is out of range; expected at least 1"),
            );
            DEFAULT_POISON_AFTER
        }
    }
}

/// A byte count: an integer, or a string such as "25 MiB" or "10MB" (bytesize syntax).
pub(super) fn size(
    value: Option<Value>,
    default: u64,
    path: &str,
    errors: &mut ConfigErrors,
) -> u64 {
    let bytes = match value {
        None => return default,
        Some(Value::Integer(n)) => u64::try_from(n).ok(),
        Some(Value::String(text)) => match text.trim().parse::<ByteSize>() {
            Ok(size) => Some(size.as_u64()),
            Err(e) => {
                let message =
                    format!("{text:?} is not a size ({e}); write e.g. \"25 MiB\" or 26214400");
                errors.push(path, message);
                return default;
            }
        },
        Some(other) => {
            let message = format!(
                "expected a byte count or a size string such as \"25 MiB\", found {}",
                other.type_str()
            );
            errors.push(path, message);
            return default;
        }
    };
    match bytes {
        Some(bytes) if bytes > 0 => bytes,
        _ => {
            errors.push(path, "must be greater than 0");
            default
        }
    }
}
