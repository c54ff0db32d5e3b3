//! The wire side of an append: a batch encoded as one pipeline of gated `EVALSHA` parts, and
//! each part's reply decoded into per-entry outcomes.

use redis::{Cmd, RedisWrite, ToRedisArgs, Value};

use super::SinkError;
use super::entry::{AppendOutcome, Entry, Target};

/// Most entries per script call. Several parts per batch let Redis run one part while the next
/// is still on the wire and the client reads the previous reply, instead of each side waiting
/// for the other; small parts also bound how long one call blocks Redis for other clients.
pub const PART_ENTRIES: usize = 100;

/// About the most bytes per script call. Larger commands made the client slower, not Redis
/// faster: with 2 KB cases, parts of 100 (~230 KB) doubled the client's CPU on batches of
/// 2,000 (fresh pages for every command buffer), while parts under ~110 KB did not.
pub const PART_BYTES: usize = 96 * 1024;

/// Splits `entries` into parts of at most [`PART_ENTRIES`] entries and about [`PART_BYTES`]
/// bytes (at least one entry each), in order.
pub fn split<'e>(entries: &'e [Entry], key_prefix: &str) -> Vec<&'e [Entry]> {
    let mut parts = Vec::new();
    let mut rest = entries;
    while !rest.is_empty() {
        let mut len = 0;
        let mut bytes = 0;
        for entry in rest.iter().take(PART_ENTRIES) {
            bytes += wire_bytes(entry, key_prefix);
            if len > 0 && bytes > PART_BYTES {
                break;
            }
            len += 1;
        }
        let (part, tail) = rest.split_at(len);
        parts.push(part);
        rest = tail;
    }
    parts
}

/// About how many bytes an entry adds to a script call.
fn wire_bytes(entry: &Entry, key_prefix: &str) -> usize {
    let keys: usize = entry
        .idempotency_keys
        .iter()
        .map(|k| k.len() + key_prefix.len() + ":idem:".len())
        .sum();
    let primary = entry.idempotency_keys.first().map_or(0, String::len);
    // The rest (event, numbers, field names, RESP framing) fits in the slack.
    entry.document.len() + entry.channel.len() + entry.case_id.len() + keys + primary + 128
}

/// The fixed parts of every script call.
pub struct Encoder<'a> {
    pub sha: &'a str,
    pub cases_stream: &'a str,
    pub dead_stream: &'a str,
    pub key_prefix: &'a str,
    pub ttl_secs: u64,
}

impl Encoder<'_> {
    /// One pipeline with a script call per part, chained through a fresh gate key so a part
    /// runs only after the one before it ran to the end.
    pub fn pipeline(&self, parts: &[&[Entry]]) -> redis::Pipeline {
        // Unique per send: a resent batch must not find the gate its earlier attempt opened.
        let gate = format!("{}:gate:{}", self.key_prefix, uuid::Uuid::now_v7().simple());
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for (index, part) in parts.iter().enumerate() {
            pipe.add_command(self.part(part, &gate, index, parts.len()));
        }
        pipe
    }

    fn part(&self, entries: &[Entry], gate: &str, index: usize, parts: usize) -> Cmd {
        let nkeys: usize = entries.iter().map(|e| e.idempotency_keys.len()).sum();
        // Reserved up front so the documents are copied into the command once, not regrown.
        let bytes: usize = entries.iter().map(|e| wire_bytes(e, self.key_prefix)).sum();
        let mut cmd = Cmd::with_capacity(8 + nkeys + 10 * entries.len(), bytes + 256);
        cmd.arg("EVALSHA")
            .arg(self.sha)
            .arg(3 + nkeys)
            .arg(self.cases_stream)
            .arg(self.dead_stream)
            .arg(gate);
        for entry in entries {
            for key in &entry.idempotency_keys {
                cmd.arg(IdemKey {
                    prefix: self.key_prefix,
                    key,
                });
            }
        }
        cmd.arg(self.ttl_secs)
            .arg(index)
            .arg(parts)
            .arg(entries.len());
        for entry in entries {
            let (target, doc_field) = match entry.target {
                Target::Cases => (1, "case"),
                Target::DeadLetters => (2, "dead_letter"),
            };
            let primary = entry.idempotency_keys.first().map_or("", String::as_str);
            cmd.arg(target)
                .arg(entry.idempotency_keys.len())
                .arg(entry.lookup_keys.max(1))
                .arg(intake_normalizer::SCHEMA_VERSION)
                .arg(entry.event)
                .arg(&entry.channel)
                .arg(primary)
                .arg(&entry.case_id)
                .arg(doc_field)
                .arg(&entry.document);
        }
        cmd
    }
}

/// `{prefix}:idem:{key}`, written straight into the command instead of formatted apart first.
struct IdemKey<'a> {
    prefix: &'a str,
    key: &'a str,
}

impl ToRedisArgs for IdemKey<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        use std::io::Write as _;
        let mut arg = out.writer_for_next_arg();
        // The writer appends to the command's in-memory buffer, which cannot fail.
        let _ = arg
            .write_all(self.prefix.as_bytes())
            .and_then(|()| arg.write_all(b":idem:"))
            .and_then(|()| arg.write_all(self.key.as_bytes()));
    }
}

/// The outcomes of one script call over `n` entries; a failed call fails all of them.
pub fn parse_reply(
    reply: redis::RedisResult<Value>,
    n: usize,
) -> Vec<Result<AppendOutcome, SinkError>> {
    let pairs = reply
        .map_err(|e| SinkError::from_redis(&e))
        .and_then(|value| match value {
            Value::Array(flat) => pairs(flat),
            other => Err(rejected(&format!("not an array: {other:?}"))),
        });
    match pairs {
        Ok(outcomes) if outcomes.len() == n => outcomes.into_iter().map(Ok).collect(),
        Ok(outcomes) => {
            let e = rejected(&format!("{} outcomes for {n} entries", outcomes.len()));
            vec![Err(e); n]
        }
        Err(e) => vec![Err(e); n],
    }
}

