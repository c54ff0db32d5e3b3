//! The pure half of conversation resolution: which keys to look up for a case, and what the
//! answers mean. Kept free of Redis so the rules are easy to read and to test.

use std::collections::HashMap;
use std::time::Duration;

use intake_normalizer::Case;
use intake_normalizer::case::ThreadHint;

const MATCHED: &str = "matched the conversation of an earlier message";
const UNKNOWN: &str = "no conversation recorded for this value";
const NOT_NEEDED: &str = "not needed: an earlier signal matched";
const OPENS: &str = "no signal matched: the message opens a conversation";

/// Signals whose values identify one message: looked up for every sender.
const STRONG: &[&str] = &["message_id", "in_reply_to", "references", "bounce_original"];
/// Signals many people may share: looked up and recorded per sender.
const WEAK: &[&str] = &["subject_tag", "plus_address"];
/// A chat, thread or contact (`<channel>:<chat id>`) of a chat channel: one conversation per
/// chat until it has been idle for the configured window. Tried first: in a chat, the chat is
/// the conversation.
pub const CHAT: &str = "chat";

/// The lookups of one case, in the order they are tried.
#[derive(Debug)]
pub struct Plan {
    /// (index into the case's hints, Redis key), in trial order.
    pub tries: Vec<(usize, String)>,
    pub lookups: Vec<String>,
    pub rate_key: String,
    /// Extra hints to add to the case (a bounce's original message id).
    extra_hints: Vec<ThreadHint>,
}

/// A mapping to write once the batch is resolved.
#[derive(Debug, PartialEq, Eq)]
pub struct Record {
    pub key: String,
    pub conversation: String,
    /// `SET NX`: the first conversation that claimed a message id keeps it.
    pub keep_existing: bool,
    /// The record's lifetime: the conversation TTL, or the chat idle window (refreshed by
    /// every message, so an idle chat's next message opens a new conversation).
    pub lifetime: Lifetime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    Conversation,
    ChatIdle,
}

impl Plan {
    pub fn of(case: &Case, prefix: &str, window: u64) -> Plan {
        let sender = sender_of(case);
        let mut extra_hints = Vec::new();
        if let Some(original) = case
            .classification
            .bounce
            .as_ref()
            .and_then(|b| b.original_message_id.as_deref())
        {
            extra_hints.push(ThreadHint {
                signal: "bounce_original".into(),
                value: original.to_string(),
                used: false,
                reason: String::new(),
            });
        }
        let hints: Vec<&ThreadHint> = case.conversation.hints.iter().chain(&extra_hints).collect();
        let mut tries = Vec::new();
        for signal in std::iter::once(&CHAT).chain(STRONG).chain(WEAK) {
            for (i, hint) in hints.iter().enumerate() {
                if hint.signal == *signal {
                    tries.push((i, key_for(prefix, hint, &sender)));
                }
            }
        }
        let lookups = tries.iter().map(|(_, key)| key.clone()).collect();
        Plan {
            tries,
            lookups,
            rate_key: format!("{prefix}rate:{sender}:{window}"),
            extra_hints,
        }
    }
}

fn sender_of(case: &Case) -> String {
    case.sender
        .address
        .as_deref()
        .map_or_else(|| "-".to_string(), str::to_ascii_lowercase)
}

fn key_for(prefix: &str, hint: &ThreadHint, sender: &str) -> String {
    if hint.signal == CHAT {
        format!("{prefix}conv:chat:{}", hint.value)
    } else if WEAK.contains(&hint.signal.as_str()) {
        format!("{prefix}conv:{}:{sender}:{}", hint.signal, hint.value)
    } else {
        format!("{prefix}conv:msgid:{}", hint.value)
    }
}

