//! What the sink appends and what became of it: shared by the encoder (`parts.rs`) and the
//! append path (`append.rs`), so neither imports the other's internals.

/// Which stream an entry goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Cases,
    DeadLetters,
}

/// One stream entry to append. `idempotency_keys` are unprefixed; the sink adds the deployment's
/// hash-tagged prefix.
#[derive(Debug, Clone)]
pub struct Entry {
    pub target: Target,
    pub idempotency_keys: Vec<String>,
    /// How many of `idempotency_keys`, from the first, find an earlier entry; the rest are
    /// only recorded.
    pub lookup_keys: usize,
    pub event: &'static str,
    pub channel: String,
    pub case_id: String,
    /// The case (or dead-letter) JSON document.
    pub document: String,
}

/// What happened to one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Appended now, with this stream entry id.
    Appended(String),
    /// Appended before (a redelivery); the id of that earlier entry.
    Duplicate(String),
}

impl AppendOutcome {
    pub fn entry_id(&self) -> &str {
        match self {
            AppendOutcome::Appended(id) | AppendOutcome::Duplicate(id) => id,
        }
    }
}