/// `[flag, id, flag, id, ...]` into outcomes, consuming the ids without copying them.
fn pairs(flat: Vec<Value>) -> Result<Vec<AppendOutcome>, SinkError> {
    if !flat.len().is_multiple_of(2) {
        return Err(rejected(&"odd number of values"));
    }
    let mut outcomes = Vec::with_capacity(flat.len() / 2);
    let mut values = flat.into_iter();
    while let (Some(flag), Some(id)) = (values.next(), values.next()) {
        let id: String = redis::from_redis_value(id).map_err(|e| rejected(&e))?;
        outcomes.push(match flag {
            Value::Int(1) => AppendOutcome::Appended(id),
            Value::Int(0) => AppendOutcome::Duplicate(id),
            other => return Err(rejected(&format!("flag {other:?}"))),
        });
    }
    Ok(outcomes)
}

fn rejected(e: &dyn std::fmt::Display) -> SinkError {
    SinkError::Rejected {
        detail: format!("unexpected reply from the append script: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn entry(keys: &[&str], doc: &str) -> Entry {
        Entry {
            target: Target::Cases,
            idempotency_keys: keys.iter().map(|k| k.to_string()).collect(),
            lookup_keys: 1,
            event: "message.received",
            channel: "support".into(),
            case_id: "c1".into(),
            document: doc.into(),
        }
    }

    fn args(cmd: &Cmd) -> Vec<String> {
        cmd.args_iter()
            .map(|arg| match arg {
                redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                _ => "<cursor>".into(),
            })
            .collect()
    }

    #[test]
    fn a_batch_is_split_into_gated_parts() {
        let encoder = Encoder {
            sha: "abc",
            cases_stream: "{t}:cases",
            dead_stream: "{t}:dead",
            key_prefix: "{t}",
            ttl_secs: 60,
        };
        let entries: Vec<Entry> = (0..PART_ENTRIES * 2 + 1)
            .map(|n| entry(&[&format!("k{n}"), "sha:x"], "{}"))
            .collect();
        let parts = split(&entries, encoder.key_prefix);
        let pipe = encoder.pipeline(&parts);
        let cmds: Vec<Vec<String>> = pipe.cmd_iter().map(args).collect();
        assert_eq!(cmds.len(), 3);
        let gate = &cmds[0][5];
        assert!(gate.starts_with("{t}:gate:"), "{gate}");
        for (index, cmd) in cmds.iter().enumerate() {
            let n = if index < 2 { PART_ENTRIES } else { 1 };
            assert_eq!(cmd[0], "EVALSHA");
            assert_eq!(cmd[2], (3 + 2 * n).to_string());
            assert_eq!(&cmd[5], gate, "one gate for the whole batch");
            let argv = &cmd[6 + 2 * n..];
            assert_eq!(argv[..4], ["60", &index.to_string(), "3", &n.to_string()]);
            assert_eq!(argv.len(), 4 + 10 * n);
        }
        assert_eq!(cmds[1][6], format!("{{t}}:idem:k{PART_ENTRIES}"));
        assert_eq!(cmds[1][7], "{t}:idem:sha:x");
        // A resend opens a new gate.
        let again: Vec<Vec<String>> = encoder.pipeline(&parts).cmd_iter().map(args).collect();
        assert_ne!(&again[0][5], gate);
    }

    #[test]
    fn parts_are_bounded_by_entries_and_bytes() {
        let lens = |entries: &[Entry]| -> Vec<usize> {
            split(entries, "{t}").iter().map(|p| p.len()).collect()
        };
        let small: Vec<Entry> = (0..250).map(|_| entry(&["k"], "{}")).collect();
        assert_eq!(lens(&small), [100, 100, 50]);

        let doc = "x".repeat(2048);
        let cases: Vec<Entry> = (0..500).map(|_| entry(&["k", "sha:x"], &doc)).collect();
        let parts = split(&cases, "{t}");
        assert!(
            parts.len() > 5,
            "2 KB cases need smaller parts: {}",
            parts.len()
        );
        for part in &parts {
            let bytes: usize = part.iter().map(|e| wire_bytes(e, "{t}")).sum();
            assert!(bytes <= PART_BYTES, "{bytes}");
        }
        assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>(), 500);

        // An entry larger than the budget still goes, alone.
        let huge = "x".repeat(PART_BYTES * 2);
        let mixed = vec![
            entry(&["a"], "{}"),
            entry(&["b"], &huge),
            entry(&["c"], "{}"),
        ];
        assert_eq!(lens(&mixed), [1, 1, 1]);
        assert!(lens(&[]).is_empty());
    }

    #[test]
    fn replies_become_outcomes() {
        let ok = Value::Array(vec![
            Value::Int(1),
            Value::BulkString(b"1-0".to_vec()),
            Value::Int(0),
            Value::BulkString(b"0-9".to_vec()),
        ]);
        assert_eq!(
            parse_reply(Ok(ok), 2)
                .into_iter()
                .map(Result::unwrap)
                .collect::<Vec<_>>(),
            [
                AppendOutcome::Appended("1-0".into()),
                AppendOutcome::Duplicate("0-9".into())
            ]
        );
        let short = Value::Array(vec![Value::Int(1), Value::BulkString(b"1-0".to_vec())]);
        assert!(parse_reply(Ok(short), 2).iter().all(Result::is_err));
        let odd = Value::Array(vec![Value::Int(1)]);
        assert!(parse_reply(Ok(odd), 1).iter().all(Result::is_err));
    }
}
