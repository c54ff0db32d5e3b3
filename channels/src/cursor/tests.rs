//! Unit tests of the stream model over the in-memory source.
