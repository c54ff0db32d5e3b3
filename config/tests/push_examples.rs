//! Mistakes in the api and slack channels' keys and in `[http]` limits are reported by key path,
//! never echoing a secret. (The examples in deploy/intake.example.toml are checked in push.rs.)

use intake_config::parse_str;

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