/// Applies the lookup replies (per plan: one GET per lookup, then the INCR of the rate key) to
/// the cases, in order, and returns the mappings to record.
pub fn apply(
    cases: &mut [&mut Case],
    plans: &[Plan],
    replies: &[redis::Value],
    loop_threshold: u32,
    loop_window: Duration,
) -> Vec<Record> {
    let mut overlay: HashMap<String, String> = HashMap::new();
    let mut records = Vec::new();
    let mut replies = replies.iter();
    for (case, plan) in cases.iter_mut().zip(plans) {
        let found: Vec<Option<String>> = plan
            .lookups
            .iter()
            .map(|key| {
                let stored = replies
                    .next()
                    .and_then(|v| redis::from_redis_value_ref(v).ok());
                overlay.get(key).cloned().or(stored)
            })
            .collect();
        let count: u64 = replies
            .next()
            .and_then(|v| redis::from_redis_value_ref(v).ok())
            .unwrap_or(0);
        case.conversation
            .hints
            .extend(plan.extra_hints.iter().cloned());
        let matched = found.iter().position(Option::is_some);
        let key = match matched.and_then(|m| found[m].clone()) {
            Some(existing) => existing,
            None => new_key(case),
        };
        explain(case, plan, matched);
        case.conversation.key.clone_from(&key);
        case.conversation.is_new = matched.is_none();
        for (record_key, keep_existing, lifetime) in records_of(case, plan) {
            overlay.insert(record_key.clone(), key.clone());
            records.push(Record {
                key: record_key,
                conversation: key.clone(),
                keep_existing,
                lifetime,
            });
        }
        if count > u64::from(loop_threshold) {
            case.classification.loop_suspect = true;
            case.classification.reasons.push(format!(
                "rate: {count} messages from this sender within {}",
                humantime::format_duration(loop_window)
            ));
        }
    }
    records
}

/// A conversation key derived from the delivery identity, so a redelivery derives the same.
fn new_key(case: &Case) -> String {
    let digest = intake_normalizer::sha256_hex(case.idempotency_key.as_bytes());
    format!("conv-{}", digest.get(..24).unwrap_or(&digest))
}

fn explain(case: &mut Case, plan: &Plan, matched: Option<usize>) {
    for (position, (hint_index, _)) in plan.tries.iter().enumerate() {
        let Some(hint) = case.conversation.hints.get_mut(*hint_index) else {
            continue;
        };
        let (used, reason) = match matched {
            Some(m) if m == position => (true, MATCHED),
            Some(m) if m < position => (false, NOT_NEEDED),
            None if hint.signal == "message_id" => (true, OPENS),
            _ => (false, UNKNOWN),
        };
        hint.used = used;
        reason.clone_into(&mut hint.reason);
    }
}

/// The case's own message id (strong, first claim wins) and its weak signals (per sender,
/// latest wins). Never the ids of its parents: see the module docs.
fn records_of(case: &Case, plan: &Plan) -> Vec<(String, bool, Lifetime)> {
    plan.tries
        .iter()
        .filter_map(|(i, key)| {
            let hint = case.conversation.hints.get(*i)?;
            match hint.signal.as_str() {
                // Bulk mail (a newsletter, a list post) and machine mail do not open a customer
                // conversation: replies to them from many people must stay apart.
                "message_id" if is_bulk_or_automated(case) => None,
                "message_id" => Some((key.clone(), true, Lifetime::Conversation)),
                CHAT => Some((key.clone(), false, Lifetime::ChatIdle)),
                s if WEAK.contains(&s) => Some((key.clone(), false, Lifetime::Conversation)),
                _ => None,
            }
        })
        .collect()
}

