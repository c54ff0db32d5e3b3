//! `type = "whatsapp" | "sms" | "pipe"`: defaults, secrets by reference, and every mistake
//! reported at its key path without the secret's value.

use intake_config::{ChannelConfig, ConfigErrors, parse_str};

const SECRET: &str = "s3cret-do-not-print";

fn env(name: &str) -> Option<String> {
    matches!(
        name,
        "WA_APP_SECRET" | "WA_VERIFY" | "WA_TOKEN" | "TWILIO_TOKEN"
    )
    .then(|| SECRET.to_string())
}

const VALID: &str = r#"
    [[channels]]
    type = "whatsapp"
    name = "whatsapp"
    app_secret_env = "WA_APP_SECRET"
    verify_token_env = "WA_VERIFY"
    access_token_env = "WA_TOKEN"

    [[channels]]
    type = "sms"
    name = "sms"
    public_url = "https://intake.example.com/webhooks/sms"
    account_sid = "AC0123456789abcdef0123456789abcdef"
    auth_token_env = "TWILIO_TOKEN"
    max_media_bytes = "2 MiB"

    [[channels]]
    type = "pipe"
    name = "mta"
"#;

#[test]
fn push_channels_get_their_defaults_and_secrets() -> Result<(), ConfigErrors> {
    let config = parse_str(VALID, &env)?;
    let [
        ChannelConfig::Whatsapp(wa),
        ChannelConfig::Sms(sms),
        ChannelConfig::Pipe(pipe),
    ] = config.channels.as_slice()
    else {
        panic!("expected whatsapp, sms, pipe: {:?}", config.channels);
    };
    assert_eq!(wa.api_url, "https://graph.facebook.com/v21.0");
    assert_eq!(wa.app_secret.expose(), SECRET);
    assert_eq!(wa.verify_token.expose(), SECRET);
    assert_eq!(wa.access_token.expose(), SECRET);
    assert_eq!(wa.max_media_bytes, 100 * 1024 * 1024);
    assert_eq!(sms.public_url, "https://intake.example.com/webhooks/sms");
    assert_eq!(sms.auth_token.expose(), SECRET);
    assert_eq!(sms.max_media_bytes, 2 * 1024 * 1024);
    assert_eq!(pipe.name, "mta");
    assert_eq!(pipe.max_message_bytes, 25 * 1024 * 1024);
    assert!(
        !format!("{config:?}").contains(SECRET),
        "secrets are redacted"
    );
    Ok(())
}

#[test]
fn mistakes_are_reported_at_their_key_paths() {
    let toml = r#"
        [[channels]]
        type = "whatsapp"
        name = "wa"
        app_secret = "inline!"
        verify_token_env = "WA_VERIFY"
        access_token_env = "WA_UNSET"
        api_url = "graph.example.com"

        [[channels]]
        type = "sms"
        name = "sms"
        public_url = "ftp://x"
        account_sid = "SID"
        auth_token_env = "TWILIO_TOKEN"
        auth_token_file = "/run/secrets/twilio"

        [[channels]]
        type = "pipe"
        name = "bad name"
        max_message_bytes = 0
    "#;
    let Err(errors) = parse_str(toml, &env) else {
        panic!("accepted");
    };
    let text = errors.to_string();
    for (path, words) in [
        ("channels[0].app_secret", "inline secrets are not allowed"),
        ("channels[0].app_secret_env", "missing"),
        ("channels[0].access_token_env", "WA_UNSET is not set"),
        ("channels[0].api_url", "http:// or https://"),
        ("channels[1].public_url", "http:// or https://"),
        ("channels[1].account_sid", "AC"),
        ("channels[1].auth_token_file", "set exactly one"),
        ("channels[2].name", "A-Z"),
        ("channels[2].max_message_bytes", "greater than 0"),
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{path}: ")))
            .unwrap_or_else(|| panic!("no error at {path} in:\n{text}"));
        assert!(line.contains(words), "{line}");
    }
    assert!(
        !text.contains("inline!"),
        "the inline value is never echoed"
    );
}

#[test]
fn sms_requires_its_public_url_and_account() {
    let toml = "[[channels]]\ntype = \"sms\"\nname = \"sms\"\nauth_token_env = \"TWILIO_TOKEN\"\n";
    let Err(errors) = parse_str(toml, &env) else {
        panic!("accepted");
    };
    let text = errors.to_string();
    assert!(text.contains("channels[0].public_url: missing"), "{text}");
    assert!(text.contains("channels[0].account_sid: missing"), "{text}");
}

/// Each commented `# [[channels]]` block of `text`, uncommented: the block runs while its lines
/// start with `# `.
fn commented_channels(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.strip_prefix("# ")) {
            (None, Some("[[channels]]")) => current = Some("[[channels]]\n".into()),
            (Some(block), Some(rest)) => {
                block.push_str(rest);
                block.push('\n');
            }
            (Some(_), None) => blocks.extend(current.take()),
            (None, _) => {}
        }
    }
    blocks.extend(current);
    blocks
}

/// The whatsapp, sms, pipe, api, slack and telegram examples commented out in deploy/intake.example.toml must be
/// valid as written once uncommented.
#[test]
fn the_example_configs_push_channels_are_valid() -> Result<(), ConfigErrors> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/intake.example.toml");
    let text = std::fs::read_to_string(path).map_err(|e| panic!("{e}"))?;
    let mut kinds = Vec::new();
    for block in commented_channels(&text) {
        // A bot token has a shape of its own (`<bot id>:<secret>`).
        let env = |name: &str| match name {
            "TELEGRAM_TOKEN" => Some("123456:bot-token".to_string()),
            // A Standard Webhooks secret is base64 after `whsec_`.
            "INTAKE_API_SECRET" => Some("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=".to_string()),
            _ => Some(SECRET.to_string()),
        };
        let config = parse_str(&block, &env)?;
        match config.channels.as_slice() {
            [ChannelConfig::Whatsapp(wa)] => {
                assert_eq!(wa.api_url, "https://graph.facebook.com/v21.0");
                kinds.push("whatsapp");
            }
            [ChannelConfig::Sms(sms)] => {
                assert_eq!(sms.max_media_bytes, 5 * 1024 * 1024);
                kinds.push("sms");
            }
            [ChannelConfig::Pipe(_)] => kinds.push("pipe"),
            [ChannelConfig::Telegram(_)] => kinds.push("telegram"),
            [ChannelConfig::Api(api)] => {
                assert!(api.secret.is_some() && api.token.is_some() && !api.store_raw);
                kinds.push("api");
            }
            [ChannelConfig::Slack(slack)] => {
                assert_eq!(slack.channels, ["C0123456789"]);
                assert_eq!(slack.max_file_bytes, 25 * 1024 * 1024);
                kinds.push("slack");
            }
            _ => {}
        }
    }
    assert_eq!(
        kinds,
        ["whatsapp", "sms", "pipe", "api", "slack", "telegram"]
    );
    Ok(())
}
