//! The push channel examples in deploy/intake.example.toml are commented out (the example runs
//! against the demo's mailbox); uncommented, each must be a valid channel of its type.

use std::path::Path;

use intake_config::{ChannelConfig, parse_str};

/// Each commented `# [[channels]]` block of `text`, uncommented.
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

#[test]
fn each_commented_push_channel_parses() -> Result<(), Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/intake.example.toml");
    let text = std::fs::read_to_string(&path)?;
    let blocks = commented_channels(&text);
    let types: Vec<&str> = blocks
        .iter()
        .filter_map(|b| b.lines().find_map(|l| l.strip_prefix("type = ")))
        .collect();
    for expected in ["\"api\"", "\"slack\""] {
        assert!(
            types.contains(&expected),
            "no {expected} example: {types:?}"
        );
    }
    // A real-looking secret for every variable (an api secret must be whsec_ base64).
    let env = |_: &str| Some("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=".to_string());
    for block in &blocks {
        let config = parse_str(&format!("{text}\n{block}"), &env)
            .map_err(|e| format!("{e}\nin:\n{block}"))?;
        let added = config.channels.last().ok_or("no channel")?;
        match added {
            ChannelConfig::Api(api) => {
                assert!(api.secret.is_some() && api.token.is_some());
            }
            ChannelConfig::Slack(slack) => {
                assert_eq!(slack.channels, ["C0123456789"]);
                assert!(slack.bot_token.is_some());
                assert_eq!(slack.max_file_bytes, 25 * 1024 * 1024);
            }
            other => return Err(format!("unexpected {other:?}").into()),
        }
    }
    Ok(())
}

#[test]
fn push_channel_mistakes_are_reported_by_key() {
    let toml = r##"
        [http]
        max_body_bytes = "lots"
        header_timeout = "soon"

        [[channels]]
        type = "api"
        name = "website"

        [[channels]]
        type = "api"
        name = "signed"
        secret_env = "NOT_BASE64"
        token = "inline"

        [[channels]]
        type = "slack"
        name = "slack"
        channels = ["#support"]
        api_url = "slack.com/api"
    "##;
    let env = |name: &str| (name == "NOT_BASE64").then(|| "whsec_***".to_string());
    let Err(errors) = parse_str(toml, &env) else {
        panic!("accepted");
    };
    let paths: Vec<&str> = errors.errors().iter().map(|e| e.path.as_str()).collect();
    for expected in [
        "http.max_body_bytes",
        "http.header_timeout",
        "channels[0].secret_env",
        "channels[1].secret_env",
        "channels[1].secret",
        "channels[2].signing_secret_env",
        "channels[2].channels[0]",
        "channels[2].api_url",
    ] {
        assert!(paths.contains(&expected), "{expected} not in {paths:?}");
    }
    assert!(
        !errors.to_string().contains("***"),
        "never echoes a secret: {errors}"
    );
}
