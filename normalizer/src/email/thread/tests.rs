//! Threading signals and the provisional key.

use super::*;

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn input<'a>(
    message_id: Option<&'a str>,
    in_reply_to: &'a [String],
    references: &'a [String],
) -> ThreadInput<'a> {
    ThreadInput {
        message_id,
        in_reply_to,
        references,
        subject: None,
        recipients: &[],
    }
}

#[test]
fn references_root_wins() {
    let (irt, refs) = (ids(&["b@x"]), ids(&["a@x", "b@x"]));
    let c = conversation(&input(Some("c@x"), &irt, &refs), &[], "k");
    assert_eq!(c.key, "a@x");
    assert!(!c.is_new);
    let used: Vec<_> = c.hints.iter().filter(|h| h.used).collect();
    assert_eq!(used.len(), 1);
    assert_eq!(
        (used[0].signal.as_str(), used[0].value.as_str()),
        ("references", "a@x")
    );
}

#[test]
fn in_reply_to_then_own_id_then_idempotency_key() {
    let irt = ids(&["b@x"]);
    assert_eq!(
        conversation(&input(Some("c@x"), &irt, &[]), &[], "k").key,
        "b@x"
    );
    let own = conversation(&input(Some("c@x"), &[], &[]), &[], "k");
    assert_eq!(own.key, "c@x");
    assert!(own.is_new && own.hints.len() == 1 && own.hints[0].used);
    let none = conversation(&input(None, &[], &[]), &[], "email:a:INBOX:1:2");
    assert_eq!(none.key, "email:email:a:INBOX:1:2");
    assert!(none.hints.is_empty());
}

#[test]
fn long_reference_chains_keep_the_nearest_and_the_root() {
    let refs = ids(&["r0", "r1", "r2", "r3", "r4", "r5"]);
    let hints = signals(&input(None, &[], &refs), &[]);
    let values: Vec<_> = hints.iter().map(|h| h.value.as_str()).collect();
    assert_eq!(values, ["r5", "r4", "r3", "r0"]);
}

#[test]
fn subject_tags_and_plus_addresses_are_unresolved_signals() {
    let to = Address {
        name: None,
        address: Some("Support+Tok3n@example.com".into()),
    };
    let plain = Address {
        name: None,
        address: Some("ann@example.org".into()),
    };
    let recipients = [&to, &plain];
    let thread = ThreadInput {
        message_id: None,
        in_reply_to: &[],
        references: &[],
        subject: Some("Re: [Case #123] printer PROJ-42 still broken (INC0012345, case #123)"),
        recipients: &recipients,
    };
    let hints = signals(&thread, default_subject_tags());
    let got: Vec<_> = hints
        .iter()
        .map(|h| (h.signal.as_str(), h.value.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("subject_tag", "case:123"),
            ("subject_tag", "jira:PROJ-42"),
            ("subject_tag", "servicenow:INC0012345"),
            ("plus_address", "support+tok3n@example.com"),
        ]
    );
    assert!(
        hints
            .iter()
            .all(|h| !h.used && h.reason == NOT_YET_RESOLVED)
    );
}

#[test]
fn custom_subject_tags_replace_the_defaults() {
    let tags = [SubjectTag::new("acme", r"\[ACME-([0-9]+)\]").unwrap()];
    let thread = ThreadInput {
        subject: Some("[ACME-77] and [Case #1]"),
        ..input(None, &[], &[])
    };
    let hints = signals(&thread, &tags);
    assert_eq!(hints.len(), 1);
    assert_eq!(hints[0].value, "acme:77");
    assert!(SubjectTag::new("bad", "(").is_err());
}
