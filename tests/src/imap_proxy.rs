//! A rewriting IMAP proxy for fault tests: it sits on a free loopback port between a client
//! (the email channel) and the harness's real Dovecot, passes the conversation through, and
//! per [`Rules`] makes the server misbehave the ways real servers do: leave a message out of a
//! FETCH answer, refuse a FETCH with a tagged `NO`, answer a command `NO` with text of our
//! choosing, or send a FETCH response no parser accepts.
//!
//! It frames both directions by lines and literals (`{n}\r\n` then n bytes), so message bodies
//! pass through untouched. Commands are recorded (LOGIN's arguments redacted) for assertions.

use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// How the proxied server misbehaves; change it at any time with [`ImapProxy::set`].
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// UIDs left out of every FETCH answer (the message still exists).
    pub hide: BTreeSet<u32>,
    /// UIDs whose FETCH is refused: a FETCH naming one gets no data for it and a tagged `NO`.
    pub refuse: BTreeSet<u32>,
    /// UIDs whose FETCH response is replaced by an unparsable one that quotes `text`.
    pub garble: BTreeSet<u32>,
    /// Commands (by name, e.g. `SELECT`) answered `NO` with `text` instead of being sent on.
    pub refuse_commands: BTreeSet<String>,
    /// What the planted NO and garbled responses say.
    pub text: String,
}

/// A running proxy; stops (with every connection) on drop.
#[derive(Debug)]
pub struct ImapProxy {
    addr: SocketAddr,
    state: Arc<Shared>,
    accept: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Shared {
    rules: Mutex<Rules>,
    commands: Mutex<Vec<String>>,
}

impl Shared {
    fn rules(&self) -> MutexGuard<'_, Rules> {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn commands(&self) -> MutexGuard<'_, Vec<String>> {
        self.commands.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ImapProxy {
    /// Listens on a free loopback port and forwards each connection to `127.0.0.1:upstream`.
    pub async fn start(upstream: u16) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("bind imap proxy")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Shared::default());
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            // Dropped with the accept task: aborts every connection.
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let shared = shared.clone();
                connections.spawn(async move {
                    let _ = relay(client, upstream, shared).await;
                });
            }
        });
        Ok(ImapProxy {
            addr,
            state,
            accept,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Changes the rules; connections see the change from their next response on.
    pub fn set(&self, change: impl FnOnce(&mut Rules)) {
        change(&mut self.state.rules());
    }

    /// Every command line clients sent so far, without tags (`UID FETCH 1:3 (UID ...)`).
    pub fn commands(&self) -> Vec<String> {
        self.state.commands().clone()
    }

    /// How many `UID FETCH` commands named `uid`.
    pub fn fetches_of(&self, uid: u32) -> usize {
        self.commands()
            .iter()
            .filter_map(|c| c.strip_prefix("UID FETCH "))
            .filter(|rest| covers(rest.split(' ').next().unwrap_or(""), uid))
            .count()
    }
}

impl Drop for ImapProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// One client connection: commands go up (recorded, maybe answered here), responses come down
/// (maybe rewritten).
async fn relay(client: TcpStream, upstream: u16, shared: Arc<Shared>) -> anyhow::Result<()> {
    let server = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream)).await?;
    let (client_read, client_write) = client.into_split();
    let (server_read, mut server_write) = server.into_split();
    let client_write = Arc::new(tokio::sync::Mutex::new(client_write));
    // Tag -> the UID set of a `UID FETCH`, for rewriting its tagged answer.
    let fetches: Arc<Mutex<HashMap<String, String>>> = Arc::default();

    let up = {
        let (shared, fetches, client_write) =
            (shared.clone(), fetches.clone(), client_write.clone());
        async move {
            let mut reader = BufReader::new(client_read);
            while let Some(unit) = read_unit(&mut reader).await? {
                let line = String::from_utf8_lossy(&unit);
                let (tag, command) = line.trim_end().split_once(' ').unwrap_or(("", ""));
                let name = command.split(' ').next().unwrap_or("").to_ascii_uppercase();
                let recorded = match name.as_str() {
                    "LOGIN" => "LOGIN [redacted]".to_owned(),
                    _ => command.to_owned(),
                };
                shared.commands().push(recorded);
                if let Some(rest) = command.strip_prefix("UID FETCH ") {
                    let set = rest.split(' ').next().unwrap_or("").to_owned();
                    lock(&fetches).insert(tag.to_owned(), set);
                }
                let refused = shared.rules().refuse_commands.contains(&name);
                if refused {
                    let text = shared.rules().text.clone();
                    let answer = format!("{tag} NO {text}\r\n");
                    client_write
                        .lock()
                        .await
                        .write_all(answer.as_bytes())
                        .await?;
                } else {
                    server_write.write_all(&unit).await?;
                }
            }
            anyhow::Ok(())
        }
    };
    let down = async move {
        let mut reader = BufReader::new(server_read);
        while let Some(unit) = read_unit(&mut reader).await? {
            let out = rewrite(unit, &shared.rules(), &fetches);
            if !out.is_empty() {
                client_write.lock().await.write_all(&out).await?;
            }
        }
        anyhow::Ok(())
    };
    // Either side closing ends the connection.
    tokio::select! {
        r = up => r,
        r = down => r,
    }
}

