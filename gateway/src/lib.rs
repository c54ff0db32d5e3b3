//! The intake gateway library: runtime, channel worker, Redis stream sink and HTTP endpoints.
