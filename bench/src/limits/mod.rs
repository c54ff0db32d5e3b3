//! The limits measured in the same run as Intake: what Dovecot can serve, what the normalizer
//! can parse, and what the stream append path can write, each without the rest of the gateway;
//! and, under the append path, what Redis itself costs for the same commands without the script.

mod imap_fetch;
mod normalize;
mod redis_floor;
mod sink;

pub use imap_fetch::{FetchRate, raw_fetch};
pub use normalize::{NormalizeRate, normalize_rate};
pub use redis_floor::redis_floor_rate;
pub use sink::{SinkRate, sink_rate};
