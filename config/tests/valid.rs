//! Valid configs: defaults, every key set, secrets from env and files (never shown in `Debug`),
//! `load_file`, and the shipped example config, which must keep parsing.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use intake_config::{
    AfterIngest, ChannelConfig, Config, ConfigErrors, Durability, EmailConfig, TlsMode, load_file,
    parse_str,
};

const SECRET: &str = "hunter2-do-not-print";

fn env(name: &str) -> Option<String> {
    matches!(name, "IMAP_PASSWORD" | "REDIS_PASSWORD").then(|| SECRET.to_string())
}

fn only_email(config: &Config) -> &EmailConfig {
    match config.channels.as_slice() {
        [ChannelConfig::Email(email)] => email,
        other => panic!("expected one email channel, got {other:?}"),
    }
}

#[test]
fn minimal_config_gets_every_default() -> Result<(), ConfigErrors> {
    let config = parse_str(
        r#"
        [[channels]]
        type = "email"
        name = "support"
        host = "imap.example.com"
        username = "support@example.com"
        password_env = "IMAP_PASSWORD"
        "#,
        &env,
    )?;
    assert_eq!(config.redis.url.expose(), "redis://127.0.0.1:6379");
    assert_eq!(config.redis.stream, "intake:cases");
    assert_eq!(config.redis.dead_letter_stream, "intake:dead");
    assert_eq!(config.redis.dedupe_ttl, Duration::from_secs(30 * 24 * 3600));
    assert_eq!(config.redis.durability, Durability::Append);
    assert_eq!(config.http.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
    assert_eq!(config.runtime.worker_threads, None, "one per core");
    assert_eq!(config.blobs.dir, PathBuf::from("/var/lib/intake/blobs"));

    let email = only_email(&config);
    assert_eq!(email.name, "support");
    assert_eq!(email.host, "imap.example.com");
    assert_eq!(email.port, 993);
    assert_eq!(email.tls, TlsMode::Implicit);
    assert!(!email.allow_insecure);
    assert_eq!(email.username, "support@example.com");
    assert_eq!(email.password.expose(), SECRET);
    assert_eq!(email.mailbox, "INBOX");
    assert_eq!(email.after_ingest, AfterIngest::Seen);
    assert!(email.idle);
    assert_eq!(email.poll_interval, Duration::from_secs(60));
    assert_eq!(email.batch_size, 500);
    assert_eq!(email.max_message_bytes, 25 * 1024 * 1024);
    assert_eq!(email.poison_after, 5);
    Ok(())
}

#[test]
fn every_key_set() -> Result<(), Box<dyn std::error::Error>> {
    let mut secret_file = tempfile::NamedTempFile::new()?;
    writeln!(secret_file, "{SECRET}")?;
    let toml = format!(
        r#"
        [redis]
        url = "rediss://intake@redis.internal:6380/2"
        password_env = "REDIS_PASSWORD"
        stream = "{{intake}}:cases"
        dead_letter_stream = "{{intake}}:dead"
        dedupe_ttl = "720h"
        durability = "replicas"
        replicas = 2
        wait_timeout = "250ms"

        [http]
        listen = "[::]:9000"

        [runtime]
        worker_threads = 3

        [blobs]
        dir = "./data/blobs"

        [[channels]]
        type = "email"
        name = "sales.eu-1"
        host = "mail.example.com"
        port = 1143
        tls = "none"
        allow_insecure = true
        username = "sales"
        password_file = "{}"
        mailbox = "Sales"
        after_ingest = {{ move_to = "Processed" }}
        idle = false
        poll_interval = "1m 30s"
        batch_size = 10000
        max_message_bytes = "10MB"
        poison_after = 1

        [[channels]]
        type = "email"
        name = "billing"
        host = "localhost"
        tls = "none"
        username = "billing"
        password_env = "IMAP_PASSWORD"
        after_ingest = "delete"
        max_message_bytes = 1024
        "#,
        secret_file.path().display()
    );
    let config = parse_str(&toml, &env)?;
    let expected_url = format!("rediss://intake:{SECRET}@redis.internal:6380/2");
    assert_eq!(config.redis.url.expose(), expected_url);
    assert_eq!(
        config.redis.display_url(),
        "rediss://[redacted]@redis.internal:6380/2"
    );
    assert_eq!(config.redis.key_prefix(), "{intake}");
    assert_eq!(config.redis.dedupe_ttl, Duration::from_secs(720 * 3600));
    assert_eq!(
        config.redis.durability,
        Durability::Replicas {
            replicas: 2,
            timeout: Duration::from_millis(250)
        }
    );
    assert_eq!(config.http.listen.to_string(), "[::]:9000");
    assert_eq!(config.runtime.worker_threads, Some(3));
    assert_eq!(config.blobs.dir, PathBuf::from("./data/blobs"));

    let [ChannelConfig::Email(sales), ChannelConfig::Email(billing)] = config.channels.as_slice()
    else {
        panic!("expected two email channels: {:?}", config.channels);
    };
    // The file's trailing newline is trimmed.
    assert_eq!(sales.password.expose(), SECRET);
    assert_eq!(
        (sales.port, sales.tls, sales.allow_insecure),
        (1143, TlsMode::None, true)
    );
    assert_eq!(sales.mailbox, "Sales");
    assert_eq!(sales.after_ingest, AfterIngest::MoveTo("Processed".into()));
    assert!(!sales.idle);
    assert_eq!(sales.poll_interval, Duration::from_secs(90));
    assert_eq!(sales.batch_size, 10_000);
    assert_eq!(sales.max_message_bytes, 10_000_000);
    assert_eq!(sales.poison_after, 1);

    assert_eq!((billing.port, billing.tls), (143, TlsMode::None));
    assert_eq!(billing.after_ingest, AfterIngest::Delete);
    assert_eq!(billing.max_message_bytes, 1024);

    let debug = format!("{config:?}");
    assert!(!debug.contains(SECRET), "secret in Debug output: {debug}");
    assert!(debug.contains("[redacted]"));
    Ok(())
}

#[test]
fn aof_durability_defaults_to_no_replicas_and_a_one_second_wait() -> Result<(), ConfigErrors> {
    let channel = "[[channels]]\ntype = \"email\"\nname = \"a\"\nhost = \"::1\"\n\
                   username = \"a\"\npassword_env = \"IMAP_PASSWORD\"\n";
    let config = parse_str(&format!("[redis]\ndurability = \"aof\"\n{channel}"), &env)?;
    let expected = Durability::Aof {
        replicas: 0,
        timeout: Duration::from_secs(1),
    };
    assert_eq!(config.redis.durability, expected);
    assert_eq!(config.redis.durability.word(), "aof");
    let toml =
        format!("[redis]\ndurability = \"aof\"\nreplicas = 1\nwait_timeout = \"5s\"\n{channel}");
    let config = parse_str(&toml, &env)?;
    let expected = Durability::Aof {
        replicas: 1,
        timeout: Duration::from_secs(5),
    };
    assert_eq!(config.redis.durability, expected);
    Ok(())
}

#[test]
fn starttls_defaults_to_port_143_and_sizes_take_binary_units() -> Result<(), ConfigErrors> {
    let config = parse_str(
        r#"
        [[channels]]
        type = "email"
        name = "a"
        host = "imap.example.com"
        tls = "starttls"
        username = "a"
        password_env = "IMAP_PASSWORD"
        max_message_bytes = "25 MiB"
        "#,
        &env,
    )?;
    let email = only_email(&config);
    assert_eq!((email.port, email.tls), (143, TlsMode::Starttls));
    assert_eq!(email.max_message_bytes, 25 * 1024 * 1024);
    assert_eq!(email.poison_after, 5);
    Ok(())
}

#[test]
fn load_file_reads_config_and_reports_unreadable_file() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let secret = dir.path().join("imap");
    std::fs::write(&secret, SECRET)?;
    let path = dir.path().join("intake.toml");
    let toml = format!(
        "[[channels]]\ntype = \"email\"\nname = \"a\"\nhost = \"::1\"\ntls = \"none\"\n\
         username = \"a\"\npassword_file = {:?}\n",
        secret.display().to_string()
    );
    std::fs::write(&path, toml)?;
    let config = load_file(&path)?;
    assert_eq!(only_email(&config).password.expose(), SECRET);

    let missing = dir.path().join("missing.toml");
    let Err(errors) = load_file(&missing) else {
        panic!("missing file accepted");
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.errors()[0].path, "");
    assert!(errors.to_string().contains("missing.toml"), "{errors}");
    Ok(())
}

