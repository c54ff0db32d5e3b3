//! Low-level IMAP helpers shared by the email modules: the transport type, a command runner that
//! checks the tagged status, UID set formatting and error mapping.
//!
//! Why our own runner: async-imap's `uid_fetch`/`uid_store`/`uid_expunge` streams end at the
//! tagged response without looking at its status, so a `NO` or `BAD` would read as success. The
//! invariant needs "the server confirmed", so every command whose outcome matters goes through
//! [`run`], which fails unless the tagged status is `OK`.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::imap_proto::{Response, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::ChannelError;

/// An authenticated, possibly encrypted IMAP session.
pub(crate) type ImapSession = async_imap::Session<ImapStream>;

/// Upper bound for one command round trip (a batch fetch included). IDLE is not bounded by it.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// The byte stream under the IMAP session: plain TCP or TLS over TCP.
pub(crate) enum ImapStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl fmt::Debug for ImapStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImapStream::Plain(_) => f.write_str("ImapStream::Plain"),
            ImapStream::Tls(_) => f.write_str("ImapStream::Tls"),
        }
    }
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// How a command the caller lets fail ended: a `NO` is an answer (e.g. a FETCH the server
/// refuses for one message), not a broken session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Completion {
    Ok,
    No,
}

/// Sends `command` and feeds every untagged response to `on_data` until the command's tagged
/// response, which must be `OK`. Unrelated untagged data (EXISTS, EXPUNGE, flag updates from
/// other sessions) is simply offered to `on_data` too, which ignores what it does not want: we
/// never rely on sequence numbers, so nothing has to be tracked.
pub(crate) async fn run<F>(
    session: &mut ImapSession,
    command: &str,
    on_data: F,
) -> Result<(), ChannelError>
where
    F: FnMut(&Response<'_>) -> Result<(), ChannelError> + Send,
{
    match run_allowing_no(session, command, on_data).await? {
        Completion::Ok => Ok(()),
        Completion::No => Err(ChannelError::Protocol {
            detail: format!("{} refused by the server (NO)", verb(command)),
        }),
    }
}

/// Like [`run`], but a tagged `NO` comes back as [`Completion::No`] (with whatever untagged
/// data arrived before it) instead of an error. `BAD`, `BYE` and transport failures are errors.
/// Server text (the words after NO/BAD/BYE) is never kept: it may quote message content.
pub(crate) async fn run_allowing_no<F>(
    session: &mut ImapSession,
    command: &str,
    mut on_data: F,
) -> Result<Completion, ChannelError>
where
    F: FnMut(&Response<'_>) -> Result<(), ChannelError> + Send,
{
    let verb = verb(command);
    timed(verb, async {
        let tag = session
            .run_command(command)
            .await
            .map_err(|e| protocol(verb, e))?;
        loop {
            let Some(response) = session
                .read_response()
                .await
                .map_err(|e| protocol(verb, e))?
            else {
                return Err(ChannelError::Protocol {
                    detail: format!("{verb}: connection closed by server"),
                });
            };
            match response.parsed() {
                Response::Done {
                    tag: done, status, ..
                } if *done == tag => {
                    return match status {
                        Status::Ok => Ok(Completion::Ok),
                        Status::No => Ok(Completion::No),
                        other => Err(ChannelError::Protocol {
                            detail: format!("{verb} failed: server said {}", status_word(other)),
                        }),
                    };
                }
                Response::Data {
                    status: Status::Bye,
                    ..
                } => {
                    return Err(ChannelError::Protocol {
                        detail: format!("{verb}: server said bye"),
                    });
                }
                parsed => on_data(parsed)?,
            }
        }
    })
    .await
}

/// Bounds one network step by [`COMMAND_TIMEOUT`].
pub(crate) async fn timed<T>(
    what: &str,
    step: impl Future<Output = Result<T, ChannelError>>,
) -> Result<T, ChannelError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, step).await {
        Ok(result) => result,
        Err(_) => Err(ChannelError::Protocol {
            detail: format!("{what}: no response within {}s", COMMAND_TIMEOUT.as_secs()),
        }),
    }
}

/// The command name for error messages: never the arguments (LOGIN carries the password).
fn verb(command: &str) -> &str {
    match command.split_once(' ') {
        Some(("UID", rest)) => match rest.find(' ') {
            Some(end) => &command[..4 + end],
            None => command,
        },
        Some((first, _)) => first,
        None => command,
    }
}

