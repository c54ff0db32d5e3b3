//! The Redis stream sink: appends cases and dead letters exactly once.
//!
//! Every entry goes through one Lua script (`append.lua`) that checks the message's idempotency
//! keys and `XADD`s in the same atomic step, so a redelivered message returns the entry appended
//! before instead of a second one. A batch is sent as one pipeline of `EVALSHA` calls over parts
//! of it (`parts.rs`): one round trip per batch, during which Redis appends one part while the
//! next is still arriving. A gate key chains the parts, so a part runs only after the one
//! before it ran to the end and what is appended stays in receive order. Because the script is
//! idempotent, a batch whose outcome is unknown (connection lost mid-pipeline) is simply sent
//! again. Per `[redis] durability`, the same pipeline then waits for replicas or an fsync
//! (`durability.rs`), and the first append of a process checks the server's setup.

mod append;
mod durability;
mod entry;
mod error;
mod parts;

pub use append::StreamSink;
pub use entry::{AppendOutcome, Entry, Target};
pub use error::SinkError;
