//! The limits measured in the same run as Intake: what Dovecot can serve, what the normalizer
//! can parse, and what the stream append path can write, each without the rest of the gateway.

mod imap_fetch;
mod normalize;
mod sink;

pub use imap_fetch::{FetchRate, raw_fetch};
pub use normalize::{NormalizeRate, normalize_rate};
pub use sink::{SinkRate, sink_rate};
