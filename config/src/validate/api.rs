//! `[[channels]] type = "api"`: Intake's own webhook. Authenticated by a Standard Webhooks
//! signing secret (`whsec_<base64>`), a bearer token, or both; at least one must be set, and a
//! signing secret must decode, so `config check` catches a pasted-wrong secret.

use base64::Engine as _;

use super::email::is_valid_name;
use super::secret::{self, SecretSource};
use crate::error::{ConfigErrors, join};
use crate::raw::RawApi;
use crate::types::ApiConfig;

pub(super) fn validate(
    raw: RawApi,
    path: &str,
    secrets: SecretSource<'_>,
    errors: &mut ConfigErrors,
) -> ApiConfig {
    if raw.name.as_deref().is_some_and(|name| !is_valid_name(name)) {
        errors.push(
            join(path, "name"),
            "must be non-empty and use only A-Z a-z 0-9 _ . -",
        );
    }
    if raw.inline_secret {
        errors.push(join(path, "secret"), secret::inline_secret(path));
    }
    let has_secret = raw.secret_env.is_some() || raw.secret_file.is_some();
    let has_token = raw.token_env.is_some() || raw.token_file.is_some();
    if !has_secret && !has_token {
        errors.push(
            join(path, "secret_env"),
            "missing; set secret_env or secret_file (a Standard Webhooks whsec_ secret), or \
             token_env or token_file (a bearer token) for clients that cannot sign",
        );
    }
    let secret = secret::resolve_keys(
        path,
        "secret",
        raw.secret_env.as_deref(),
        raw.secret_file.as_deref(),
        secrets,
        errors,
    );
    if let Some(secret) = &secret {
        let key = if raw.secret_env.is_some() {
            "secret_env"
        } else {
            "secret_file"
        };
        if signing_key(secret.expose()).is_none() {
            errors.push(
                join(path, key),
                "is not a Standard Webhooks secret: expected whsec_ followed by base64",
            );
        }
    }
    let token = secret::resolve_keys(
        path,
        "token",
        raw.token_env.as_deref(),
        raw.token_file.as_deref(),
        secrets,
        errors,
    );
    ApiConfig {
        name: raw.name.unwrap_or_default(),
        secret,
        token,
        store_raw: raw.store_raw.unwrap_or(false),
    }
}

/// The HMAC key of a Standard Webhooks secret: the base64 after the `whsec_` prefix (accepted
/// without the prefix too, as the reference libraries do). None when it does not decode.
pub fn signing_key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .filter(|key| !key.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_key_strips_the_prefix() {
        assert_eq!(signing_key("whsec_aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(signing_key("aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(signing_key("whsec_not base64!"), None);
        assert_eq!(signing_key("whsec_"), None);
    }
}
