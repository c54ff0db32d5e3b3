//! Why a payload could not become a case. Every variant is permanent for that payload: the worker
//! dead-letters it rather than retrying.

/// A payload that cannot be normalized.
#[derive(Debug, thiserror::Error)]
pub enum NormalizeError {
    /// The bytes are not a message at all (empty, no header block, ...).
    #[error("unparsable message: {reason}")]
    Unparsable { reason: String },
    /// The payload is larger than the channel accepts.
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    /// The normalizer itself failed (a panic caught by the caller, a serialization failure).
    #[error("normalizer failed: {reason}")]
    Internal { reason: String },
}

impl NormalizeError {
    /// Normalization is deterministic: the same bytes fail the same way, so nothing is transient.
    pub fn is_transient(&self) -> bool {
        false
    }

    /// A short machine-readable reason for dead-letter entries and metrics labels.
    pub fn reason_code(&self) -> &'static str {
        match self {
            NormalizeError::Unparsable { .. } => "unparsable",
            NormalizeError::TooLarge { .. } => "too_large",
            NormalizeError::Internal { .. } => "normalizer_failed",
        }
    }
}
