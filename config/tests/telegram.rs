//! `type = "telegram"` channels: defaults, both modes, every error with its key path, and
//! neither the token nor the webhook secret ever in an error message.

use std::time::Duration;

use intake_config::{
    ChannelConfig, Config, ConfigErrors, GroupMessages, TelegramChats, TelegramConfig,
    TelegramMode, parse_str,
};

const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
const SECRET: &str = "webhook-secret_1";

fn env(name: &str) -> Option<String> {
    match name {
        "TG_TOKEN" => Some(TOKEN.into()),
        "TG_SECRET" => Some(SECRET.into()),
        "TG_BAD" => Some("not a token".into()),
        _ => None,
    }
}

fn telegram(extra: &str) -> String {
    format!(
        "[[channels]]\ntype = \"telegram\"\nname = \"bot\"\ntoken_env = \"TG_TOKEN\"\n{extra}\n"
    )
}

fn only_telegram(config: &Config) -> &TelegramConfig {
    match config.channels.as_slice() {
        [ChannelConfig::Telegram(t)] => t,
        other => panic!("expected one telegram channel, got {other:?}"),
    }
}

#[test]
fn minimal_telegram_channel_gets_every_default() -> Result<(), ConfigErrors> {
    let config = parse_str(&telegram(""), &env)?;
    let bot = only_telegram(&config);
    assert_eq!(bot.name, "bot");
    assert_eq!(bot.token.expose(), TOKEN);
    assert_eq!(bot.bot_id(), "123456789");
    assert_eq!(bot.api_url, "https://api.telegram.org");
    assert_eq!(bot.chats, TelegramChats::Private);
    assert_eq!(bot.group_messages, GroupMessages::Mentions);
    assert_eq!(bot.max_file_bytes, 20 * 1024 * 1024);
    assert_eq!(bot.batch_size, 50);
    assert_eq!(
        bot.mode,
        TelegramMode::Polling {
            timeout: Duration::from_secs(25),
            delete_webhook: false
        }
    );
    assert!(
        !format!("{config:?}").contains(TOKEN),
        "the token is redacted in Debug"
    );
    Ok(())
}

#[test]
fn webhook_mode_with_every_key() -> Result<(), ConfigErrors> {
    let config = parse_str(
        &telegram(
            "mode = \"webhook\"\nwebhook_url = \"https://intake.example.com/webhooks/bot\"\n\
             webhook_secret_env = \"TG_SECRET\"\napi_url = \"http://127.0.0.1:8081/\"\n\
             chats = \"all\"\ngroup_messages = \"all\"\nmax_file_bytes = \"5 MiB\"\n\
             batch_size = 10\npoison_after = 3",
        ),
        &env,
    )?;
    let bot = only_telegram(&config);
    let TelegramMode::Webhook { url, secret } = &bot.mode else {
        panic!("expected webhook mode: {:?}", bot.mode);
    };
    assert_eq!(url, "https://intake.example.com/webhooks/bot");
    assert_eq!(secret.expose(), SECRET);
    assert_eq!(
        bot.api_url, "http://127.0.0.1:8081",
        "trailing slash trimmed"
    );
    assert_eq!(bot.chats, TelegramChats::All);
    assert_eq!(bot.group_messages, GroupMessages::All);
    assert_eq!(bot.max_file_bytes, 5 * 1024 * 1024);
    assert_eq!((bot.batch_size, bot.poison_after), (10, 3));
    Ok(())
}

#[test]
fn every_mistake_is_reported_with_its_key_path_and_no_secret() {
    let cases: &[(&str, String, &str, &str)] = &[
        (
            "inline token",
            format!("[[channels]]\ntype = \"telegram\"\nname = \"bot\"\ntoken = \"{TOKEN}\"\n"),
            "channels[0].token",
            "token_env",
        ),
        (
            "no token",
            "[[channels]]\ntype = \"telegram\"\nname = \"bot\"\n".into(),
            "channels[0].token_env",
            "missing",
        ),
        (
            "both token keys",
            telegram("token_file = \"/run/secrets/tg\""),
            "channels[0].token_file",
            "exactly one",
        ),
        (
            "malformed token",
            "[[channels]]\ntype = \"telegram\"\nname = \"bot\"\ntoken_env = \"TG_BAD\"\n".into(),
            "channels[0].token_env",
            "does not look like a bot token",
        ),
        (
            "bad mode",
            telegram("mode = \"push\""),
            "channels[0].mode",
            "\"webhook\"",
        ),
        (
            "webhook without secret",
            telegram("mode = \"webhook\"\nwebhook_url = \"https://x.example/h\""),
            "channels[0].webhook_secret_env",
            "missing",
        ),
        (
            "webhook without url",
            telegram("mode = \"webhook\"\nwebhook_secret_env = \"TG_SECRET\""),
            "channels[0].webhook_url",
            "missing",
        ),
        (
            "webhook over http",
            telegram(
                "mode = \"webhook\"\nwebhook_secret_env = \"TG_SECRET\"\n\
                 webhook_url = \"http://x.example/h\"",
            ),
            "channels[0].webhook_url",
            "https://",
        ),
        (
            "webhook keys while polling",
            telegram("webhook_secret_env = \"TG_SECRET\""),
            "channels[0].webhook_secret_env",
            "only used with mode = \"webhook\"",
        ),
        (
            "cleartext api url",
            telegram("api_url = \"http://api.example.com\""),
            "channels[0].api_url",
            "cleartext",
        ),
        (
            "bad chats",
            telegram("chats = \"groups\""),
            "channels[0].chats",
            "\"all\"",
        ),
        (
            "group filter without groups",
            telegram("group_messages = \"all\""),
            "channels[0].group_messages",
            "chats = \"all\"",
        ),
        (
            "batch too large",
            telegram("batch_size = 101"),
            "channels[0].batch_size",
            "1..=100",
        ),
        (
            "poll timeout too long",
            telegram("poll_timeout = \"2m\""),
            "channels[0].poll_timeout",
            "50s",
        ),
        (
            "bad file limit",
            telegram("max_file_bytes = \"lots\""),
            "channels[0].max_file_bytes",
            "not a size",
        ),
        (
            "unknown key",
            telegram("chat = \"all\""),
            "channels[0].chat",
            "unknown key",
        ),
    ];
    for (what, toml, path, needle) in cases {
        let Err(errors) = parse_str(toml, &env) else {
            panic!("{what}: accepted");
        };
        let found = errors.errors().iter().find(|e| e.path == *path);
        let Some(found) = found else {
            panic!("{what}: no error at {path}: {errors}");
        };
        assert!(found.message.contains(needle), "{what}: {found}");
        let text = errors.to_string();
        assert!(
            !text.contains(TOKEN) && !text.contains("AAHdq"),
            "{what}: {text}"
        );
        assert!(!text.contains(SECRET), "{what}: {text}");
    }
}
