//! A throwaway Dovecot for the demo (`scripts/demo`): starts on a given port with one user,
//! delivers the given .eml files into INBOX, prints `ready`, and runs until SIGINT/SIGTERM.
//!
//! Usage: demo-mailserver PORT USER PASSWORD [FILE.eml ...]

use anyhow::Context;
use intake_tests::dovecot::Dovecot;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, user, password, files @ ..] = args.as_slice() else {
        anyhow::bail!("usage: demo-mailserver PORT USER PASSWORD [FILE.eml ...]");
    };
    let port: u16 = port.parse().context("PORT must be a number")?;
    let dovecot = Dovecot::start_on(&[(user.as_str(), password.as_str())], Some(port))
        .await
        .with_context(|| format!("starting dovecot on 127.0.0.1:{port}"))?;
    for file in files {
        let raw = std::fs::read(file).with_context(|| format!("reading {file}"))?;
        dovecot.deliver(user, "INBOX", &raw)?;
    }
    println!(
        "ready: dovecot on 127.0.0.1:{port}, user {user}, {} message(s) in INBOX",
        files.len()
    );
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    drop(dovecot);
    Ok(())
}
