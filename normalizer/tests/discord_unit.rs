//! The Discord normalizer: the API documentation's example message, embeds, attachments
//! (stored and omitted), replies, edits, bots, and inputs that are not messages. Every case
//! produced is valid against docs/case.schema.json.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use intake_normalizer::NormalizeError;
use intake_normalizer::case::{DiscordSource, Event, PartyKind};
use intake_normalizer::discord::{DiscordContext, DiscordFile, normalize_discord};
use intake_normalizer::language::LanguageDetector;
use intake_normalizer::{Case, Normalized};

const EXAMPLE: &str = include_str!("fixtures/discord/example_message.json");

fn ctx<'a>(source: Option<&'a DiscordSource>) -> DiscordContext<'a> {
    DiscordContext {
        channel_name: "discord-support",
        case_id: common::CASE_ID,
        idempotency_key: "discord:290926798999357250:334385199974967042",
        received_at: common::RECEIVED_AT,
        source,
        raw_sha256: None,
        languages: LanguageDetector::all(),
    }
}

fn no_files<'a>(_: &str) -> Option<DiscordFile<'a>> {
    None
}

fn valid(case: &Case) {
    let validator = common::schema_validator("case.schema.json");
    let value = serde_json::to_value(case).unwrap();
    let problems = common::violations(&validator, &value);
    assert!(problems.is_empty(), "{problems}\n{value:#}");
}

#[test]
fn the_documentation_example_message() {
    let Normalized { case, blobs } =
        normalize_discord(EXAMPLE.as_bytes(), &ctx(None), &no_files).unwrap();
    valid(&case);
    assert_eq!(case.event, Event::MessageReceived);
    assert_eq!(case.body.text, "Supa Hot");
    assert_eq!(case.sender.kind, PartyKind::Discord);
    assert_eq!(case.sender.name.as_deref(), Some("Mason"));
    assert_eq!(case.sender.address.as_deref(), Some("53908099506183680"));
    let user = case.sender.discord.as_ref().unwrap();
    assert_eq!(
        (
            user.username.as_str(),
            user.global_name.as_deref(),
            user.bot
        ),
        ("Mason", None, false)
    );
    assert_eq!(case.sent_at.as_deref(), Some("2017-07-11T17:27:07.299Z"));
    let ids = case.source.discord.as_ref().unwrap();
    assert_eq!(ids.channel_id, "290926798999357250");
    assert_eq!(ids.message_id, "334385199974967042");
    assert_eq!(
        case.source.message_id.as_deref(),
        Some("334385199974967042")
    );
    let hints: Vec<(&str, &str)> = case
        .conversation
        .hints
        .iter()
        .map(|h| (h.signal.as_str(), h.value.as_str()))
        .collect();
    assert_eq!(
        hints,
        [
            ("chat", "discord-support:290926798999357250"),
            ("message_id", "discord:334385199974967042")
        ]
    );
    // The raw payload is the first blob, byte for byte.
    assert_eq!(blobs[0].bytes.as_ref(), EXAMPLE.as_bytes());
    assert_eq!(
        case.raw_ref.as_deref(),
        Some(format!("sha256:{}", blobs[0].sha256).as_str())
    );
}

#[test]
fn embeds_files_replies_and_bots() {
    let raw = serde_json::json!({
        "id": 334385199974967050u64, "channel_id": 290926798999357250u64, "guild_id": "197038439483310086",
        "author": {"id": "53908099506183681", "username": "shopbot", "global_name": "Shop\u{7} Bot", "bot": true},
        "content": "", "timestamp": "2017-07-11T17:30:00+00:00", "edited_timestamp": "2017-07-11T17:31:00+00:00",
        "attachments": [
            {"id": "1", "filename": "a.txt", "size": 5, "url": "https://cdn.example/a", "content_type": "text/plain; charset=utf-8"},
            {"id": "2", "filename": "big.bin", "size": 99999999, "url": "https://cdn.example/b"},
            {"id": "3", "filename": "lost.bin", "size": 1, "url": "https://cdn.example/c", "content_type": "not a type"}
        ],
        "embeds": [{"title": "Order 1234", "description": "Shipped", "fields": [{"name": "Carrier", "value": "DHL"}], "footer": {"text": "shop"}}],
        "message_reference": {"message_id": "334385199974967042", "channel_id": "290926798999357250"}
    })
    .to_string();
    let source = DiscordSource {
        channel_id: "290926798999357250".into(),
        message_id: "334385199974967050".into(),
        guild_id: Some("197038439483310086".into()),
        thread_parent_id: None,
        edited_at: Some("2017-07-11T17:31:00Z".into()),
    };
    let files = |id: &str| match id {
        "1" => Some(DiscordFile::Bytes(b"hello")),
        "2" => Some(DiscordFile::Omitted(
            "larger than max_file_bytes (1024 bytes)",
        )),
        _ => None,
    };
    let Normalized { case, blobs } =
        normalize_discord(raw.as_bytes(), &ctx(Some(&source)), &files).unwrap();
    valid(&case);
    assert_eq!(case.event, Event::MessageEdited);
    assert_eq!(
        case.body.text,
        "[embed] Order 1234\nShipped\nCarrier: DHL\nshop"
    );
    assert_eq!(case.body.reply_text, None);
    assert!(case.classification.auto_submitted);
    assert_eq!(case.sender.name.as_deref(), Some("Shop Bot"));
    assert_eq!(case.source.in_reply_to, ["334385199974967042"]);
    assert!(
        case.conversation
            .hints
            .iter()
            .any(|h| h.signal == "in_reply_to" && h.value == "discord:334385199974967042")
    );
    let [stored, omitted, missing] = case.attachments.as_slice() else {
        panic!("{:?}", case.attachments)
    };
    assert_eq!(
        (stored.content_type.as_str(), stored.size),
        ("text/plain", 5)
    );
    assert_eq!(
        stored.blob_ref.as_deref(),
        Some(format!("sha256:{}", blobs[1].sha256).as_str())
    );
    assert_eq!(
        omitted.omitted_reason.as_deref(),
        Some("larger than max_file_bytes (1024 bytes)")
    );
    assert_eq!((omitted.sha256.as_str(), omitted.size), ("", 99999999));
    assert_eq!(missing.content_type, "application/octet-stream");
    assert_eq!(missing.omitted_reason.as_deref(), Some("not fetched"));
    assert_eq!(blobs.len(), 2);
}

#[test]
fn what_is_not_a_message_is_unparsable_without_quoting_it() {
    for raw in [
        "",
        "[]",
        "{\"id\": \"1\"}",
        "{\"id\": \"x1\", \"channel_id\": \"2\", \"author\": {\"id\": \"3\"}}",
        "secret text",
    ] {
        match normalize_discord(raw.as_bytes(), &ctx(None), &no_files) {
            Err(e @ NormalizeError::Unparsable { .. }) => {
                assert!(!e.to_string().contains("secret"), "{e}")
            }
            other => panic!("{raw:?} gave {other:?}"),
        }
    }
}
