//! `intake tail`: prints the entries of the case and dead-letter streams as they land, one line
//! each: a summary (id, event, channel, sender, subject) for demos and quick looks, bodies not
//! shown; or with `--json` the whole entry as one JSON object, for tools (`jq`).

use std::process::ExitCode;
use std::time::Duration;

use intake_config::Config;
use redis::streams::{StreamReadOptions, StreamReadReply};

/// Reads both streams from the start (or only new entries when `new_only`), following until
/// `duration` passes (forever when None).
pub async fn run(
    config: Config,
    new_only: bool,
    duration: Option<Duration>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let client = redis::Client::open(config.redis.url.expose())?;
    // XREAD BLOCK waits server-side; the client's default response timeout would cut it short.
    let conn_config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&conn_config)
        .await?;
    let streams = [
        config.redis.stream.clone(),
        config.redis.dead_letter_stream.clone(),
    ];
    let mut ids = Vec::new();
    for stream in &streams {
        ids.push(if new_only {
            last_id(&mut conn, stream).await?
        } else {
            "0".to_string()
        });
    }
    let until = duration.map(|d| tokio::time::Instant::now() + d);
    loop {
        let opts = StreamReadOptions::default().count(100).block(500);
        let reply: Option<StreamReadReply> =
            redis::AsyncCommands::xread_options(&mut conn, &streams, &ids, &opts).await?;
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            let Some(slot) = streams.iter().position(|s| *s == key.key) else {
                continue;
            };
            for entry in key.ids {
                if json {
                    println!("{}", whole(&key.key, &entry));
                } else {
                    println!("{}", summary(&key.key, &entry));
                }
                ids[slot] = entry.id;
            }
        }
        if until.is_some_and(|u| tokio::time::Instant::now() >= u) {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

async fn last_id(
    conn: &mut redis::aio::MultiplexedConnection,
    stream: &str,
) -> anyhow::Result<String> {
    let reply: redis::streams::StreamRangeReply =
        redis::AsyncCommands::xrevrange_count(conn, stream, "+", "-", 1).await?;
    Ok(reply
        .ids
        .first()
        .map_or_else(|| "0".to_string(), |e| e.id.clone()))
}

fn summary(stream: &str, entry: &redis::streams::StreamId) -> String {
    let field = |name: &str| entry.get::<String>(name).unwrap_or_default();
    let doc_text = entry
        .get::<String>("case")
        .or_else(|| entry.get::<String>("dead_letter"))
        .unwrap_or_default();
    let doc: serde_json::Value = serde_json::from_str(&doc_text).unwrap_or_default();
    let sender = doc["sender"]["address"]
        .as_str()
        .or_else(|| doc["headers"]["from"].as_str())
        .unwrap_or("-");
    let subject = doc["subject"]
        .as_str()
        .or_else(|| doc["headers"]["subject"].as_str())
        .unwrap_or("-");
    let extra = match doc["reason"].as_str() {
        Some(reason) => format!(" reason={reason}"),
        None => format!(
            " attachments={}",
            doc["attachments"].as_array().map_or(0, Vec::len)
        ),
    };
    format!(
        "{stream} {} {} channel={} from={sender} subject={subject:?}{extra}",
        entry.id,
        field("event"),
        field("channel"),
    )
}

/// Fields holding a JSON document, embedded as JSON rather than as a string.
const DOCUMENT_FIELDS: &[&str] = &["case", "dead_letter"];

/// The entry as one JSON object: `{"stream", "id", "fields": {name: value}}`, every field a
/// string except the documents. Fields are nested so a future field can never clash with
/// `stream` or `id`.
fn whole(stream: &str, entry: &redis::streams::StreamId) -> serde_json::Value {
    let mut fields = serde_json::Map::new();
    for name in entry.map.keys() {
        let bytes = entry.get::<Vec<u8>>(name).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let document = DOCUMENT_FIELDS
            .contains(&name.as_str())
            .then(|| serde_json::from_str::<serde_json::Value>(&text).ok())
            .flatten();
        let value = document.unwrap_or_else(|| serde_json::Value::String(text.into_owned()));
        fields.insert(name.clone(), value);
    }
    serde_json::json!({ "stream": stream, "id": entry.id, "fields": fields })
}
