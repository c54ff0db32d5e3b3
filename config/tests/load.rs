//! Loading with options: the secret policy (missing secrets as errors or as warnings, for any
//! secret key), a relative `[blobs] dir` anchored at the config file's folder, and a program's
//! extra checks merged into the report.

use std::path::{Path, PathBuf};

use intake_config::{
    ChannelConfig, Config, ConfigError, ConfigErrors, LoadOptions, SecretPolicy, load_file,
    load_file_with, parse_str_with,
};

/// An email channel whose password and the Redis password both come from unset variables.
const TWO_SECRETS: &str = r#"
    [redis]
    password_env = "REDIS_PW_UNSET"

    [[channels]]
    type = "email"
    name = "support"
    host = "imap.example.com"
    username = "support@example.com"
    password_env = "IMAP_PW_UNSET"
"#;

fn no_env(_: &str) -> Option<String> {
    None
}

fn defer() -> LoadOptions<'static> {
    LoadOptions {
        secrets: SecretPolicy::Defer,
        extra_checks: None,
    }
}

fn paths(errors: &[ConfigError]) -> Vec<&str> {
    errors.iter().map(|e| e.path.as_str()).collect()
}

#[test]
fn require_makes_every_missing_secret_an_error() {
    let Err(errors) = parse_str_with(TWO_SECRETS, &no_env, None, LoadOptions::default()) else {
        panic!("missing secrets accepted");
    };
    assert_eq!(
        paths(errors.errors()),
        ["redis.password_env", "channels[0].password_env"]
    );
    assert!(errors.warnings().is_empty());
}

#[test]
fn defer_turns_missing_secrets_into_warnings_naming_the_variable() -> Result<(), ConfigErrors> {
    let loaded = parse_str_with(TWO_SECRETS, &no_env, None, defer())?;
    assert_eq!(
        paths(&loaded.warnings),
        ["redis.password_env", "channels[0].password_env"]
    );
    assert_eq!(
        loaded.warnings[1].to_string(),
        "channels[0].password_env: variable IMAP_PW_UNSET is not set"
    );
    assert!(loaded.warnings[0].message.contains("REDIS_PW_UNSET"));
    // No password was injected into the URL, and the placeholder is empty, never a guess.
    assert_eq!(loaded.config.redis.url.expose(), "redis://127.0.0.1:6379");
    let ChannelConfig::Email(email) = &loaded.config.channels[0] else {
        panic!("expected an email channel");
    };
    assert_eq!(email.password.expose(), "");
    Ok(())
}

#[test]
fn defer_covers_empty_variables_and_unreadable_or_empty_files() -> Result<(), ConfigErrors> {
    let dir = tempfile::tempdir().map_err(|e| ConfigErrors::single("", e.to_string()))?;
    let empty_file = dir.path().join("empty");
    std::fs::write(&empty_file, "\n").map_err(|e| ConfigErrors::single("", e.to_string()))?;
    let toml = format!(
        "[redis]\npassword_file = {:?}\n[[channels]]\ntype = \"email\"\nname = \"a\"\n\
         host = \"h\"\nusername = \"u\"\npassword_env = \"EMPTY_VAR\"\n[[channels]]\n\
         type = \"email\"\nname = \"b\"\nhost = \"h\"\nusername = \"u\"\npassword_file = {:?}\n",
        empty_file.display().to_string(),
        dir.path().join("absent").display().to_string(),
    );
    let env = |name: &str| (name == "EMPTY_VAR").then(String::new);
    let loaded = parse_str_with(&toml, &env, None, defer())?;
    assert_eq!(
        paths(&loaded.warnings),
        [
            "redis.password_file",
            "channels[0].password_env",
            "channels[1].password_file"
        ]
    );
    let Err(errors) = parse_str_with(&toml, &env, None, LoadOptions::default()) else {
        panic!("required secrets missing, yet accepted");
    };
    assert_eq!(errors.len(), 3, "{errors}");
    Ok(())
}

#[test]
fn defer_still_rejects_malformed_secret_keys() {
    let toml = r#"
        [[channels]]
        type = "email"
        name = "a"
        host = "h"
        username = "u"
        password_env = "X"
        password_file = "/run/secrets/x"
        [[channels]]
        type = "email"
        name = "b"
        host = "h"
        username = "u"
        password = "inline"
        password_env = "Y"
    "#;
    let Err(errors) = parse_str_with(toml, &no_env, None, defer()) else {
        panic!("malformed secrets accepted");
    };
    assert_eq!(
        paths(errors.errors()),
        ["channels[0].password_file", "channels[1].password"],
        "{errors}"
    );
    // The unset variable of the second channel is still only a warning, and reported.
    assert_eq!(paths(errors.warnings()), ["channels[1].password_env"]);
}

