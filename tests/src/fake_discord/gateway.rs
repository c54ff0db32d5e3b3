//! The fake's WebSocket gateway: one task per connection. HELLO first; IDENTIFY checks the
//! token and intents, starts a session and sends READY; RESUME replays the session's buffer
//! after the client's sequence number and sends RESUMED, or op 9 when the session is gone;
//! HEARTBEAT gets its ACK.

use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{BOT_ID, Out, Session, State, lock};

/// Short, so heartbeats happen often in tests.
const HEARTBEAT_MS: u64 = 1000;
/// GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT.
const MESSAGE_CONTENT: u64 = 1 << 15;

pub(super) async fn serve(listener: tokio::net::TcpListener, state: Arc<Mutex<State>>) {
    while let Ok((stream, _)) = listener.accept().await {
        let state = state.clone();
        tokio::spawn(async move {
            if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
                connection(ws, state).await;
            }
        });
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn connection(mut ws: Ws, state: Arc<Mutex<State>>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
    let number = {
        let mut s = lock(&state);
        s.conn_counter += 1;
        s.conn_counter
    };
    let hello = json!({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}}).to_string();
    if ws.send(Message::Text(hello)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            frame = ws.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    _ => break,
                };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else { break };
                let replies = handle(&payload, &state, number, &tx);
                for reply in replies {
                    if !send(&mut ws, reply).await {
                        break;
                    }
                }
            }
            out = rx.recv() => match out {
                Some(out) => if !send(&mut ws, out).await { break },
                None => break,
            },
        }
    }
    let mut s = lock(&state);
    if s.conn.as_ref().is_some_and(|(n, _)| *n == number) {
        s.conn = None;
    }
}

/// Sends one frame; false when the connection is over.
async fn send(ws: &mut Ws, out: Out) -> bool {
    match out {
        Out::Text(text) => ws.send(Message::Text(text)).await.is_ok(),
        Out::Close(code) => {
            let frame = CloseFrame {
                code: CloseCode::from(code),
                reason: "closed by the fake".into(),
            };
            let _ = ws.send(Message::Close(Some(frame))).await;
            false
        }
        Out::Drop => false,
    }
}

fn handle(
    payload: &Value,
    state: &Arc<Mutex<State>>,
    number: u64,
    tx: &mpsc::UnboundedSender<Out>,
) -> Vec<Out> {
    let op = payload["op"].as_u64().unwrap_or(u64::MAX);
    let data = &payload["d"];
    let mut s = lock(state);
    match op {
        1 => vec![Out::Text(json!({"op": 11}).to_string())],
        2 => {
            s.identifies += 1;
            let token = data["token"].as_str().unwrap_or_default();
            if token.trim_start_matches("Bot ") != s.token {
                return vec![Out::Close(4004)];
            }
            let intents = data["intents"].as_u64().unwrap_or(0);
            if s.refuse_intents && intents & MESSAGE_CONTENT != 0 {
                return vec![Out::Close(4014)];
            }
            let id = format!("session-{}-{number}", s.identifies);
            let ready = json!({
                "op": 0, "t": "READY", "s": 1,
                "d": {
                    "v": 10,
                    "user": {"id": BOT_ID.to_string(), "username": "intake-bot", "discriminator": "0",
                             "global_name": null, "avatar": null, "bot": true, "verified": true,
                             "mfa_enabled": false, "flags": 0},
                    "guilds": [],
                    "session_id": id,
                    "resume_gateway_url": "ws://127.0.0.1:1",
                    "application": {"id": "900000000000000002", "flags": 0},
                },
            })
            .to_string();
            s.session = Some(Session {
                id,
                seq: 1,
                buffer: Vec::new(),
                valid: true,
            });
            s.conn = Some((number, tx.clone()));
            vec![Out::Text(ready)]
        }
        6 => {
            s.resumes += 1;
            let wanted = data["session_id"].as_str().unwrap_or_default();
            let after = data["seq"].as_u64().unwrap_or(0);
            let Some(session) = s.session.as_mut().filter(|x| x.valid && x.id == wanted) else {
                return vec![Out::Text(json!({"op": 9, "d": false}).to_string())];
            };
            let mut replies: Vec<Out> = session
                .buffer
                .iter()
                .filter(|(seq, _)| *seq > after)
                .map(|(_, frame)| Out::Text(frame.clone()))
                .collect();
            session.seq += 1;
            let resumed = json!({"op": 0, "t": "RESUMED", "s": session.seq, "d": {}}).to_string();
            session.buffer.push((session.seq, resumed.clone()));
            replies.push(Out::Text(resumed));
            s.conn = Some((number, tx.clone()));
            replies
        }
        _ => Vec::new(),
    }
}