/// A protocol error that names the command and the kind of failure, never server text.
pub(crate) fn protocol(context: &str, error: impl Into<async_imap::error::Error>) -> ChannelError {
    ChannelError::Protocol {
        detail: format!("{context}: {}", describe(&error.into())),
    }
}

/// What went wrong, in our words. async-imap's errors quote the server: a NO/BAD/BYE's text,
/// and a parse failure's `Debug` of the whole receive buffer (it arrives as an `io::Error` of
/// kind `Other`), which may hold a message body. None of that may reach a log or /readyz.
pub(crate) fn describe(error: &async_imap::error::Error) -> String {
    use async_imap::error::Error;
    match error {
        Error::Io(e) if e.kind() == io::ErrorKind::Other => "unreadable server response".into(),
        Error::Io(e) => format!("io error: {}", e.kind()),
        Error::Bad(_) => "server said BAD".into(),
        Error::No(_) => "server said NO".into(),
        Error::ConnectionLost => "connection lost".into(),
        Error::Parse(_) => "unreadable server response".into(),
        Error::Validate(_) => "invalid character in a command argument".into(),
        Error::Append => "append failed".into(),
        _ => "imap error".into(),
    }
}

fn status_word(status: &Status) -> &'static str {
    match status {
        Status::Ok => "OK",
        Status::No => "NO",
        Status::Bad => "BAD",
        Status::PreAuth => "PREAUTH",
        Status::Bye => "BYE",
    }
}

/// A mailbox name as an IMAP quoted string. Names with CR, LF or NUL cannot be quoted.
pub(crate) fn quote(name: &str) -> Result<String, ChannelError> {
    if name.contains(['\r', '\n', '\0']) {
        return Err(ChannelError::Mailbox {
            mailbox: name.to_string(),
            detail: "name contains a line break or NUL".into(),
        });
    }
    Ok(format!(
        "\"{}\"",
        name.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// Formats ascending UIDs as an IMAP sequence set with runs compressed (`1:5,7,9:12`), which
/// keeps commands short for large batches.
pub(crate) fn uid_set(uids: &[u32]) -> String {
    let mut out = String::with_capacity(uids.len() * 4);
    let mut iter = uids.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&end.wrapping_add(1)) && end != u32::MAX {
            end += 1;
            iter.next();
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 4, 5, 7, 9, 10, 11, 12]), "1:5,7,9:12");
        assert_eq!(uid_set(&[42]), "42");
        assert_eq!(uid_set(&[1, 3]), "1,3");
        assert_eq!(
            uid_set(&[u32::MAX - 1, u32::MAX]),
            format!("{}:{}", u32::MAX - 1, u32::MAX)
        );
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn verbs_never_carry_arguments() {
        assert_eq!(verb("LOGIN user hunter2"), "LOGIN");
        assert_eq!(verb("UID FETCH 1:5 (UID)"), "UID FETCH");
        assert_eq!(verb("NOOP"), "NOOP");
        assert_eq!(verb("UID"), "UID");
    }

    #[test]
    fn quoting_escapes_and_rejects_line_breaks() {
        assert_eq!(quote("Archive").ok().as_deref(), Some("\"Archive\""));
        assert_eq!(quote(r#"a"b\c"#).ok().as_deref(), Some(r#""a\"b\\c""#));
        assert!(quote("a\r\nb").is_err());
    }

    #[test]
    fn errors_never_quote_the_server() {
        use async_imap::error::{Error, ParseError};
        const PLANTED: &str = "Dear support, my card number is 4111";
        let errors = [
            Error::Io(io::Error::other(format!(
                "Error(Tag) during parsing of \"* 3 FETCH (BODY[] {PLANTED}\""
            ))),
            Error::No(PLANTED.into()),
            Error::Bad(PLANTED.into()),
            Error::Parse(ParseError::Invalid(PLANTED.as_bytes().to_vec())),
            Error::Parse(ParseError::Unexpected(PLANTED.into())),
            Error::Io(io::Error::new(io::ErrorKind::ConnectionReset, PLANTED)),
        ];
        for error in errors {
            let text = protocol("UID FETCH", error).to_string();
            assert!(!text.contains("card number"), "{text}");
            assert!(text.starts_with("protocol error: UID FETCH: "), "{text}");
        }
        let reset = Error::Io(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(describe(&reset), "io error: connection reset");
    }
}