#[test]
fn example_config_parses() -> Result<(), Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/intake.example.toml");
    let text = std::fs::read_to_string(&path)?;
    let config = parse_str(&text, &|name| {
        (name == "IMAP_PASSWORD").then(|| SECRET.into())
    })?;
    assert_eq!(config.redis.url.expose(), "redis://127.0.0.1:6379");
    assert_eq!(config.blobs.dir, PathBuf::from("./data/blobs"));
    let email = only_email(&config);
    assert_eq!(email.name, "support");
    assert_eq!((email.host.as_str(), email.port), ("127.0.0.1", 1143));
    assert_eq!(email.tls, TlsMode::None);
    assert_eq!(email.username, "support");
    assert_eq!(email.password.expose(), SECRET);
    assert_eq!(email.after_ingest, AfterIngest::Seen);
    assert_eq!(email.poison_after, 5);

    // The alternatives the comments offer must be valid too.
    for alternative in [
        "after_ingest = \"delete\"",
        "after_ingest = { move_to = \"Processed\" }",
        "tls = \"starttls\"",
        "durability = \"replicas\"\nreplicas = 1\nwait_timeout = \"1s\"",
        "durability = \"aof\"",
    ] {
        let key = alternative.split(' ').next().unwrap_or("");
        let edited: String = text
            .lines()
            .map(|line| {
                if line.starts_with(&format!("{key} =")) {
                    alternative
                } else {
                    line
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        parse_str(&edited, &|_| Some(SECRET.into()))?;
    }
    Ok(())
}

#[test]
fn example_telegram_block_parses_in_both_modes() -> Result<(), Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/intake.example.toml");
    let text = std::fs::read_to_string(&path)?;
    let start = text
        .find("# [[channels]]\n# type = \"telegram\"")
        .ok_or("no telegram example")?;
    // Uncomment the block once (its own comments stay comments).
    let block: String = text[start..]
        .lines()
        .map(|line| line.strip_prefix("# ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n");
    let env = |name: &str| match name {
        "TELEGRAM_TOKEN" => Some("123:abcDEF_ghi".to_string()),
        "TELEGRAM_WEBHOOK_SECRET" => Some("hook-secret".to_string()),
        _ => None,
    };
    let config = parse_str(&block, &env)?;
    let [ChannelConfig::Telegram(bot)] = config.channels.as_slice() else {
        panic!("expected the telegram channel");
    };
    assert_eq!(bot.name, "telegram-support");
    assert_eq!(bot.max_file_bytes, 20 * 1024 * 1024);
    let webhook = block
        .replace("mode = \"polling\"", "mode = \"webhook\"")
        .replace("poll_timeout = \"25s\"\n", "")
        .replace("delete_webhook = false\n", "")
        .replace("# webhook_url", "webhook_url")
        .replace("# webhook_secret_env", "webhook_secret_env");
    let config = parse_str(&webhook, &env)?;
    let [ChannelConfig::Telegram(bot)] = config.channels.as_slice() else {
        panic!("expected the telegram channel");
    };
    assert!(matches!(
        bot.mode,
        intake_config::TelegramMode::Webhook { .. }
    ));
    Ok(())
}

#[test]
fn empty_password_file_is_rejected() -> Result<(), Box<dyn std::error::Error>> {
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), "\n")?;
    let toml = format!(
        "[[channels]]\ntype = \"email\"\nname = \"a\"\nhost = \"localhost\"\nusername = \"a\"\n\
         password_file = {:?}\n",
        file.path().display().to_string()
    );
    let Err(errors) = parse_str(&toml, &env) else {
        panic!("empty secret file accepted");
    };
    assert_eq!(
        errors.errors()[0].path,
        "channels[0].password_file",
        "{errors}"
    );
    assert!(errors.to_string().contains("is empty"), "{errors}");
    Ok(())
}

/// The container config of deploy/compose.yaml and deploy/kubernetes: valid except for the
/// secret file, which exists only inside the container.
#[test]
fn container_config_is_valid_but_for_its_secret_file() -> Result<(), Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/intake.container.toml");
    let text = std::fs::read_to_string(&path)?;
    let Err(errors) = parse_str(&text, &|_| None) else {
        return Err("the secret file cannot exist outside the container".into());
    };
    let paths: Vec<&str> = errors.errors().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["channels[0].password_file"], "{errors}");
    Ok(())
}
