//! Pure normalization of what came off a channel's wire into the versioned case document.
//!
//! No tokio, no network, no SDK types: channels hand in the wire bytes (raw RFC 5322 for email)
//! plus the delivery context, and get back a [`case::Case`] together with the blobs (raw message,
//! attachments) the caller must store before the case is appended.

pub mod case;
pub mod dead_letter;
pub mod email;
pub mod error;
pub mod language;
pub mod message;
pub mod normalized;
pub mod reply;

pub use case::{Case, SCHEMA_VERSION};
pub use dead_letter::DeadLetter;
pub use error::NormalizeError;
pub use normalized::{Blob, Normalized};

/// The SHA-256 of `bytes` as lowercase hex: the name of a blob in the content-addressed store.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