/// A server response after the rules: dropped (empty), replaced, or as it came.
fn rewrite(unit: Vec<u8>, rules: &Rules, fetches: &Mutex<HashMap<String, String>>) -> Vec<u8> {
    let first_line = first_line(&unit);
    if let Some((seq, uid)) = fetch_uid(&first_line) {
        if rules.garble.contains(&uid) {
            return format!("* {seq} FETCH (UID {uid} X-GARBLED ({}\r\n", rules.text).into_bytes();
        }
        if rules.hide.contains(&uid) || rules.refuse.contains(&uid) {
            return Vec::new();
        }
        return unit;
    }
    let Some((tag, rest)) = first_line.split_once(' ') else {
        return unit;
    };
    if tag != "*" && tag != "+" && rest.starts_with("OK") {
        let set = lock(fetches).remove(tag);
        if let Some(set) = set
            && rules.refuse.iter().any(|uid| covers(&set, *uid))
        {
            return format!("{tag} NO [SERVERBUG] {}\r\n", rules.text).into_bytes();
        }
    }
    unit
}

/// `(sequence number, uid)` of an untagged FETCH response that carries a UID.
fn fetch_uid(line: &str) -> Option<(u32, u32)> {
    let rest = line.strip_prefix("* ")?;
    let (seq, rest) = rest.split_once(' ')?;
    let attributes = rest.strip_prefix("FETCH (")?;
    let mut words = attributes.split([' ', '(', ')']);
    while let Some(word) = words.next() {
        if word.eq_ignore_ascii_case("UID") {
            return Some((seq.parse().ok()?, words.next()?.parse().ok()?));
        }
    }
    None
}

/// Whether the IMAP sequence set `set` (`1:5,7,9:*`) names `uid`.
fn covers(set: &str, uid: u32) -> bool {
    let bound = |s: &str| match s {
        "*" => Some(u32::MAX),
        n => n.parse::<u32>().ok(),
    };
    set.split(',').any(|part| {
        let (low, high) = part.split_once(':').unwrap_or((part, part));
        match (bound(low), bound(high)) {
            (Some(a), Some(b)) => (a.min(b)..=a.max(b)).contains(&uid),
            _ => false,
        }
    })
}

fn first_line(unit: &[u8]) -> String {
    let end = unit.iter().position(|&b| b == b'\n').unwrap_or(unit.len());
    String::from_utf8_lossy(&unit[..end]).trim_end().to_owned()
}

/// One line, plus the literals it announces (`{n}\r\n`) and the lines after them: a whole
/// command or response. None at end of stream.
async fn read_unit<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> anyhow::Result<Option<Vec<u8>>> {
    let mut unit = Vec::new();
    loop {
        let start = unit.len();
        if reader.read_until(b'\n', &mut unit).await? == 0 {
            return Ok((!unit.is_empty()).then_some(unit));
        }
        match literal_len(&unit[start..]) {
            Some(n) => {
                let at = unit.len();
                unit.resize(at + n, 0);
                reader.read_exact(&mut unit[at..]).await?;
            }
            None => return Ok(Some(unit)),
        }
    }
}

/// `n` when `line` ends with `{n}\r\n` (or the non-synchronizing `{n+}\r\n`).
fn literal_len(line: &[u8]) -> Option<usize> {
    let line = std::str::from_utf8(line)
        .ok()?
        .trim_end_matches(['\r', '\n']);
    let inner = line.strip_suffix('}')?;
    let open = inner.rfind('{')?;
    inner[open + 1..].trim_end_matches('+').parse().ok()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_rewrites() {
        assert_eq!(fetch_uid("* 3 FETCH (UID 7 RFC822.SIZE 12)"), Some((3, 7)));
        assert_eq!(fetch_uid("* 3 FETCH (FLAGS (\\Seen) UID 9)"), Some((3, 9)));
        assert_eq!(fetch_uid("* 3 EXISTS"), None);
        assert!(covers("1:5,7", 4) && covers("1:5,7", 7) && !covers("1:5,7", 6));
        assert!(covers("9:*", 100) && !covers("9:*", 8));
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {120}\r\n"), Some(120));
        assert_eq!(literal_len(b"a LOGIN {5+}\r\n"), Some(5));
        assert_eq!(literal_len(b"* OK {not}\r\n"), None);
    }
}