fn is_bulk_or_automated(case: &Case) -> bool {
    case.classification.mailing_list.is_some() || case.classification.auto_submitted
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use intake_normalizer::email::{EmailContext, normalize_email};

    fn case(raw: &str, key: &str) -> Case {
        let ctx = EmailContext {
            channel_name: "support",
            case_id: "c",
            idempotency_key: key,
            received_at: "2026-11-22T10:00:00Z",
            imap: None,
            raw_sha256: None,
        };
        normalize_email(raw.as_bytes(), &ctx).unwrap().case
    }

    fn bulk(v: &str) -> redis::Value {
        redis::Value::BulkString(v.as_bytes().to_vec())
    }

    #[test]
    fn weak_signals_are_scoped_by_sender_and_strong_ones_are_not() {
        let c = case(
            "From: Dave <DAVE@example.com>\r\nSubject: [Case #7] x\r\nMessage-ID: <d@x>\r\nIn-Reply-To: <p@x>\r\n\r\nhi\r\n",
            "k",
        );
        let plan = Plan::of(&c, "{i}:", 5);
        assert!(plan.lookups.contains(&"{i}:conv:msgid:p@x".to_string()));
        assert!(
            plan.lookups
                .contains(&"{i}:conv:subject_tag:dave@example.com:case:7".to_string())
        );
        assert_eq!(plan.rate_key, "{i}:rate:dave@example.com:5");
        // Own id first: a copy in a second mailbox joins the same conversation.
        assert_eq!(plan.lookups[0], "{i}:conv:msgid:d@x");
    }

    #[test]
    fn a_match_is_explained_and_bulk_mail_claims_no_id() {
        let mut reply = case(
            "From: a@x\r\nMessage-ID: <r@x>\r\nIn-Reply-To: <gone@x>\r\nReferences: <root@x>\r\n\r\nhi\r\n",
            "k1",
        );
        let mut news = case(
            "From: n@x\r\nMessage-ID: <n@x>\r\nList-Id: <l.x>\r\n\r\nnews\r\n",
            "k2",
        );
        let plans = vec![Plan::of(&reply, "p:", 0), Plan::of(&news, "p:", 0)];
        // reply: own id unknown, in_reply_to unknown, references -> conv-A; then its counter.
        let mut replies = vec![redis::Value::Nil, redis::Value::Nil, bulk("conv-A")];
        replies.resize(plans[0].lookups.len(), redis::Value::Nil);
        replies.push(redis::Value::Int(1));
        replies.extend(std::iter::repeat_n(
            redis::Value::Nil,
            plans[1].lookups.len(),
        ));
        replies.push(redis::Value::Int(1));
        let records = apply(
            &mut [&mut reply, &mut news],
            &plans,
            &replies,
            20,
            Duration::from_secs(60),
        );

        assert_eq!(reply.conversation.key, "conv-A");
        assert!(!reply.conversation.is_new);
        let used: Vec<_> = reply.conversation.hints.iter().filter(|h| h.used).collect();
        assert_eq!(used.len(), 1);
        assert_eq!(used[0].signal, "references");
        assert!(news.conversation.is_new);
        assert!(news.conversation.key.starts_with("conv-"));
        // The reply's own id is recorded; the newsletter's is not, nor any parent id.
        let keys: Vec<_> = records.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["p:conv:msgid:r@x"]);
    }

    #[test]
    fn a_chat_is_one_conversation_until_idle() {
        let chat_hint = ThreadHint {
            signal: CHAT.into(),
            value: "telegram:42".into(),
            used: false,
            reason: String::new(),
        };
        let mut first = case("From: a@x\r\nMessage-ID: <m1@x>\r\n\r\nhi\r\n", "k1");
        first.conversation.hints.push(chat_hint.clone());
        let plan = Plan::of(&first, "p:", 0);
        assert_eq!(
            plan.lookups[0], "p:conv:chat:telegram:42",
            "the chat is tried first"
        );
        let mut replies = vec![redis::Value::Nil; plan.lookups.len()];
        replies.push(redis::Value::Int(1));
        let records = apply(
            &mut [&mut first],
            &[plan],
            &replies,
            20,
            Duration::from_secs(60),
        );
        assert!(first.conversation.is_new);
        let chat = records
            .iter()
            .find(|r| r.key == "p:conv:chat:telegram:42")
            .unwrap();
        assert_eq!(chat.lifetime, Lifetime::ChatIdle);
        assert_eq!(chat.conversation, first.conversation.key);

        // Within the idle window the chat's key is still there: the next message joins.
        let mut second = case("From: a@x\r\nMessage-ID: <m2@x>\r\n\r\nagain\r\n", "k2");
        second.conversation.hints.push(chat_hint);
        let plan = Plan::of(&second, "p:", 0);
        let mut replies = vec![bulk(&first.conversation.key)];
        replies.resize(plan.lookups.len(), redis::Value::Nil);
        replies.push(redis::Value::Int(2));
        apply(
            &mut [&mut second],
            &[plan],
            &replies,
            20,
            Duration::from_secs(60),
        );
        assert_eq!(second.conversation.key, first.conversation.key);
        assert!(!second.conversation.is_new);
    }
}
