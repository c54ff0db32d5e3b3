#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::FetchedFile;
use intake_normalizer::case::ChannelKind;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../tests/fixtures/telegram/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).expect(&path)
}

fn run(json: &str, files: Vec<FetchedFile>) -> Result<Case, NormalizeError> {
    let wire = Wire {
        bytes: json.as_bytes().to_vec(),
        files,
        ..Wire::default()
    };
    let channel = ChannelRef {
        kind: ChannelKind::Telegram,
        name: "bot".into(),
    };
    let ctx = NormalizeContext {
        channel: &channel,
        case_id: "c1",
        idempotency_key: "telegram:123:1",
        received_at: "2026-11-30T10:00:00Z",
    };
    let normalizer = TelegramNormalizer {
        bot_id: "123".into(),
        shared: Arc::default(),
    };
    normalizer.normalize(&wire, &ctx).map(|n| n.case)
}

#[test]
fn a_private_text_message() {
    let case = run(&fixture("private_text.json"), Vec::new()).unwrap();
    assert_eq!(case.event, Event::MessageReceived);
    assert_eq!(case.channel.kind, ChannelKind::Telegram);
    assert!(case.body.text.starts_with("Hello, my order #4521"));
    assert_eq!(case.sender.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(case.sender.address.as_deref(), Some("1111111"));
    let user = case.sender.telegram.as_ref().unwrap();
    assert_eq!(user.username.as_deref(), Some("ada_l"));
    assert_eq!(user.language_code.as_deref(), Some("en"));
    let source = case.source.telegram.as_ref().unwrap();
    assert_eq!(
        (source.update_id, source.chat_id, source.message_id),
        (10000, 1111111, 1365)
    );
    assert_eq!(source.chat_type, "private");
    assert_eq!(
        case.source.message_id.as_deref(),
        Some("telegram:123:1111111:1365")
    );
    assert_eq!(case.conversation.hints[0].signal, "chat");
    assert_eq!(case.conversation.hints[0].value, "bot:1111111");
    assert_eq!(case.sent_at.as_deref(), Some("2025-11-30T10:53:20Z"));
    assert_eq!(case.language.as_deref(), Some("en"));
    assert!(case.raw_ref.unwrap().starts_with("sha256:"));
}

#[test]
fn a_short_message_takes_the_clients_language() {
    let case = run(&fixture("private_short.json"), Vec::new()).unwrap();
    assert_eq!(case.body.text, "Hallo?");
    assert_eq!(
        case.language.as_deref(),
        Some("de"),
        "too short to detect: the hint"
    );
}

#[test]
fn a_forum_topic_is_its_own_chat_and_the_reply_a_strong_hint() {
    let case = run(&fixture("topic.json"), Vec::new()).unwrap();
    let source = case.source.telegram.as_ref().unwrap();
    assert_eq!(source.thread_id, Some(42));
    assert_eq!(source.chat_type, "supergroup");
    let hints: Vec<(&str, &str)> = case
        .conversation
        .hints
        .iter()
        .map(|h| (h.signal.as_str(), h.value.as_str()))
        .collect();
    assert_eq!(
        hints,
        [
            ("chat", "bot:-1009876543210:42"),
            ("in_reply_to", "telegram:123:-1009876543210:42"),
            ("message_id", "telegram:123:-1009876543210:90"),
        ]
    );
}

#[test]
fn photos_keep_the_largest_size_and_omitted_files_their_metadata() {
    let json = fixture("photo.json");
    let fetched = vec![FetchedFile {
        id: "AgACAgQAAxkBAAIBlarge".into(),
        content: FileContent::Bytes(b"jpeg bytes".to_vec()),
    }];
    let case = run(&json, fetched).unwrap();
    assert_eq!(case.body.text, "the box arrived crushed");
    assert_eq!(case.attachments.len(), 1);
    let photo = &case.attachments[0];
    assert_eq!(photo.size, 10);
    assert_eq!(photo.disposition, Disposition::Inline);
    assert_eq!(photo.content_type, "image/jpeg");
    assert_eq!(photo.sha256, sha256_hex(b"jpeg bytes"));
    assert!(photo.omitted_reason.is_none());

    let omitted = vec![FetchedFile {
        id: "BQACAgQAAxkBAAIBdoc".into(),
        content: FileContent::Omitted {
            reason: "too_large: 2048 bytes over max_file_bytes 1000".into(),
        },
    }];
    let case = run(&fixture("document.json"), omitted).unwrap();
    let doc = &case.attachments[0];
    assert_eq!(doc.filename.as_deref(), Some("invoice-4521.pdf"));
    assert_eq!(doc.content_type, "application/pdf");
    assert_eq!(doc.size, 2048, "the size Telegram reported");
    assert!(doc.blob_ref.is_none() && doc.sha256.is_empty());
    assert!(
        doc.omitted_reason
            .as_deref()
            .unwrap()
            .starts_with("too_large")
    );
}

#[test]
fn an_edit_points_at_the_original() {
    let case = run(&fixture("edited.json"), Vec::new()).unwrap();
    assert_eq!(case.event, Event::MessageEdited);
    assert_eq!(
        case.source.message_id.as_deref(),
        Some("telegram:123:1111111:1365")
    );
    assert!(
        case.conversation
            .hints
            .iter()
            .any(|h| h.signal == "in_reply_to" && h.value == "telegram:123:1111111:1365")
    );
    assert_eq!(
        case.sent_at.as_deref(),
        Some("2025-11-30T10:55:00Z"),
        "the edit's time"
    );
}

#[test]
fn venues_contacts_and_stickers_become_structure_and_placeholders() {
    let updates: Vec<serde_json::Value> =
        serde_json::from_str(&fixture("venue_contact_sticker.json")).unwrap();
    let cases: Vec<Case> = updates
        .iter()
        .map(|u| run(&u.to_string(), Vec::new()).unwrap())
        .collect();
    let place = cases[0].location.as_ref().unwrap();
    assert_eq!(place.title.as_deref(), Some("Pickup point"));
    assert!((place.latitude - 51.507351).abs() < 1e-9);
    let contact = cases[1].contact.as_ref().unwrap();
    assert_eq!(contact.phone_number, "+442071234567");
    assert_eq!(contact.user_id.as_deref(), Some("5555555"));
    assert_eq!(cases[2].body.text, "[sticker 👍]");
    assert!(
        cases[2].attachments.is_empty(),
        "stickers are not downloaded"
    );
}

#[test]
fn garbage_is_refused_without_quoting_it() {
    let error = run(r#"{"update_id":"secret words"}"#, Vec::new()).unwrap_err();
    assert!(!error.to_string().contains("secret words"), "{error}");
    let error = run(r#"{"update_id":5,"callback_query":{}}"#, Vec::new()).unwrap_err();
    assert!(error.to_string().contains("no message"), "{error}");
}
