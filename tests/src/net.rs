//! Loopback ports for test servers.

use std::net::{Ipv4Addr, TcpListener};

use anyhow::Context as _;

/// A port that was free a moment ago on 127.0.0.1: bind port 0, read the port, release it.
///
/// Racy by nature (another process may take it before the server binds), which is why the server
/// constructors retry on a fresh port when the server exits during startup.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("bind 127.0.0.1:0")?;
    Ok(listener
        .local_addr()
        .context("local_addr of 127.0.0.1:0")?
        .port())
}
