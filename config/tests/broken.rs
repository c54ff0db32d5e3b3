//! Broken configs: each must be rejected with an error at the exact key path, without leaking
//! secrets, and a config with many problems must report all of them at once.

use intake_config::{ConfigErrors, parse_str};

const SECRET: &str = "hunter2-do-not-print";

fn env(name: &str) -> Option<String> {
    match name {
        "IMAP_PASSWORD" | "REDIS_PASSWORD" => Some(SECRET.to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

/// A document with one email channel: `name`, `username` and the given keys.
fn with_channel(keys: &str) -> String {
    format!("[[channels]]\ntype = \"email\"\nname = \"support\"\nusername = \"support\"\n{keys}\n")
}

/// A valid single-channel document plus the given channel keys (which must not repeat one).
fn email(keys: &str) -> String {
    with_channel(&format!(
        "host = \"127.0.0.1\"\npassword_env = \"IMAP_PASSWORD\"\n{keys}"
    ))
}

fn errors_of(toml: &str) -> ConfigErrors {
    match parse_str(toml, &env) {
        Ok(config) => panic!("accepted:\n{toml}\nas {config:?}"),
        Err(errors) => errors,
    }
}

/// (what, config, key path that must carry an error, text its message must contain)
#[rustfmt::skip] // one case per line reads as a table
fn cases() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let ok = email("");
    let top = |section: &str| format!("{section}\n{ok}");
    vec![
        ("bad subject tag regex", top("[[conversations.subject_tags]]\nname = \"case\"\npattern = \"(unclosed\""),
            "conversations.subject_tags[0].pattern", "invalid regular expression"),
        ("bad subject tag name", top("[[conversations.subject_tags]]\nname = \"a b\"\npattern = \"x\""),
            "conversations.subject_tags[0].name", "letters"),
        ("bad language code", top("[conversations]\nlanguages = [\"en\", \"English\"]"),
            "conversations.languages[1]", "ISO 639-1"),
        ("loop threshold zero", top("[conversations]\nloop_threshold = 0"),
            "conversations.loop_threshold", "out of range"),
        ("bad conversation ttl", top("[conversations]\nttl = \"forever\""), "conversations.ttl", "not a duration"),
        ("unknown conversations key", top("[conversations]\nwindow = \"1m\""), "conversations.window", "unknown key"),
        ("missing host", with_channel("password_env = \"IMAP_PASSWORD\""), "channels[0].host", "missing"),
        ("both password_env and password_file", email("password_file = \"/run/secrets/imap\""),
            "channels[0].password_file", "exactly one"),
        ("neither password_env nor password_file", with_channel("host = \"localhost\""),
            "channels[0].password_env", "password_file"),
        ("inline password", email("password = \"hunter2-do-not-print\""), "channels[0].password", "use password_env"),
        ("unset env var", with_channel("host = \"localhost\"\npassword_env = \"IMAP_PW\""),
            "channels[0].password_env", "variable IMAP_PW is not set"),
        ("empty env var", with_channel("host = \"localhost\"\npassword_env = \"EMPTY\""),
            "channels[0].password_env", "variable EMPTY is empty"),
        ("unreadable password file", with_channel("host = \"localhost\"\npassword_file = \"/nonexistent/intake/imap\""),
            "channels[0].password_file", "cannot read /nonexistent/intake/imap"),
        ("tls none to a non-loopback host",
            with_channel("host = \"imap.example.com\"\ntls = \"none\"\npassword_env = \"IMAP_PASSWORD\""),
            "channels[0].tls", "allow_insecure = true"),
        ("bad tls value", email("tls = \"ssl\""), "channels[0].tls", "\"starttls\""),
        ("unreadable tls_ca_file", email("tls_ca_file = \"/nonexistent/ca.pem\""),
            "channels[0].tls_ca_file", "cannot read /nonexistent/ca.pem"),
        ("tls_ca_file without tls",
            with_channel("host = \"127.0.0.1\"\ntls = \"none\"\ntls_ca_file = \"/etc/hostname\"\npassword_env = \"IMAP_PASSWORD\""),
            "channels[0].tls_ca_file", "tls = \"none\""),
        ("bad after_ingest word", email("after_ingest = \"archive\""), "channels[0].after_ingest", "move_to"),
        ("bad after_ingest type", email("after_ingest = 3"), "channels[0].after_ingest", "found integer"),
        ("empty move_to", email("after_ingest = { move_to = \"\" }"), "channels[0].after_ingest.move_to", "folder"),
        ("move_to the mailbox", email("after_ingest = { move_to = \"inbox\" }"),
            "channels[0].after_ingest.move_to", "re-ingest"),
        ("misspelt move_to", email("after_ingest = { moveto = \"Done\" }"),
            "channels[0].after_ingest.moveto", "unknown key"),
        ("batch_size 0", email("batch_size = 0"), "channels[0].batch_size", "1..=10000"),
        ("batch_size too big", email("batch_size = 10001"), "channels[0].batch_size", "1..=10000"),
        ("bad duration", email("poll_interval = \"soon\""), "channels[0].poll_interval", "not a duration"),
        ("zero duration", email("poll_interval = \"0s\""), "channels[0].poll_interval", "at least"),
        ("duration as integer", email("poll_interval = 60"), "channels[0].poll_interval", "expected a duration string"),
        ("bad durability", top("[redis]\ndurability = \"fsync\""), "redis.durability", "\"append\", \"replicas\" or \"aof\""),
        ("replicas without a count", top("[redis]\ndurability = \"replicas\""), "redis.replicas", "missing"),
        ("replicas = 0", top("[redis]\ndurability = \"replicas\"\nreplicas = 0"), "redis.replicas", "1..=16"),
        ("negative aof replicas", top("[redis]\ndurability = \"aof\"\nreplicas = -1"), "redis.replicas", "0..=16"),
        ("replicas with append", top("[redis]\nreplicas = 1"), "redis.replicas", "only used with"),
        ("wait_timeout with append", top("[redis]\ndurability = \"append\"\nwait_timeout = \"1s\""),
            "redis.wait_timeout", "only used with"),
        ("wait_timeout too long", top("[redis]\ndurability = \"aof\"\nwait_timeout = \"6s\""),
            "redis.wait_timeout", "at most 5s"),
        ("wait_timeout too short", top("[redis]\ndurability = \"aof\"\nwait_timeout = \"1ms\""),
            "redis.wait_timeout", "at least 10ms"),
        ("bad dedupe_ttl", top("[redis]\ndedupe_ttl = \"a while\""), "redis.dedupe_ttl", "not a duration"),
        ("bad size", email("max_message_bytes = \"lots\""), "channels[0].max_message_bytes", "not a size"),
        ("zero size", email("max_message_bytes = 0"), "channels[0].max_message_bytes", "greater than 0"),
        ("poison_after 0", email("poison_after = 0"), "channels[0].poison_after", "at least 1"),
        ("poison_after negative", email("poison_after = -3"), "channels[0].poison_after", "at least 1"),
        ("bad port", email("port = 70000"), "channels[0].port", "1..=65535"),
        ("port of the wrong type", email("port = \"993\""), "channels[0].port", "found string"),
        ("bad channel name", ok.replace("name = \"support\"", "name = \"sup port\""), "channels[0].name", "A-Z"),
        ("unknown channel key", email("hostname = \"x\""), "channels[0].hostname", "unknown key"),
        ("unknown redis key", top("[redis]\nurll = \"redis://x\""), "redis.urll", "expected one of: url,"),
        ("unknown table", top("[metrics]\nport = 1"), "metrics", "unknown key"),
        ("unknown channel type", "[[channels]]\ntype = \"fax\"\nname = \"x\"\n".into(),
            "channels[0].type", "known types: email"),
        ("missing channel type", "[[channels]]\nname = \"x\"\n".into(), "channels[0].type", "email"),
        ("duplicate channel names", format!("{ok}{ok}"), "channels[1].name", "duplicate channel name \"support\""),
        ("stream == dead_letter_stream", top("[redis]\nstream = \"s\"\ndead_letter_stream = \"s\""),
            "redis.dead_letter_stream", "must differ"),
        ("mismatched hash tags", top("[redis]\nstream = \"{a}:cases\"\ndead_letter_stream = \"{b}:dead\""),
            "redis.dead_letter_stream", "one slot"),
        ("hash tag on one stream only", top("[redis]\nstream = \"{intake}:cases\""),
            "redis.dead_letter_stream", "same hash tag"),
        ("empty stream", top("[redis]\nstream = \"\""), "redis.stream", "empty"),
        ("bad redis url scheme", top("[redis]\nurl = \"http://127.0.0.1:6379\""), "redis.url", "redis://"),
        ("password inline in redis url", top("[redis]\nurl = \"redis://:hunter2-do-not-print@db\""),
            "redis.url", "password_env"),
        ("unset redis password variable", top("[redis]\npassword_env = \"NOPE\""),
            "redis.password_env", "variable NOPE is not set"),
        ("bad listen address", top("[http]\nlisten = \"localhost:8080\""), "http.listen", "socket address"),
        ("empty blobs dir", top("[blobs]\ndir = \"\""), "blobs.dir", "empty"),
        ("no channels", "[redis]\nurl = \"redis://127.0.0.1\"\n".into(), "channels", "at least one"),
        ("empty channels array", "channels = []\n".into(), "channels", "at least one"),
        ("channels not tables", "channels = \"email\"\n".into(), "channels", "found string"),
    ]
}

#[test]
fn each_broken_config_names_its_key_path() {
    for (what, toml, path, needle) in cases() {
        let errors = errors_of(&toml);
        let rendered = errors.to_string();
        let hit = errors.errors().iter().find(|e| e.path == path);
        let Some(hit) = hit else {
            panic!("{what}: no error at {path}; got:\n{rendered}");
        };
        assert!(
            hit.message.contains(needle),
            "{what}: {path} message lacks {needle:?}:\n{rendered}"
        );
        assert!(
            rendered
                .lines()
                .any(|l| l.starts_with(&format!("{path}: "))),
            "{what}: {rendered}"
        );
        assert!(
            !rendered.contains(SECRET),
            "{what}: secret leaked:\n{rendered}"
        );
        assert!(!errors.is_transient());
    }
}

#[test]
fn unset_variable_message_is_exact() {
    let second = "[[channels]]\ntype = \"email\"\nname = \"sales\"\nhost = \"::1\"\n\
                  username = \"sales\"\npassword_env = \"IMAP_PW\"\n";
    let errors = errors_of(&format!("{}{second}", email("")));
    assert_eq!(
        errors.to_string(),
        "channels[1].password_env: variable IMAP_PW is not set"
    );
}

#[test]
fn reports_every_error_at_once() {
    let toml = r#"
        [redis]
        url = "http://db"
        stream = "{a}:cases"
        dead_letter_stream = "{b}:dead"
        dedupe_ttl = "forever"
        colour = "blue"

        [http]
        listen = "nowhere"

        [[channels]]
        type = "email"
        name = "support"
        tls = "ssl"
        username = "support"
        password = "hunter2-do-not-print"
        batch_size = 0

        [[channels]]
        type = "email"
        name = "support"
        host = "imap.example.com"
        tls = "none"
        username = "support"
        password_env = "IMAP_PW"
        after_ingest = { move_to = "INBOX" }
        max_message_bytes = "huge"

        [[channels]]
        type = "fax"
    "#;
    let errors = errors_of(toml);
    let paths: Vec<&str> = errors.errors().iter().map(|e| e.path.as_str()).collect();
    let expected = [
        "redis.url",
        "redis.dead_letter_stream",
        "redis.dedupe_ttl",
        "redis.colour",
        "http.listen",
        "channels[0].host",
        "channels[0].tls",
        "channels[0].password",
        "channels[0].password_env",
        "channels[0].batch_size",
        "channels[1].tls",
        "channels[1].password_env",
        "channels[1].after_ingest.move_to",
        "channels[1].max_message_bytes",
        "channels[1].name",
        "channels[2].type",
    ];
    for path in expected {
        assert!(paths.contains(&path), "no error at {path}:\n{errors}");
    }
    assert_eq!(
        errors.len(),
        expected.len(),
        "unexpected extra errors:\n{errors}"
    );
    // Grouped by section in file order.
    let section = |path: &str| {
        let head = path.split('.').next().unwrap_or("");
        ["redis", "http", "channels[0]", "channels[1]", "channels[2]"]
            .iter()
            .position(|s| *s == head)
    };
    let sections: Vec<_> = paths.iter().map(|p| section(p)).collect();
    assert!(sections.is_sorted(), "not grouped by section:\n{errors}");
    assert_eq!(errors.to_string().lines().count(), expected.len());
    assert!(!errors.to_string().contains(SECRET));
}

#[test]
fn syntax_error_has_line_column_and_key_path() {
    let toml = format!("{}port = 99x\n", email(""));
    let errors = errors_of(&toml);
    assert_eq!(errors.len(), 1, "{errors}");
    let error = &errors.errors()[0];
    assert_eq!(error.path, "channels[0].port");
    assert!(error.message.contains("line 8, column"), "{errors}");
}

#[test]
fn duplicate_key_is_a_syntax_error() {
    let errors = errors_of(&email("host = \"again\""));
    let error = &errors.errors()[0];
    assert!(error.message.contains("line 7"), "{errors}");
    assert_eq!(error.path, "channels[0].host");
}
