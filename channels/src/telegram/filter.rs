//! Which updates become cases. Private chats always; groups, supergroups and forum topics only
//! with `chats = "all"`, and there only messages that mention the bot or reply to it unless
//! `group_messages = "all"`. Channel posts and non-message updates never: no customer wrote them
//! to the bot. A skipped update is still confirmed to Telegram (the offset moves past it), so
//! "skipped" is a decision, logged at debug with its reason, never a loss.

use intake_config::{GroupMessages, TelegramChats};

use super::wire::{Message, Update, UpdateKind};

/// The bot itself, from getMe: whom mentions and replies must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    pub id: i64,
    pub username: Option<String>,
}

/// What to do with one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ingest,
    Skip(&'static str),
}

/// The chat policy of one channel.
#[derive(Debug, Clone, Copy)]
pub struct ChatPolicy {
    pub chats: TelegramChats,
    pub group_messages: GroupMessages,
}

impl ChatPolicy {
    pub fn judge(&self, update: &Update, me: &BotIdentity) -> Verdict {
        let (kind, message) = update.message();
        let message = match (kind, message) {
            (UpdateKind::Message | UpdateKind::Edited, Some(m)) => m,
            (UpdateKind::ChannelPost, _) => return Verdict::Skip("channel post"),
            _ => return Verdict::Skip("not a message"),
        };
        match message.chat.kind.as_str() {
            "private" => Verdict::Ingest,
            "group" | "supergroup" => {
                if self.chats == TelegramChats::Private {
                    return Verdict::Skip("group chat (chats = \"private\")");
                }
                if !has_content(message) {
                    return Verdict::Skip("service message");
                }
                if self.group_messages == GroupMessages::All || addresses_bot(message, me) {
                    Verdict::Ingest
                } else {
                    Verdict::Skip("group message not addressed to the bot")
                }
            }
            _ => Verdict::Skip("channel post"),
        }
    }
}

/// Text, media or a shared place or contact: what a person writes. Service messages (members
/// joining, a pinned message, a new title) have none of these.
fn has_content(m: &Message) -> bool {
    m.text_or_caption().is_some()
        || !m.files().is_empty()
        || m.sticker.is_some()
        || m.location.is_some()
        || m.venue.is_some()
        || m.contact.is_some()
}

/// A reply to one of the bot's messages, an @mention of its username (also in a command such
/// as `/help@bot`), or a text mention of its user id.
fn addresses_bot(m: &Message, me: &BotIdentity) -> bool {
    if m.reply_to_message
        .as_ref()
        .and_then(|r| r.from.as_ref())
        .is_some_and(|from| from.id == me.id)
    {
        return true;
    }
    let Some(text) = m.text_or_caption() else {
        return false;
    };
    let handle = me.username.as_deref().map(|u| format!("@{u}"));
    m.text_entities()
        .iter()
        .any(|entity| match entity.kind.as_str() {
            "text_mention" => entity.user.as_ref().is_some_and(|u| u.id == me.id),
            "mention" | "bot_command" => {
                match (&handle, utf16_slice(text, entity.offset, entity.length)) {
                    (Some(handle), Some(part)) => {
                        part.to_lowercase().ends_with(&handle.to_lowercase())
                    }
                    _ => false,
                }
            }
            _ => false,
        })
}

/// The part of `text` at `offset..offset+length` in UTF-16 code units (the Bot API's unit).
pub fn utf16_slice(text: &str, offset: usize, length: usize) -> Option<String> {
    let units: Vec<u16> = text.encode_utf16().collect();
    let part = units.get(offset..offset.checked_add(length)?)?;
    String::from_utf16(part).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn update(json: &str) -> Update {
        serde_json::from_str(json).unwrap()
    }

    fn group(text: &str, entities: &str, reply_from: Option<i64>) -> Update {
        let reply = reply_from.map_or(String::new(), |id| {
            format!(
                r#","reply_to_message":{{"message_id":1,"date":1,"chat":{{"id":-5,"type":"supergroup"}},"from":{{"id":{id},"is_bot":true,"first_name":"B"}}}}"#
            )
        });
        update(&format!(
            r#"{{"update_id":1,"message":{{"message_id":2,"date":1,"chat":{{"id":-5,"type":"supergroup","title":"G"}},"from":{{"id":7,"is_bot":false,"first_name":"A"}},"text":{text:?},"entities":[{entities}]{reply}}}}}"#
        ))
    }

    const ME: fn() -> BotIdentity = || BotIdentity {
        id: 99,
        username: Some("HelpBot".into()),
    };

    #[test]
    fn groups_need_a_mention_or_a_reply_unless_all() {
        let policy = ChatPolicy {
            chats: TelegramChats::All,
            group_messages: GroupMessages::Mentions,
        };
        let me = ME();
        let plain = group("hello all", "", None);
        assert_eq!(
            policy.judge(&plain, &me),
            Verdict::Skip("group message not addressed to the bot")
        );
        let mention = group(
            "ünï @helpbot hi",
            r#"{"type":"mention","offset":4,"length":8}"#,
            None,
        );
        assert_eq!(policy.judge(&mention, &me), Verdict::Ingest);
        let other = group(
            "@otherbot hi",
            r#"{"type":"mention","offset":0,"length":9}"#,
            None,
        );
        assert_ne!(policy.judge(&other, &me), Verdict::Ingest);
        assert_eq!(
            policy.judge(&group("thanks", "", Some(99)), &me),
            Verdict::Ingest
        );
        assert_ne!(
            policy.judge(&group("thanks", "", Some(5)), &me),
            Verdict::Ingest
        );
        let command = group(
            "/help@HelpBot",
            r#"{"type":"bot_command","offset":0,"length":13}"#,
            None,
        );
        assert_eq!(policy.judge(&command, &me), Verdict::Ingest);
        let all = ChatPolicy {
            group_messages: GroupMessages::All,
            ..policy
        };
        assert_eq!(all.judge(&plain, &me), Verdict::Ingest);
        let private_only = ChatPolicy {
            chats: TelegramChats::Private,
            ..all
        };
        assert_ne!(private_only.judge(&plain, &me), Verdict::Ingest);
    }

    #[test]
    fn channel_posts_and_other_updates_are_skipped() {
        let policy = ChatPolicy {
            chats: TelegramChats::All,
            group_messages: GroupMessages::All,
        };
        let post = update(
            r#"{"update_id":3,"channel_post":{"message_id":1,"date":1,"chat":{"id":-100,"type":"channel","title":"News"},"text":"hi"}}"#,
        );
        assert_eq!(policy.judge(&post, &ME()), Verdict::Skip("channel post"));
        let callback = update(r#"{"update_id":4,"callback_query":{"id":"1"}}"#);
        assert_eq!(
            policy.judge(&callback, &ME()),
            Verdict::Skip("not a message")
        );
    }
}
