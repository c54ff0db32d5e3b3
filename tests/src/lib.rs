//! Test harness for Intake's end-to-end tests: a real `redis-server` and a real Dovecot, each
//! started on a free loopback port with its own config in a temp dir, plus the email corpus and
//! small polling helpers.
//!
//! Tests that need a server obtain it through [`require_server!`], which turns a missing binary
//! into a loud skip on a developer's machine and into a failure under CI (env `CI` set), where
//! `.ci/run` installs the binaries so that nothing is skipped.

pub mod bench_support;
pub mod corpus;
pub mod dovecot;
pub mod fake_discord;
pub mod fake_telegram;
pub mod imap_proxy;
pub mod net;
mod process;
pub mod push;
pub mod redis;
pub mod setup;
pub mod skip;
pub mod small_disk;
pub mod wait;

pub use corpus::{corpus_dir, corpus_messages};
pub use dovecot::{Dovecot, ImapSession};
pub use imap_proxy::ImapProxy;
pub use net::free_port;
pub use redis::{RedisServer, StreamEntry};
pub use skip::{MissingBinary, is_ci, require};
pub use wait::{wait_for, wait_until};
