//! `type = "discord"` channels: defaults, every key, broken values at their key paths, the
//! token never shown, and the commented example in deploy/ parsing once uncommented.

use std::path::Path;

use intake_config::{ChannelConfig, ConfigErrors, DiscordConfig, parse_str};

const TOKEN: &str = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.do-not-print";

fn env(name: &str) -> Option<String> {
    (name == "DISCORD_TOKEN").then(|| TOKEN.to_string())
}

fn discord(keys: &str) -> String {
    format!("[[channels]]\ntype = \"discord\"\nname = \"dc\"\n{keys}\n")
}

fn only_discord(toml: &str) -> Result<DiscordConfig, ConfigErrors> {
    let config = parse_str(toml, &env)?;
    match config.channels.as_slice() {
        [ChannelConfig::Discord(d)] => Ok(d.clone()),
        other => panic!("expected one discord channel, got {other:?}"),
    }
}

#[test]
fn defaults_and_ids_as_integers_or_strings() -> Result<(), ConfigErrors> {
    let d = only_discord(&discord(
        "token_env = \"DISCORD_TOKEN\"\nguild_channels = [1180000000000000001, \"290926798999357250\"]",
    ))?;
    assert_eq!(d.name, "dc");
    assert_eq!(d.token.expose(), TOKEN);
    assert_eq!(
        d.guild_channels,
        vec![1180000000000000001, 290926798999357250]
    );
    assert!(d.direct_messages && d.ignore_bots);
    assert_eq!(d.max_file_bytes, 25 * 1024 * 1024);
    assert_eq!((d.api_url, d.gateway_url), (None, None));
    assert_eq!((d.batch_size, d.poison_after), (100, 5));
    Ok(())
}

#[test]
fn every_key_set() -> Result<(), ConfigErrors> {
    let d = only_discord(&discord(
        "token_env = \"DISCORD_TOKEN\"\ndirect_messages = true\nignore_bots = false\n\
         api_url = \"http://127.0.0.1:9000/\"\ngateway_url = \"ws://localhost:9001\"\n\
         max_file_bytes = \"1 KiB\"\nbatch_size = 7\npoison_after = 2",
    ))?;
    assert!(!d.ignore_bots);
    assert_eq!(d.api_url.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(d.gateway_url.as_deref(), Some("ws://localhost:9001"));
    assert_eq!(
        (d.max_file_bytes, d.batch_size, d.poison_after),
        (1024, 7, 2)
    );
    assert!(!format!("{d:?}").contains("do-not-print"));
    Ok(())
}

#[rustfmt::skip] // one case per line reads as a table
#[test]
fn broken_values_name_their_key_path() {
    let cases = [
        (discord(""), "channels[0].token_env", "missing"),
        (discord("token = \"abc\"\ntoken_env = \"DISCORD_TOKEN\""), "channels[0].token", "inline tokens"),
        (discord("token_env = \"DISCORD_TOKEN\"\ntoken_file = \"/x\""), "channels[0].token_file", "exactly one"),
        (discord("token_env = \"NOPE\""), "channels[0].token_env", "NOPE is not set"),
        (discord("token_env = \"DISCORD_TOKEN\"\nguild_channels = [\"general\"]"), "channels[0].guild_channels[0]", "channel id"),
        (discord("token_env = \"DISCORD_TOKEN\"\nguild_channels = [5, 5]"), "channels[0].guild_channels[1]", "twice"),
        (discord("token_env = \"DISCORD_TOKEN\"\ndirect_messages = false"), "channels[0].guild_channels", "read nothing"),
        (discord("token_env = \"DISCORD_TOKEN\"\napi_url = \"http://discord.example.com\""), "channels[0].api_url", "cleartext"),
        (discord("token_env = \"DISCORD_TOKEN\"\ngateway_url = \"https://x\""), "channels[0].gateway_url", "wss://"),
        (discord("token_env = \"DISCORD_TOKEN\"\nmax_file_bytes = 0"), "channels[0].max_file_bytes", "greater than 0"),
        (discord("token_env = \"DISCORD_TOKEN\"\nbatch_size = 0"), "channels[0].batch_size", "between"),
        (discord("token_env = \"DISCORD_TOKEN\"\nshards = 2"), "channels[0].shards", "unknown key"),
    ];
    for (toml, path, text) in cases {
        let errors = match parse_str(&toml, &env) {
            Ok(config) => panic!("accepted:\n{toml}\nas {config:?}"),
            Err(errors) => errors,
        };
        let found = errors.errors().iter().find(|e| e.path == path);
        assert!(
            found.is_some_and(|e| e.message.contains(text)),
            "{toml}\nwanted {path}: ...{text}..., got {errors}"
        );
        assert!(!errors.to_string().contains("do-not-print"), "{errors}");
    }
}

#[test]
fn the_commented_example_parses_once_uncommented() -> Result<(), Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/intake.example.toml");
    let text = std::fs::read_to_string(path)?;
    let start = text
        .find("# [[channels]]\n# type = \"discord\"")
        .ok_or("no discord example")?;
    let block: String = text[start..]
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim_start())
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let d = only_discord(&block)?;
    assert_eq!(d.name, "discord-support");
    assert_eq!(
        d.guild_channels,
        vec![1180000000000000001, 1180000000000000002]
    );
    Ok(())
}
