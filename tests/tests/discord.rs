//! The Discord channel end to end: the `intake` binary (serenity's real client inside) against
//! the fake Discord and a real redis-server.
//!
//! - A bad token (close 4004) and a refused privileged intent (close 4014) end the process
//!   non-zero within seconds, with the reason and without the token.
//! - What a case holds: support channel, thread and DM messages, attachments (stored, or
//!   omitted over the limit), replies as hints, edits, bots ignored; every case valid.
//! - Messages sent while the gateway connection is down, while the process is killed and while
//!   the session is invalid are backfilled: every message exactly once across 5 kill -9
//!   restarts and 5 forced reconnects, DMs included, through history 429s.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use intake_tests::fake_discord::{Author, BOT_ID, FakeDiscord, FileSpec};
use intake_tests::redis::RedisServer;
use intake_tests::require_server;
use intake_tests::setup::{CASES, DEAD, intake_binary};
use rand::{Rng, SeedableRng};

const TOKEN: &str = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.fake-token-never-logged";
const GUILD: u64 = 197_038_439_483_310_086;
const SUPPORT: u64 = 290_926_798_999_357_250;
const THREAD: u64 = 290_926_798_999_357_251;
const NAME: &str = "discord-support";

/// Kills the child on drop (SIGKILL), so a failing assertion never leaves a gateway running.
struct Gateway(Option<Child>);

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn write_config(dir: &Path, redis: &RedisServer, fake: &FakeDiscord) -> PathBuf {
    let port = intake_tests::net::free_port().unwrap();
    let toml = format!(
        "[redis]\nurl = {:?}\nstream = {CASES:?}\ndead_letter_stream = {DEAD:?}\n\n\
         [http]\nlisten = \"127.0.0.1:{port}\"\n\n[blobs]\ndir = {:?}\n\n\
         [[channels]]\ntype = \"discord\"\nname = {NAME:?}\ntoken_env = \"DISCORD_TOKEN\"\n\
         guild_channels = [\"{SUPPORT}\"]\napi_url = {:?}\nmax_file_bytes = 1024\nbatch_size = 20\n",
        redis.url(),
        dir.join("blobs").display().to_string(),
        fake.api_url,
    );
    let path = dir.join("intake.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn spawn(config: &Path, token: &str, stderr: Stdio) -> Gateway {
    let child = Command::new(intake_binary().unwrap())
        .args(["run", "--config"])
        .arg(config)
        .env("DISCORD_TOKEN", token)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    Gateway(Some(child))
}

async fn live(fake: &FakeDiscord) {
    intake_tests::wait::wait_until(
        Duration::from_secs(30),
        Duration::from_millis(10),
        || async { fake.is_live() },
    )
    .await
    .expect("the bot's gateway session is live");
}

/// Runs the gateway with `token` and expects it to exit non-zero within 10 s; its stderr.
async fn refused_run(redis: &RedisServer, fake: &FakeDiscord, token: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), redis, fake);
    let mut gateway = spawn(&config, token, Stdio::piped());
    let started = Instant::now();
    let mut child = gateway.0.take().unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "exit status {status}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.contains(token), "the token was logged");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_or_a_refused_intent_ends_with_a_clear_error_within_seconds() {
    let redis = require_server!(RedisServer::start().await);
    let fake = FakeDiscord::start(TOKEN).await.unwrap();
    fake.add_channel(SUPPORT, GUILD);

    let stderr = refused_run(&redis, &fake, "not-the-token-xyz").await;
    assert!(stderr.contains("4004"), "{stderr}");
    assert!(stderr.contains("token was rejected"), "{stderr}");

    fake.refuse_intents(true);
    let stderr = refused_run(&redis, &fake, TOKEN).await;
    assert!(stderr.contains("4014"), "{stderr}");
    assert!(stderr.contains("MESSAGE CONTENT"), "{stderr}");
    assert!(fake.identifies() >= 2);
}

