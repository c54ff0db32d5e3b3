//! The intake gateway library: runtime, channel worker, Redis stream sink, blob store and HTTP
//! endpoints. The `intake` binary (main.rs) is a thin CLI over [`runtime`].

pub mod backoff;
pub mod blobs;
pub mod checkpoint;
pub mod conversation;
pub mod error;
pub mod fatal;
pub mod health;
pub mod http;
pub mod http_server;
pub mod preflight;
pub mod redis_conn;
pub mod redis_setup;
pub mod registry;
pub mod runtime;
pub mod sink;
pub mod worker;

pub use error::GatewayError;
pub use runtime::Gateway;
