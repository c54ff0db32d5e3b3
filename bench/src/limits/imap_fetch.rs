//! Dovecot's raw serving rate: `UID FETCH 1:* (BODY.PEEK[])` over one connection, read by a
//! minimal IMAP reader that skips literals without parsing anything else. No client can fetch
//! faster over one connection, so this bounds any IMAP channel.

use std::time::Instant;

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

use crate::env::PASSWORD;

/// Messages and literal bytes fetched, and the seconds the FETCH took.
#[derive(Debug, Clone, Copy)]
pub struct FetchRate {
    pub msgs: u64,
    pub bytes: u64,
    pub secs: f64,
}

/// Logs in as `user`, EXAMINEs INBOX and times one `UID FETCH 1:* (BODY.PEEK[])`.
pub async fn raw_fetch(port: u16, user: &str) -> anyhow::Result<FetchRate> {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .context("connect to dovecot")?;
    stream.set_nodelay(true).ok();
    let mut conn = BufReader::with_capacity(256 * 1024, stream);
    let mut line = Vec::new();
    conn.read_until(b'\n', &mut line).await?;
    command(&mut conn, "a1", &format!("LOGIN {user} {PASSWORD}")).await?;
    command(&mut conn, "a2", "EXAMINE INBOX").await?;
    let started = Instant::now();
    let (msgs, bytes) = command(&mut conn, "a3", "UID FETCH 1:* (BODY.PEEK[])").await?;
    let secs = started.elapsed().as_secs_f64();
    command(&mut conn, "a4", "LOGOUT").await?;
    Ok(FetchRate { msgs, bytes, secs })
}

/// Sends `tag command` and reads to the tagged response, skipping literals. Returns how many
/// untagged FETCH responses came and the literal bytes they carried.
async fn command(
    conn: &mut BufReader<TcpStream>,
    tag: &str,
    command: &str,
) -> anyhow::Result<(u64, u64)> {
    conn.get_mut()
        .write_all(format!("{tag} {command}\r\n").as_bytes())
        .await?;
    let (mut fetches, mut literal_bytes) = (0u64, 0u64);
    let mut line = Vec::with_capacity(256);
    let mut sink = vec![0u8; 64 * 1024];
    let tagged = format!("{tag} ");
    loop {
        line.clear();
        let n = conn.read_until(b'\n', &mut line).await?;
        anyhow::ensure!(n > 0, "connection closed during {command}");
        if line.starts_with(b"* ") && contains(&line, b" FETCH ") {
            fetches += 1;
        }
        if let Some(len) = literal_len(&line) {
            let mut left = len;
            while left > 0 {
                let chunk = left.min(sink.len() as u64) as usize;
                conn.read_exact(&mut sink[..chunk]).await?;
                left -= chunk as u64;
            }
            literal_bytes += len;
            // The rest of the response follows the literal on a new "line".
            continue;
        }
        if line.starts_with(tagged.as_bytes()) {
            let ok = line[tagged.len()..].starts_with(b"OK");
            anyhow::ensure!(ok, "{command}: {}", String::from_utf8_lossy(&line).trim());
            return Ok((fetches, literal_bytes));
        }
    }
}

/// `n` when `line` ends with `{n}\r\n`.
fn literal_len(line: &[u8]) -> Option<u64> {
    let body = line.strip_suffix(b"\r\n")?.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    std::str::from_utf8(&body[open + 1..]).ok()?.parse().ok()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_lengths() {
        assert_eq!(literal_len(b"* 1 FETCH (UID 1 BODY[] {342}\r\n"), Some(342));
        assert_eq!(literal_len(b"a3 OK done\r\n"), None);
    }
}
