//! Secrets: never inline in the config, always named by `password_env` (an environment
//! variable) or `password_file` (a file, relative to the current directory or absolute, trailing
//! newline trimmed). Error messages name the variable or file, never the value.
//!
//! What a secret that cannot be had (variable unset or empty, file unreadable or empty) means
//! is the caller's [`SecretPolicy`]: an error, or, for commands that never use it, a warning
//! with the same key path and message. Every secret key goes through here, so the policy
//! applies to all of them alike. A malformed key (both set, an empty name) is an error either
//! way: the file itself is wrong.

use std::fs;

use super::Env;
use crate::SecretPolicy;
use crate::error::{ConfigErrors, join};
use crate::types::Secret;

/// Where secrets come from and what a missing one means.
#[derive(Clone, Copy)]
pub(crate) struct SecretSource<'a> {
    pub env: Env<'a>,
    pub policy: SecretPolicy,
}

impl SecretSource<'_> {
    /// Records a secret that cannot be had, as the policy says.
    fn missing(&self, path: &str, message: String, errors: &mut ConfigErrors) {
        match self.policy {
            SecretPolicy::Require => errors.push(path, message),
            SecretPolicy::Defer => errors.warn(path, message),
        }
    }
}

pub(super) const INLINE_PASSWORD: &str =
    "inline passwords are not allowed; use password_env = \"VAR\" or password_file = \"/path\"";

/// The secret named by `password_env` or `password_file` under `prefix`, when either is set.
pub(super) fn resolve_optional(
    prefix: &str,
    var: Option<&str>,
    file: Option<&str>,
    source: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> Option<Secret> {
    resolve_keys(prefix, "password", var, file, source, errors)
}

/// The secret named by `<stem>_env` or `<stem>_file` under `prefix` (`token_env`,
/// `webhook_secret_file`, ...), when either is set.
pub(super) fn resolve_keys(
    prefix: &str,
    stem: &str,
    var: Option<&str>,
    file: Option<&str>,
    source: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> Option<Secret> {
    let (env_key, file_key) = (format!("{stem}_env"), format!("{stem}_file"));
    match (var, file) {
        (None, None) => None,
        (Some(var), None) => from_env(&join(prefix, &env_key), var, source, errors),
        (None, Some(file)) => from_file(&join(prefix, &file_key), file, source, errors),
        (Some(_), Some(_)) => {
            errors.push(
                join(prefix, &file_key),
                format!("{env_key} is set as well; set exactly one of {env_key} and {file_key}"),
            );
            None
        }
    }
}

/// Like [`resolve_optional`], but one of the two keys must be set.
pub(super) fn resolve_required(
    prefix: &str,
    var: Option<&str>,
    file: Option<&str>,
    source: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> Option<Secret> {
    resolve_named_required(prefix, "password", var, file, source, errors)
}

/// Like [`resolve_keys`], but one of the two keys must be set.
pub(super) fn resolve_named_required(
    prefix: &str,
    base: &str,
    var: Option<&str>,
    file: Option<&str>,
    source: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> Option<Secret> {
    if var.is_none() && file.is_none() {
        errors.push(
            join(prefix, &format!("{base}_env")),
            format!("missing; set {base}_env (an environment variable) or {base}_file"),
        );
        return None;
    }
    resolve_keys(prefix, base, var, file, source, errors)
}

/// Rejects an inline secret key (`secret`, `token`, ...): secrets are named, never written.
pub(super) fn inline_secret(path: &str) -> String {
    format!(
        "inline secrets are not allowed in {path}; use the *_env (an environment variable) or \
         *_file key instead"
    )
}

fn from_env(
    path: &str,
    var: &str,
    source: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> Option<Secret> {
    if var.trim().is_empty() {
        errors.push(path, "must name an environment variable");
        return None;
    }
    match (source.env)(var) {
        Some(value) if !value.is_empty() => Some(Secret::new(value)),
        Some(_) => {
            source.missing(path, format!("variable {var} is empty"), errors);
            None
        }
        None => {
            source.missing(path, format!("variable {var} is not set"), errors);
            None
        }
    }
}

fn from_file(
    path: &str,
    file: &str,
    source: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> Option<Secret> {
    if file.trim().is_empty() {
        errors.push(path, "must name a file");
        return None;
    }
    match fs::read_to_string(file) {
        Ok(content) => {
            let value = content.trim_end_matches(['\n', '\r']);
            if value.is_empty() {
                source.missing(path, format!("file {file} is empty"), errors);
                None
            } else {
                Some(Secret::new(value))
            }
        }
        Err(e) => {
            // The io error names the failure (not found, permission denied), never the content.
            source.missing(path, format!("cannot read {file}: {e}"), errors);
            None
        }
    }
}

/// Checks a `redis://` / `rediss://` URL and injects `password` into its userinfo. The URL is
/// never echoed in errors: it may carry a password despite the rules.
pub(super) fn redis_url(url: &str, password: Option<&Secret>, errors: &mut ConfigErrors) -> Secret {
    const PATH: &str = "redis.url";
    let Some((scheme, rest)) = url.split_once("://") else {
        errors.push(
            PATH,
            "expected a URL like redis://host:6379 or rediss://host:6380",
        );
        return Secret::new(url);
    };
    if scheme != "redis" && scheme != "rediss" {
        let message = format!("scheme must be redis:// or rediss://, not {scheme}://");
        errors.push(PATH, message);
        return Secret::new(url);
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, authority),
    };
    if host.is_empty() {
        errors.push(PATH, "missing host, e.g. redis://127.0.0.1:6379");
    }
    if userinfo.is_some_and(|u| u.contains(':')) {
        errors.push(
            PATH,
            "contains a password; move it to redis.password_env or redis.password_file",
        );
        return Secret::new(url);
    }
    match password {
        None => Secret::new(url),
        Some(password) => {
            let user = userinfo.unwrap_or("");
            let password = percent_encode(password.expose());
            Secret::new(format!("{scheme}://{user}:{password}@{host}{tail}"))
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so any password survives
/// inside URL userinfo (the redis client decodes it again).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(url: &str, password: Option<&str>) -> Result<String, ConfigErrors> {
        let mut errors = ConfigErrors::default();
        let password = password.map(Secret::new);
        let url = redis_url(url, password.as_ref(), &mut errors);
        errors.into_result(url.expose().to_string())
    }

    #[test]
    fn injects_encoded_password() {
        let injected = url("redis://db:6379/0", Some("p@ss:w/rd"));
        assert_eq!(injected, Ok("redis://:p%40ss%3Aw%2Frd@db:6379/0".into()));
        let with_user = url("rediss://intake@db", Some("pw"));
        assert_eq!(with_user, Ok("rediss://intake:pw@db".into()));
        assert_eq!(url("redis://db", None), Ok("redis://db".into()));
    }

    #[test]
    fn rejects_bad_urls_without_echoing_them() {
        for bad in ["http://db", "db:6379", "redis://", "redis://u:hunter2@db"] {
            let Err(errors) = url(bad, None) else {
                panic!("{bad} accepted");
            };
            assert!(errors.to_string().starts_with("redis.url: "), "{errors}");
            assert!(!errors.to_string().contains("hunter2"), "{errors}");
        }
    }
}
