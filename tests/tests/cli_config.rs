//! The `intake` binary and its config: `config check` rejects everything `run` rejects (walked
//! error by error, and checked against the gateway's own start-up in-process), commands that
//! never read a mailbox run without its password, a relative `[blobs] dir` follows the config
//! file, and `blob get --dir` on a missing folder says so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use intake_gateway::blobs::BlobStore;
use intake_tests::setup::intake_binary;

/// A config `run` starts on (Redis is connected lazily; nothing listens on port 1), written
/// with one key replaced or added per case.
fn base_config(redis_url: &str, password_env: &str) -> String {
    format!(
        "[redis]\nurl = \"{redis_url}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n[blobs]\n\
         dir = \"store\"\n\n[conversations]\nlanguages = [\"en\", \"de\"]\n\n[[channels]]\n\
         type = \"email\"\nname = \"support\"\nhost = \"127.0.0.1\"\nport = 1\ntls = \"none\"\n\
         username = \"support\"\npassword_env = \"{password_env}\"\n"
    )
}

/// Runs `intake` with `args` to completion, killing it (and failing) after 20 s.
fn intake(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Output {
    let mut command = Command::new(intake_binary().unwrap());
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("INTAKE_TEST_UNSET_PW")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "intake {args:?} did not exit: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every problem the gateway refuses at start-up, each walked through `config check`, `run`
/// and the in-process `Gateway::start`: all three refuse, naming the same key path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_rejects_everything_run_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let a_file = dir.path().join("a-file");
    std::fs::write(&a_file, "not a folder").unwrap();
    let base = base_config("redis://127.0.0.1:1", "IMAP_PASSWORD");
    let env = [("IMAP_PASSWORD", "secret")];
    let path = dir.path().join("intake.toml");
    let path_arg = path.to_str().unwrap();

    std::fs::write(&path, &base).unwrap();
    let ok = intake(&["config", "check", path_arg], &env, dir.path());
    assert!(
        ok.status.success(),
        "the base config is valid: {}",
        stderr(&ok)
    );

    let under_file = format!("dir = {:?}", a_file.join("blobs").display().to_string());
    // (what, edit of the base config, key path, whether the config crate alone finds it)
    let cases: Vec<(&str, String, &str, bool)> = vec![
        (
            "a language the detector does not know",
            base.replace("[\"en\", \"de\"]", "[\"en\", \"xx\"]"),
            "conversations.languages[1]",
            false,
        ),
        (
            "a port out of range",
            base.replace("127.0.0.1:1\"", "127.0.0.1:99999\""),
            "redis.url",
            false,
        ),
        (
            "a database that is not a number",
            base.replace("127.0.0.1:1\"", "127.0.0.1:6379/cases\""),
            "redis.url",
            false,
        ),
        (
            "an unknown protocol",
            base.replace("127.0.0.1:1\"", "127.0.0.1:6379/?protocol=resp9\""),
            "redis.url",
            false,
        ),
        (
            "a blob directory below a file",
            base.replace("dir = \"store\"", &under_file),
            "blobs.dir",
            false,
        ),
        (
            "a blob directory that is a file",
            base.replace("dir = \"store\"", "dir = \"a-file\""),
            "blobs.dir",
            false,
        ),
        (
            "a subject tag that does not compile",
            base.replace(
                "[conversations]\n",
                "[conversations]\nsubject_tags = [{ name = \"case\", pattern = \"(open\" }]\n",
            ),
            "conversations.subject_tags[0].pattern",
            true,
        ),
    ];
    for (what, text, key, config_crate_finds_it) in cases {
        assert_ne!(text, base, "{what}: the edit applies");
        std::fs::write(&path, &text).unwrap();
        for command in [
            &["config", "check", path_arg][..],
            &["run", "--config", path_arg],
        ] {
            let out = intake(command, &env, dir.path());
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{what}: {command:?}: {err}");
            assert!(
                err.lines().any(|l| l.starts_with(&format!("{key}: "))),
                "{what}: {command:?} names {key}: {err}"
            );
            assert!(!err.contains("gateway started"), "{what}: {err}");
        }
        // The gateway itself refuses it at start-up, not only the CLI in front of it.
        let loaded = intake_config::parse_str_with(
            &text,
            &|_| Some("secret".into()),
            Some(dir.path()),
            intake_config::LoadOptions::default(),
        );
        match loaded.map(|loaded| loaded.config) {
            Err(errors) => {
                assert!(config_crate_finds_it, "{what}: {errors}");
                assert!(errors.to_string().contains(key), "{what}: {errors}");
            }
            Ok(config) => {
                assert!(!config_crate_finds_it, "{what}");
                let Err(e) = intake_gateway::Gateway::start(config).await else {
                    panic!("{what}: the gateway started");
                };
                assert!(e.to_string().contains(key), "{what}: {e}");
            }
        }
    }
}

/// `config check`, `tail` and `blob get --config` never read a mailbox, so they run without its
/// password; `config check` warns, naming the variable; `run` and `check` refuse.
#[test]
fn commands_that_never_read_a_mailbox_do_not_need_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    let path = etc.join("intake.toml");
    std::fs::write(
        &path,
        base_config("redis://127.0.0.1:1", "INTAKE_TEST_UNSET_PW"),
    )
    .unwrap();
    let path_arg = path.to_str().unwrap();
    // The relative `dir = "store"` means etc/store, wherever intake is started from.
    let store = BlobStore::new(etc.join("store"));
    store.ensure_root().unwrap();
    let bytes = b"a stored raw message\r\n";
    let digest = intake_normalizer::sha256_hex(bytes);
    store.put(&digest, bytes).unwrap();
    store.sync().unwrap();
    let elsewhere = dir.path();

    let out = intake(&["config", "check", path_arg], &[], elsewhere);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok"));
    assert!(
        err.lines()
            .any(|l| l.starts_with("warning: channels[0].password_env: ")
                && l.contains("INTAKE_TEST_UNSET_PW")),
        "{err}"
    );

    let reference = format!("sha256:{digest}");
    let out = intake(
        &["blob", "get", "--config", path_arg, &reference],
        &[],
        elsewhere,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, bytes);

    for command in [
        &["run", "--config", path_arg][..],
        &["check", "--config", path_arg],
    ] {
        let out = intake(command, &[], elsewhere);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {err}");
        assert!(
            err.contains("channels[0].password_env: variable INTAKE_TEST_UNSET_PW is not set"),
            "{command:?}: {err}"
        );
    }
}