/// The case of `key`, parsed.
fn case_of(cases: &[intake_tests::StreamEntry], key: &str) -> serde_json::Value {
    let (_, fields) = cases
        .iter()
        .find(|(_, f)| f.get("idempotency_key").map(String::as_str) == Some(key))
        .unwrap_or_else(|| panic!("no case for {key}"));
    serde_json::from_str(&fields["case"]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_carry_text_files_replies_edits_and_skip_bots() {
    let redis = require_server!(RedisServer::start().await);
    let fake = FakeDiscord::start(TOKEN).await.unwrap();
    fake.add_channel(SUPPORT, GUILD);
    fake.add_thread(THREAD, GUILD, SUPPORT);
    fake.add_dm(555);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &redis, &fake);
    let _gateway = spawn(&config, TOKEN, Stdio::inherit());
    live(&fake).await;

    let ann = Author::person(80_351_110_224_678_912, "ann");
    let other_bot = Author {
        bot: true,
        ..Author::person(80_351_110_224_678_913, "helper-bot")
    };
    let me = Author {
        bot: true,
        ..Author::person(BOT_ID, "intake-bot")
    };
    let small = FileSpec {
        filename: "receipt.txt".into(),
        content_type: "text/plain".into(),
        bytes: b"order 1234".to_vec(),
    };
    let big = FileSpec {
        filename: "scan.png".into(),
        content_type: "image/png".into(),
        bytes: vec![7; 4096],
    };
    let first = fake.post(SUPPORT, &ann, "My order has not arrived.");
    let files = fake.post_full(SUPPORT, &ann, "Here is my receipt", &[small, big], None);
    let reply = fake.post_full(SUPPORT, &ann, "Any news?", &[], Some(first));
    fake.post(SUPPORT, &other_bot, "beep");
    fake.post(SUPPORT, &me, "We are on it");
    let in_thread = fake.post(THREAD, &ann, "Following up in the thread");
    let dm = fake.post(555, &ann, "Hi, privately");
    // Edited once its case is in (history shows current content, so a backfill read after
    // the edit would see the new text).
    common::wait_for_total(&redis, 5, Duration::from_secs(30)).await;
    fake.edit(SUPPORT, first, "My order 1234 has not arrived.");

    let keys = [
        format!("discord:{SUPPORT}:{first}"),
        format!("discord:{SUPPORT}:{files}"),
        format!("discord:{SUPPORT}:{reply}"),
        format!("discord:{THREAD}:{in_thread}"),
        format!("discord:555:{dm}"),
    ];
    // Five messages and one edit; the bots' are skipped.
    common::wait_for_total(&redis, 6, Duration::from_secs(30)).await;
    common::assert_exactly_once(&redis, 6).await;
    let (cases, _) = common::entries(&redis).await;

    let c = case_of(&cases, &keys[0]);
    assert_eq!(
        c["channel"],
        serde_json::json!({"kind": "discord", "name": NAME})
    );
    assert_eq!(c["body"]["text"], "My order has not arrived.");
    assert_eq!(c["sender"]["kind"], "discord");
    assert_eq!(c["sender"]["address"], "80351110224678912");
    assert_eq!(c["sender"]["discord"]["username"], "ann");
    assert_eq!(c["sender"]["discord"]["global_name"], "ann (display)");
    assert_eq!(c["source"]["discord"]["guild_id"], GUILD.to_string());
    assert_eq!(c["source"]["discord"]["channel_id"], SUPPORT.to_string());

    let c = case_of(&cases, &keys[1]);
    let attachments = c["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0]["filename"], "receipt.txt");
    assert!(
        attachments[0]["ref"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(attachments[0]["size"], 10);
    assert!(attachments[1]["ref"].is_null());
    assert!(
        attachments[1]["omitted_reason"]
            .as_str()
            .unwrap()
            .contains("max_file_bytes")
    );
    assert_eq!(attachments[1]["size"], 4096);

    let c = case_of(&cases, &keys[2]);
    assert_eq!(
        c["source"]["in_reply_to"],
        serde_json::json!([first.to_string()])
    );
    let hints = c["conversation"]["hints"].as_array().unwrap();
    assert!(
        hints
            .iter()
            .any(|h| h["signal"] == "in_reply_to" && h["value"] == format!("discord:{first}"))
    );
    // Same support channel within the idle window: one conversation.
    assert_eq!(
        c["conversation"]["key"],
        case_of(&cases, &keys[0])["conversation"]["key"]
    );

    let c = case_of(&cases, &keys[3]);
    assert_eq!(
        c["source"]["discord"]["thread_parent_id"],
        SUPPORT.to_string()
    );
    let c = case_of(&cases, &keys[4]);
    assert!(c["source"]["discord"]["guild_id"].is_null());

    let edit = cases
        .iter()
        .map(|(_, f)| serde_json::from_str::<serde_json::Value>(&f["case"]).unwrap())
        .find(|c| c["event"] == "message.edited")
        .expect("the edit is a case");
    assert_eq!(edit["body"]["text"], "My order 1234 has not arrived.");
    assert_eq!(edit["source"]["message_id"], first.to_string());
    assert!(edit["source"]["discord"]["edited_at"].is_string());
}

/// Posts into the support channel, the thread or a DM (sometimes a new one), and records it.
struct Poster {
    fake: FakeDiscord,
    rng: rand::rngs::StdRng,
    dms: Vec<u64>,
    posted: Vec<(u64, u64)>,
    /// What was happening when each message was posted, to explain a missing one.
    phase: String,
    phases: HashMap<u64, String>,
}

impl Poster {
    fn post(&mut self, n: usize) {
        for _ in 0..n {
            let channel = match self.rng.random_range(0..10) {
                0..=3 => SUPPORT,
                4..=5 => THREAD,
                6 => {
                    let dm = 700 + self.dms.len() as u64;
                    self.fake.add_dm(dm);
                    self.dms.push(dm);
                    dm
                }
                _ => match self.dms.len() {
                    0 => SUPPORT,
                    len => self.dms[self.rng.random_range(0..len)],
                },
            };
            let user = 80_351_110_224_000_000 + self.rng.random_range(0..5);
            let author = Author::person(user, &format!("customer{}", user % 10));
            let id = self
                .fake
                .post(channel, &author, &format!("message {}", self.posted.len()));
            self.posted.push((channel, id));
            self.phases.insert(id, self.phase.clone());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_once_across_kills_reconnects_and_invalid_sessions() {
    let redis = require_server!(RedisServer::start().await);
    let fake = FakeDiscord::start(TOKEN).await.unwrap();
    fake.add_channel(SUPPORT, GUILD);
    fake.add_thread(THREAD, GUILD, SUPPORT);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &redis, &fake);
    let seed: u64 = rand::rng().random();
    eprintln!("discord test seed {seed}");
    let mut poster = Poster {
        fake: fake.clone(),
        rng: rand::rngs::StdRng::seed_from_u64(seed),
        dms: Vec::new(),
        posted: Vec::new(),
        phase: String::new(),
        phases: HashMap::new(),
    };

    let mut gateway = spawn(&config, TOKEN, Stdio::inherit());
    live(&fake).await;
    for round in 0..10 {
        poster.phase = format!("round {round}, live");
        poster.post(6);
        let pause = poster.rng.random_range(0..300);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        poster.post(3);
        if round % 2 == 0 {
            drop(gateway); // SIGKILL
            poster.phase = format!("round {round}, killed");
            poster.post(5);
            if round == 4 {
                fake.rate_limit_history(3);
            }
            gateway = spawn(&config, TOKEN, Stdio::inherit());
        } else {
            match round {
                1 | 7 => fake.drop_connection(),
                3 => fake.request_reconnect(),
                _ => fake.invalidate_session(),
            }
            poster.phase = format!("round {round}, after the fault");
            poster.post(5);
        }
        live(&fake).await;
        eprintln!(
            "round {round}: {} posted, {} in the stream",
            poster.posted.len(),
            common::total(&redis).await
        );
    }
    // A DM seen only while the bot was away is read when its next message arrives.
    for dm in poster.dms.clone() {
        let id = fake.post(
            dm,
            &Author::person(80_351_110_224_000_009, "late"),
            "one more",
        );
        poster.posted.push((dm, id));
        poster.phases.insert(id, "last per DM".into());
    }
    poster.phase = "final".into();
    poster.post(3);

    let expected = poster.posted.len();
    let landed = intake_tests::wait::wait_until(
        Duration::from_secs(60),
        Duration::from_millis(100),
        || async { common::total(&redis).await >= expected as u64 },
    )
    .await;
    if landed.is_err() {
        let (cases, _) = common::entries(&redis).await;
        let keys: Vec<&str> = cases
            .iter()
            .filter_map(|(_, f)| f.get("idempotency_key").map(String::as_str))
            .collect();
        let missing: Vec<String> = poster
            .posted
            .iter()
            .filter(|(c, id)| !keys.contains(&format!("discord:{c}:{id}").as_str()))
            .map(|(c, id)| format!("{c}:{id} ({})", poster.phases[id]))
            .collect();
        panic!("missing {missing:?}");
    }
    common::wait_for_total(&redis, expected as u64, Duration::from_secs(5)).await;
    let keys = common::assert_exactly_once(&redis, expected).await;
    for (channel, id) in &poster.posted {
        assert!(
            keys.contains(&format!("discord:{channel}:{id}")),
            "message {id} of {channel} missing"
        );
    }
    let (_, dead) = common::entries(&redis).await;
    assert!(dead.is_empty(), "no gap, no dead letter: {dead:?}");
    let counts: HashMap<bool, usize> =
        poster.posted.iter().fold(HashMap::new(), |mut m, (c, _)| {
            *m.entry((700..1000).contains(c)).or_default() += 1;
            m
        });
    eprintln!(
        "dm messages {:?}, identifies {}, resumes {}, history calls {}, 429s {}",
        counts.get(&true),
        fake.identifies(),
        fake.resumes(),
        fake.history_calls(),
        fake.rate_limited()
    );
    assert!(
        counts.get(&true).copied().unwrap_or(0) > 0,
        "DMs were part of it"
    );
    assert!(
        fake.resumes() >= 2,
        "connection drops and op 7 were resumed"
    );
    assert!(fake.rate_limited() >= 3, "history met 429s");
}