#[test]
fn require_secrets_under_a_section_refuses_only_that_sections() -> Result<(), ConfigErrors> {
    let loaded = parse_str_with(TWO_SECRETS, &no_env, None, defer())?;
    let Err(errors) = loaded.clone().require_secrets_under("redis") else {
        panic!("the redis password is missing");
    };
    assert_eq!(paths(errors.errors()), ["redis.password_env"]);
    let only_imap = TWO_SECRETS.replace("password_env = \"REDIS_PW_UNSET\"", "");
    let loaded = parse_str_with(&only_imap, &no_env, None, defer())?;
    assert_eq!(loaded.warnings.len(), 1);
    let config = loaded.require_secrets_under("redis")?;
    assert_eq!(config.channels.len(), 1);
    Ok(())
}

#[test]
fn relative_blobs_dir_is_taken_from_the_config_files_folder()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let folder = dir.path().join("etc");
    std::fs::create_dir(&folder)?;
    let toml = format!("[blobs]\ndir = \"./data/blobs\"\n{TWO_SECRETS}");
    let path = folder.join("intake.toml");
    std::fs::write(&path, &toml)?;
    let loaded = load_file_with(&path, defer())?;
    assert_eq!(loaded.config.blobs.dir, folder.join("data/blobs"));
    assert!(loaded.config.blobs.dir.is_absolute());

    // Also when the file is named relative to the current directory (the test's is the
    // crate's folder, never the temp dir).
    let relative = pathdiff(&path)?;
    let loaded = load_file_with(&relative, defer())?;
    assert_eq!(loaded.config.blobs.dir, folder.join("data/blobs"));

    let absolute = toml.replace("./data/blobs", "/srv/blobs");
    std::fs::write(&path, absolute)?;
    let loaded = load_file_with(&path, defer())?;
    assert_eq!(loaded.config.blobs.dir, PathBuf::from("/srv/blobs"));

    // Without a file there is no folder: the path stays as written.
    let parsed = parse_str_with(&toml, &no_env, None, defer())?;
    assert_eq!(parsed.config.blobs.dir, PathBuf::from("./data/blobs"));
    Ok(())
}

#[test]
fn the_example_configs_blobs_live_next_to_it() -> Result<(), ConfigErrors> {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let loaded = load_file_with(&deploy.join("intake.example.toml"), defer())?;
    let deploy = deploy
        .canonicalize()
        .map_err(|e| ConfigErrors::single("", e.to_string()))?;
    assert_eq!(loaded.config.blobs.dir, deploy.join("data/blobs"));
    Ok(())
}

/// `path` spelled relative to the current directory (`../../tmp/...`).
fn pathdiff(path: &Path) -> std::io::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    let up = cwd.components().count() - 1;
    let mut relative = PathBuf::new();
    for _ in 0..up {
        relative.push("..");
    }
    Ok(relative.join(path.strip_prefix("/").unwrap_or(path)))
}

#[test]
fn load_file_requires_secrets() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("intake.toml");
    std::fs::write(&path, TWO_SECRETS)?;
    let Err(errors) = load_file(&path) else {
        return Err("missing secrets accepted by load_file".into());
    };
    assert_eq!(errors.len(), 2, "{errors}");
    Ok(())
}

fn no_xx(config: &Config) -> Vec<ConfigError> {
    let mut found = Vec::new();
    for (i, code) in config.conversations.languages.iter().flatten().enumerate() {
        if code == "xx" || code.len() != 2 {
            found.push(ConfigError {
                path: format!("conversations.languages[{i}]"),
                message: format!("unknown language {code:?}"),
            });
        }
    }
    found
}

#[test]
fn extra_checks_are_merged_with_validation_errors() {
    let toml = format!(
        "[http]\nlisten = \"nowhere\"\n[conversations]\nlanguages = [\"xx\", \"english\"]\n{TWO_SECRETS}"
    );
    let options = LoadOptions {
        secrets: SecretPolicy::Defer,
        extra_checks: Some(&no_xx),
    };
    let Err(errors) = parse_str_with(&toml, &no_env, None, options) else {
        panic!("unknown languages accepted");
    };
    let messages: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "http.listen: \"nowhere\" is not a socket address; expected IP:port such as \"127.0.0.1:8080\"",
            "conversations.languages[1]: \"english\" is not an ISO 639-1 code such as \"en\"",
            // The extra check's own complaint about [1] is dropped: validation already said it.
            "conversations.languages[0]: unknown language \"xx\"",
        ]
    );
}