/// `tail` needs Redis's password (when it has one) but not a mailbox's.
#[test]
fn tail_refuses_only_a_missing_redis_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intake.toml");
    let text = base_config("redis://127.0.0.1:1", "IMAP_PASSWORD").replace(
        "[http]",
        "password_env = \"INTAKE_TEST_UNSET_PW\"\n\n[http]",
    );
    std::fs::write(&path, text).unwrap();
    let out = intake(
        &[
            "tail",
            "--config",
            path.to_str().unwrap(),
            "--duration",
            "1s",
        ],
        &[],
        dir.path(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("redis.password_env: variable INTAKE_TEST_UNSET_PW is not set"),
        "{err}"
    );
    assert!(
        !err.contains("channels[0]"),
        "IMAP_PASSWORD is not needed: {err}"
    );
}

#[test]
fn blob_get_on_a_missing_folder_says_so_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-blobs");
    let reference = format!("sha256:{}", intake_normalizer::sha256_hex(b"x"));
    let out = intake(
        &[
            "blob",
            "get",
            "--dir",
            missing.to_str().unwrap(),
            &reference,
        ],
        &[],
        dir.path(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "blob directory {} does not exist",
            missing.display()
        )),
        "{err}"
    );
    // An existing but empty store is a different answer: not stored, exit 1.
    std::fs::create_dir(&missing).unwrap();
    let out = intake(
        &[
            "blob",
            "get",
            "--dir",
            missing.to_str().unwrap(),
            &reference,
        ],
        &[],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// A start-up failure is reported once, in text and in JSON logs alike.
#[test]
fn a_fatal_error_is_printed_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intake.toml");
    let text = base_config("redis://127.0.0.1:1", "IMAP_PASSWORD")
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    std::fs::write(&path, text).unwrap();
    let env = [("IMAP_PASSWORD", "secret")];

    let out = intake(
        &["run", "--config", path.to_str().unwrap()],
        &env,
        dir.path(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("cannot listen on").count(), 1, "{err}");
    assert!(err.contains("error: cannot listen on"), "{err}");

    let out = intake(
        &[
            "--log-format",
            "json",
            "run",
            "--config",
            path.to_str().unwrap(),
        ],
        &env,
        dir.path(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let fatal: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("cannot listen on"))
        .collect();
    assert_eq!(fatal.len(), 1, "{err}");
    let event: serde_json::Value = serde_json::from_str(fatal[0]).unwrap();
    assert_eq!(event["level"], "ERROR", "{event}");
}
