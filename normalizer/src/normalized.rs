//! What every channel's normalizer returns: the case and the blobs it refers to.

use std::borrow::Cow;

use crate::case::Case;

/// Bytes the caller must store in the blob directory before appending the case.
#[derive(Debug, Clone)]
pub struct Blob<'a> {
    pub sha256: String,
    pub bytes: Cow<'a, [u8]>,
}

/// A normalized message and the blobs its case refers to (the raw payload first).
#[derive(Debug, Clone)]
pub struct Normalized<'a> {
    pub case: Case,
    pub blobs: Vec<Blob<'a>>,
}
